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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from relate import segmenters
from relate.blocks.relate_model import RelateSpec
from relate.blocks.spec_options import spec_record
from relate.data.registry import FLOW_ROWS, RGB_ROWS, DatasetInfo, relate_lr
from relate.data.variants import get_variant
from relate.errors import RelateError
from relate.runs.bridge_weights import check_bridge_run, load_bridge_into
from relate.runs.methods import get_method
from relate.runs.methods.distilled_options import (
    describe_teacher,
    expand,
    parse_spec,
    stored_spec,
    teacher_builder,
)
from relate.runs.methods.teacher import check_teacher, load_teacher
from relate.runs.planning import check_seed, dataset_inputs, resolved_config
from relate.runs.recipe import resolve_training
from relate.runs.request import RunPlan, TrainRequest
from relate.segmenters.base import Segmenter
from relate.segmenters.training_defaults import TrainingDefaults

SCHEDULES: tuple[str, ...] = ("release", "segmenter_official")
"""``schedule`` option (D11): the release's RELATE recipe or the segmenter's official one."""
RELATE_EPOCHS = 100
RELATE_WEIGHT_DECAY = 1e-5

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
    official = schedule == "segmenter_official"
    try:
        official = official or segmenters.entry(segmenter).distill_schedule == "official"
        if official:
            defaults = segmenters.defaults(segmenter, dataset)
        else:
            defaults = TrainingDefaults(
                epochs=RELATE_EPOCHS,
                lr=relate_lr(dataset),
                weight_decay=RELATE_WEIGHT_DECAY,
                batch_size=1,
            )
    except KeyError as error:
        what = f"{segmenter} recipe" if official else "RELATE learning rate"
        raise RelateError(f"no {what} for {dataset}: {error.args[0]}") from None
    return resolve_training(defaults, epochs, overrides)


# --- planning -----------------------------------------------------------------------------------


def plan_distilled(request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
    """The plan of a ``relate`` or student request."""
    method = get_method(request.variant)
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
        "spec": spec_record(spec),
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

    def plan_teacher(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """:func:`plan_teacher`."""
        return plan_teacher(request, dataset)

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
