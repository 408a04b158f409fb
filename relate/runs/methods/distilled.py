"""Training hooks of the runs that learn from a frozen ``flow`` teacher: ``relate`` and the
single-branch students ``kd``, ``rkd``, ``gcr``, ``mars`` (docs/training.md; D-numbers refer
to docs/decisions.md).

* the request names the teacher's run folder (``--teacher``), checked by
  :func:`relate.runs.methods.teacher.check_teacher` against the architecture the run's spec
  pairs it with;
* the options (``--preset``, ``--option``) are expanded and parsed once, here, into the
  method's spec (:class:`relate.blocks.relate_model.RelateSpec` or
  :class:`relate.blocks.students.StudentSpec`), which the config stores and every later step
  (training, prediction) rebuilds the model from;
* the model sees the RGB rows, the teacher the flow rows, under ``torch.no_grad()``, frozen and
  outside the optimiser;
* the schedule is the release's (Adam, weight decay 1e-5, 100 epochs, per-dataset lr, batch 1)
  for MS-TCN and ASFormer, and FACT's own recipe for FACT (the release has no FACT);
  ``schedule=segmenter_official`` picks the segmenter's official recipe for any segmenter (D11).

A ``relate`` run's config holds ``relate`` = {preset, options, run_options, model_options,
pr_options, spec, teacher[, bridge]}; a student's holds the same under ``student``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from relate import segmenters
from relate.blocks.presets import expand_options
from relate.blocks.relate_model import RelateSpec, build_teacher
from relate.blocks.students import StudentSpec, build_student_teacher
from relate.data.registry import FLOW_ROWS, RGB_ROWS, DatasetInfo, recipe_dataset
from relate.data.variants import RELATE_LR, get_variant
from relate.errors import RelateError
from relate.runs.bridge_weights import check_bridge_run, load_bridge_into
from relate.runs.methods import DISTILLED, get_method
from relate.runs.methods.teacher import check_teacher, load_teacher
from relate.runs.model_hooks import spec_from_json, spec_json
from relate.runs.planning import check_seed, dataset_inputs, resolved_config
from relate.runs.recipe import resolve_training
from relate.runs.request import RunPlan, TrainRequest
from relate.segmenters.base import Segmenter
from relate.segmenters.training_defaults import TrainingDefaults
from relate.tools.params import PARAM_BUDGETS, resolve_options

SCHEDULES: tuple[str, ...] = ("release", "segmenter_official")
"""``schedule`` option (D11): the release's RELATE recipe or the segmenter's official one."""
RUN_OPTIONS: tuple[str, ...] = ("schedule", "param_budget")
"""Options handled here, not by the model spec."""
RELATE_EPOCHS = 100
RELATE_WEIGHT_DECAY = 1e-5

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


# --- schedule -----------------------------------------------------------------------------------


def distilled_training(
    dataset: str,
    segmenter: str,
    schedule: str,
    epochs: int | None,
    overrides: Mapping[str, Any],
) -> TrainingDefaults:
    """The recipe of a distilled run (module doc); ``--epochs`` and ``train.*`` applied."""
    if schedule not in SCHEDULES:
        raise RelateError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if schedule == "segmenter_official" or segmenter == "fact":
        try:
            defaults = segmenters.defaults(segmenter, dataset)
        except KeyError as error:
            raise RelateError(f"no {segmenter} recipe for {dataset}: {error}") from None
    else:
        recipe = recipe_dataset(dataset)
        if recipe not in RELATE_LR:
            raise RelateError(
                f"no RELATE learning rate for {dataset}; known: {', '.join(RELATE_LR)}"
            )
        defaults = TrainingDefaults(
            epochs=RELATE_EPOCHS,
            lr=RELATE_LR[recipe],
            weight_decay=RELATE_WEIGHT_DECAY,
            batch_size=1,
        )
    return resolve_training(defaults, epochs, overrides)


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


# --- planning -----------------------------------------------------------------------------------


def plan_distilled(request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
    """The plan of a ``relate`` or student request."""
    method = get_method(request.variant)
    if request.teacher_for is not None:
        raise RelateError("--teacher-for applies to --variant flow only")
    check_seed(request)
    if request.overrides:
        raise RelateError(
            f"--variant {method.name} takes model settings as --option KEY=VALUE (depth, "
            f"segmenter.<key>, ...), not --set {sorted(request.overrides)}"
        )
    if request.teacher is None:
        raise RelateError(f"--variant {method.name} needs --teacher RUN_DIR (a trained `flow` run)")
    layout, classes, videos = dataset_inputs(request, dataset)
    options = expand(method.name, request, dataset, len(classes))
    if method.name != "relate" and "param_budget" in options.run:
        raise RelateError("param_budget applies to --variant relate only")
    spec = parse_spec(method.name, request.segmenter, dataset.name, len(classes), options.model)
    teacher = check_teacher(
        request.teacher, segmenter=request.segmenter, dataset=dataset.name,
        split=request.split, seed=request.seed, expected=teacher_builder(spec),
        in_dim=spec.in_dim, num_classes=len(classes), describe=describe_teacher(spec),
    )  # fmt: skip
    training = distilled_training(
        dataset.name, request.segmenter, options.schedule, request.epochs,
        request.training_overrides,
    )  # fmt: skip
    config = resolved_config(request, dataset, method.input, classes, videos, training)
    section: dict[str, Any] = {
        "preset": request.preset,
        "options": dict(request.relate_options),
        "run_options": {"schedule": options.schedule, **options.run},
        "model_options": options.model,
        "pr_options": options.pr,
        "spec": spec_json(spec),
        "teacher": teacher,
    }
    if isinstance(spec, RelateSpec) and spec.bridge == "pretrained":
        if request.bridge is None:
            raise RelateError(
                "bridge=pretrained needs --bridge RUN_DIR (a `relate train-bridge` run)"
            )
        section["bridge"] = check_bridge_run(
            Path(request.bridge), dataset=dataset.name, split=request.split,
            hidden=spec.bridge_hidden,
        )  # fmt: skip
    elif request.bridge is not None:
        raise RelateError("--bridge applies only to --variant relate with bridge=pretrained")
    config[str(method.section)] = section
    return RunPlan(
        config, layout, dataset, method.input, training, classes, videos, Path(request.out)
    )


def plan_teacher(request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
    """The plan of ``--variant flow --teacher-for V``: a ``flow`` run with the architecture the
    distilled variant ``V`` (with ``--preset`` / ``--option``) pairs with, trained under that
    variant's schedule (D8: the RELATE schedule)."""
    if request.variant != "flow":
        raise RelateError(f"--teacher-for trains a `flow` teacher, not --variant {request.variant}")
    if request.teacher_for not in DISTILLED:
        raise RelateError(
            f"--teacher-for must name a distilled variant, got {request.teacher_for!r}"
        )
    if request.overrides or request.teacher is not None or request.bridge is not None:
        raise RelateError(
            "--teacher-for takes the student's --preset/--option, not --set, --teacher or --bridge"
        )
    check_seed(request)
    layout, classes, videos = dataset_inputs(request, dataset)
    options = expand(request.teacher_for, request, dataset, len(classes))
    spec = parse_spec(
        request.teacher_for, request.segmenter, dataset.name, len(classes), options.model
    )
    overrides = (
        spec.teacher_overrides() if isinstance(spec, RelateSpec) else spec.segmenter_overrides()
    )
    training = distilled_training(
        dataset.name, request.segmenter, options.schedule, request.epochs,
        request.training_overrides,
    )  # fmt: skip
    request = dataclasses.replace(request, overrides=overrides)
    variant = get_variant("flow")
    config = resolved_config(request, dataset, variant, classes, videos, training)
    config["teacher_for"] = {
        "variant": request.teacher_for,
        "preset": request.preset,
        "options": dict(request.relate_options),
    }
    return RunPlan(config, layout, dataset, variant, training, classes, videos, Path(request.out))


