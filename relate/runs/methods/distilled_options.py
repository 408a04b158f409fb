"""A distilled variant's options, expanded from its preset and ``--option`` values and parsed
once into its spec (:class:`relate.blocks.relate_model.RelateSpec` or
:class:`relate.blocks.students.StudentSpec`), and the teacher that spec pairs with."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from relate.blocks.param_budget import PARAM_BUDGETS, resolve_options
from relate.blocks.presets import expand_options
from relate.blocks.relate_model import RelateSpec, build_teacher
from relate.blocks.students import StudentSpec, build_student_teacher
from relate.data.registry import DatasetInfo
from relate.errors import RelateError
from relate.runs.distilled_model_hooks import spec_from_json
from relate.runs.methods import get_method
from relate.runs.request import TrainRequest
from relate.segmenters.base import Segmenter

RUN_OPTIONS: tuple[str, ...] = ("schedule", "param_budget")
"""Options of the run (its schedule and parameter budget), not of the model spec."""

Spec = RelateSpec | StudentSpec


# --- specs -------------------------------------------------------------------------------------


def parse_spec(
    variant: str, segmenter: str, dataset: str, num_classes: int, options: Mapping[str, Any]
) -> Spec:
    """The spec of a distilled variant from its expanded model options (parsed once, here)."""
    try:
        if variant == "relate":
            return RelateSpec.from_options(segmenter, dataset, num_classes, **options)
        return StudentSpec.from_options(variant, segmenter, dataset, num_classes, **options)
    except (TypeError, ValueError, KeyError) as error:
        what = "RELATE" if variant == "relate" else variant
        raise RelateError(f"invalid {what} options {dict(options)}: {error}") from None


def stored_spec(config: Mapping[str, Any]) -> Spec:
    """The spec a distilled run's config stores."""
    method = get_method(config["variant"]["name"])
    cls = RelateSpec if method.name == "relate" else StudentSpec
    return spec_from_json(cls, config[str(method.section)]["spec"])


def teacher_builder(spec: Spec) -> Callable[[], Segmenter]:
    """A function building the (fresh) teacher a spec pairs with."""
    if isinstance(spec, RelateSpec):
        return lambda: build_teacher(spec)
    return lambda: build_student_teacher(spec)


def describe_teacher(spec: Spec) -> str:
    """What the teacher's architecture must be (for error messages)."""
    if isinstance(spec, RelateSpec):
        if spec.teacher_arch == "same_as_branch":
            return f"the flow branch's: depth {spec.depth}, num_layers {spec.num_layers}"
        return "the segmenter's official depth (teacher_arch=baseline)"
    return f"the student's: depth {spec.depth}, overrides {spec.segmenter_overrides()}"


# --- options ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Options:
    """A distilled variant's options, expanded from its preset and ``--option`` values."""

    model: dict[str, Any]
    run: dict[str, Any]
    pr: dict[str, Any]

    @property
    def schedule(self) -> str:
        return str(self.run.get("schedule", "release"))


def expand(variant: str, request: TrainRequest, dataset: DatasetInfo, num_classes: int) -> Options:
    """Expand the preset and options; apply ``param_budget`` (relate only)."""
    try:
        expanded = expand_options(variant, request.preset, request.relate_options)
    except ValueError as error:
        raise RelateError(str(error)) from None
    run = {k: expanded.model.pop(k) for k in RUN_OPTIONS if k in expanded.model}
    model = expanded.model
    if variant == "relate":
        model = _apply_param_budget(
            request.segmenter,
            dataset.name,
            num_classes,
            model,
            str(run.get("param_budget", "none")),
        )
    return Options(model, run, expanded.pr)


def _apply_param_budget(
    segmenter: str, dataset: str, num_classes: int, options: dict[str, Any], budget: str
) -> dict[str, Any]:
    """``param_budget=match_total`` (D1): set ``num_layers`` to the largest count whose RELATE
    inference parameters stay within the RGB baseline's; ``none`` leaves the options alone."""
    if budget not in PARAM_BUDGETS:
        raise RelateError(f"param_budget must be one of {PARAM_BUDGETS}, got {budget!r}")
    if budget == "none":
        return options
    try:
        return resolve_options(segmenter, dataset, num_classes, {**options, "param_budget": budget})
    except ValueError as error:
        raise RelateError(str(error)) from None