# --- training hooks -----------------------------------------------------------------------------


class DistilledTraining:
    """Plan, the frozen teacher (and bridge), and the loss of one video."""

    def plan(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """:func:`plan_distilled`."""
        return plan_distilled(request, dataset)

    def frozen(self, config: Mapping[str, Any], device: torch.device) -> Segmenter:
        """The frozen teacher on ``device``."""
        entry = config[str(get_method(config["variant"]["name"]).section)]["teacher"]
        return load_teacher(entry, teacher_builder(stored_spec(config))).to(device)

    def attach(self, config: Mapping[str, Any], model: torch.nn.Module) -> None:
        """Load a pre-trained bridge (``bridge=pretrained``) into the fresh model, frozen."""
        entry = config.get("relate", {}).get("bridge")
        if entry:
            load_bridge_into(model, entry)

    def trainable(self, model: torch.nn.Module) -> Iterable[torch.nn.Parameter]:
        """The parameters that require gradients (a pre-trained bridge stays frozen)."""
        return [p for p in model.parameters() if p.requires_grad]

    def step(
        self,
        model: torch.nn.Module,
        frozen: Any,
        x: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        """The model's output on the RGB rows of a (1, 2048, T') block and its loss terms (the
        teacher sees the flow rows; a joint bridge's MSE too)."""
        return distilled_output_and_loss(model, frozen, x, target, mask)


def distilled_output_and_loss(
    model: torch.nn.Module,
    teacher: Segmenter,
    x: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
) -> tuple[Any, dict[str, torch.Tensor]]:
    """The model's output on the RGB rows of a (1, 2048, T') block and its loss terms."""
    x_rgb = x[:, RGB_ROWS]
    x_flow = x[:, FLOW_ROWS]
    with torch.no_grad():
        teacher_output = teacher(x_flow, mask)
    bridge = getattr(getattr(model, "spec", None), "bridge", "none")
    output = model(x_rgb, mask)
    terms = model.loss(  # type: ignore[operator]
        output,
        target,
        mask,
        teacher_output=teacher_output,
        x_flow=x_flow if bridge == "joint" else None,
    )
    return output, terms


HOOKS = DistilledTraining()
