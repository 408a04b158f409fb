"""Runs that learn from a frozen ``flow`` teacher: ``relate`` and the single-branch students
``kd``, ``rkd``, ``gcr``, ``mars`` (docs/training.md; D-numbers refer to docs/decisions.md).

What they share, and what this module adds to :mod:`relate.runs.train`:

* the request names the teacher's run folder (``--teacher``); :func:`check_teacher` checks it
  is a finished ``flow`` run of the same segmenter, dataset, split and seed whose architecture
  is the one the student's distillation pairs with (compared by parameter names and shapes on
  the meta device), and records its path and the sha256 of its weights;
* the model sees the RGB rows, the teacher the flow rows, under ``torch.no_grad()``, frozen and
  outside the optimiser (:func:`distilled_loss`);
* the schedule is the release's (Adam, weight decay 1e-5, 100 epochs, per-dataset lr, batch 1)
  for MS-TCN and ASFormer, and FACT's own recipe for FACT (the release has no FACT);
  ``schedule=segmenter_official`` picks the segmenter's official recipe for any segmenter (D11).

A ``relate`` run's config holds ``relate`` = {options, preset, spec, teacher[, bridge]}; a
student's holds ``student`` = {options, preset, spec, teacher}.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from relate import segmenters
from relate.data.layout import DatasetLayout, load_split
from relate.data.registry import FLOW_ROWS, RGB_ROWS, DatasetInfo, recipe_dataset
from relate.data.validate import validate_dataset
from relate.data.variants import (
    RELATE_EPOCHS,
    RELATE_LR,
    RELATE_VARIANT,
    RELATE_WEIGHT_DECAY,
    STUDENT_VARIANTS,
    get_variant,
)
from relate.errors import DataError, RelateError
from relate.runs.checkpoint import load_weights
from relate.segmenters import Segmenter, TrainingDefaults

SCHEDULES: tuple[str, ...] = ("release", "segmenter_official")
"""``schedule`` option (D11): the release's RELATE recipe or the segmenter's official one."""
RUN_OPTIONS: tuple[str, ...] = ("schedule", "param_budget")
"""Options handled here, not by the model spec."""


def is_distilled(variant: str) -> bool:
    """True for the variants that need ``--teacher``."""
    return variant == RELATE_VARIANT.name or variant in STUDENT_VARIANTS


def config_key(variant: str) -> str:
    """Where a distilled run's config keeps its options: ``relate`` or ``student``."""
    return "relate" if variant == RELATE_VARIANT.name else "student"


# --- specs -------------------------------------------------------------------------------------


def relate_spec(config: Mapping[str, Any]) -> Any:
    """The :class:`relate.blocks.relate_model.RelateSpec` of a resolved ``relate`` config."""
    from relate.blocks.relate_model import RelateSpec

    options = config["relate"]["model_options"]
    try:
        return RelateSpec.from_options(
            config["segmenter"]["name"], config["dataset"]["name"],
            len(config["dataset"]["classes"]), **options,
        )  # fmt: skip
    except (TypeError, ValueError, KeyError) as error:
        raise RelateError(f"invalid RELATE options {options}: {error}") from None


def student_spec(config: Mapping[str, Any]) -> Any:
    """The :class:`relate.blocks.students.StudentSpec` of a resolved student config."""
    from relate.blocks.students import StudentSpec

    options = config["student"]["model_options"]
    try:
        return StudentSpec.from_options(
            config["variant"]["name"], config["segmenter"]["name"], config["dataset"]["name"],
            len(config["dataset"]["classes"]), **options,
        )  # fmt: skip
    except (TypeError, ValueError, KeyError) as error:
        raise RelateError(
            f"invalid {config['variant']['name']} options {options}: {error}"
        ) from None


def build_distilled_model(config: Mapping[str, Any]) -> torch.nn.Module:
    """RelateModel or StudentModel of a resolved config (fresh weights from the current RNG)."""
    if config["variant"]["name"] == RELATE_VARIANT.name:
        from relate.blocks.relate_model import RelateModel

        return RelateModel(relate_spec(config))
    from relate.blocks.students import StudentModel

    return StudentModel(student_spec(config))


def _teacher_builder(config: Mapping[str, Any]) -> Callable[[], Segmenter]:
    if config["variant"]["name"] == RELATE_VARIANT.name:
        from relate.blocks.relate_model import build_teacher

        spec = relate_spec(config)
        return lambda: build_teacher(spec)
    from relate.blocks.students import build_student_teacher

    student = student_spec(config)
    return lambda: build_student_teacher(student)


# --- schedule -----------------------------------------------------------------------------------


def distilled_training(
    dataset: str,
    segmenter: str,
    schedule: str,
    epochs: int | None,
    overrides: Mapping[str, Any],
) -> TrainingDefaults:
    """The recipe of a distilled run (module doc); ``--epochs`` and ``train.*`` applied."""
    from relate.runs.train import resolve_training

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


# --- teacher ------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def same_architecture(
    expected: Callable[[], Segmenter],
    segmenter: str,
    in_dim: int,
    num_classes: int,
    dataset: str,
    teacher_overrides: Mapping[str, Any],
) -> bool:
    """True when a teacher built from its recorded overrides has the parameter names and shapes
    of ``expected()`` (both built on the meta device, so nothing is allocated). Overrides that
    spell out a default (FACT ``blocks="iuU"`` vs none) are accepted."""
    with torch.device("meta"):
        try:
            teacher = segmenters.build(
                segmenter, in_dim, num_classes, dataset, **dict(teacher_overrides)
            )
        except (TypeError, ValueError, KeyError):
            return False
        wanted = expected()
    return _shapes(teacher) == _shapes(wanted)


def check_teacher(
    teacher_dir: Path,
    *,
    segmenter: str,
    dataset: str,
    split: int,
    seed: int,
    expected: Callable[[], Segmenter],
    in_dim: int,
    num_classes: int,
    describe: str,
) -> dict[str, Any]:
    """Check that ``teacher_dir`` holds the teacher a distilled run needs: a finished ``flow``
    run with the same segmenter, dataset, split and seed and the architecture ``expected()``
    builds. Returns ``{"path", "sha256", "segmenter_overrides"}``; one-line errors otherwise.
    ``describe`` says what the architecture must be (for the error message)."""
    from relate.runs.train import CONFIG_FILE, WEIGHTS_FILE

    teacher_dir = Path(teacher_dir)
    path = teacher_dir / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            path, "missing teacher run config (train the `flow` variant first)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, f"unreadable teacher run config ({error})") from None
    found = {
        "variant": (config.get("variant") or {}).get("name"),
        "segmenter": (config.get("segmenter") or {}).get("name"),
        "dataset": (config.get("dataset") or {}).get("name"),
        "split": config.get("split"),
        "seed": config.get("seed"),
    }
    wanted = {
        "variant": "flow",
        "segmenter": segmenter,
        "dataset": dataset,
        "split": split,
        "seed": seed,
    }
    problems = [f"{k} {found[k]!r} (need {wanted[k]!r})" for k in wanted if found[k] != wanted[k]]
    have = dict((config.get("segmenter") or {}).get("overrides") or {})
    if not problems and not same_architecture(
        expected, segmenter, in_dim, num_classes, dataset, have
    ):
        problems.append(f"segmenter overrides {have} build another architecture ({describe})")
    if problems:
        raise DataError(path, "not the teacher of this run: " + "; ".join(problems))
    weights = teacher_dir / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "teacher run is unfinished (no model.pt); finish training it")
    return {
        "path": str(teacher_dir.resolve()),
        "sha256": sha256_of(weights),
        "segmenter_overrides": have,
    }


def load_teacher(config: Mapping[str, Any], device: torch.device) -> Segmenter:
    """The frozen teacher of a distilled config: weights loaded (sha256 checked), eval mode,
    ``requires_grad`` False."""
    from relate.runs.train import WEIGHTS_FILE

    entry = config[config_key(config["variant"]["name"])]["teacher"]
    weights = Path(entry["path"]) / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "teacher weights are missing")
    if sha256_of(weights) != entry["sha256"]:
        raise DataError(weights, "teacher weights changed since this run was configured")
    teacher = _teacher_builder(config)()
    load_weights(weights, teacher)
    return teacher.to(device).eval().requires_grad_(False)


# --- planning -----------------------------------------------------------------------------------


def plan_distilled(request: Any, dataset: DatasetInfo) -> Any:
    """The :class:`relate.runs.train.RunPlan` of a ``relate`` or student request."""
    from relate.blocks.presets import expand_options
    from relate.runs.train import RunPlan, read_classes, resolved_config

    variant_name = request.variant
    if request.seed < 0:
        raise RelateError(f"--seed must be >= 0, got {request.seed}")
    if request.overrides:
        raise RelateError(
            f"--variant {variant_name} takes model settings as --option KEY=VALUE (depth, "
            f"segmenter.<key>, ...), not --set {sorted(request.overrides)}"
        )
    if request.teacher is None:
        raise RelateError(
            f"--variant {variant_name} needs --teacher RUN_DIR (a trained `flow` run)"
        )
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    videos = load_split(layout, "train", request.split)
    try:
        expanded = expand_options(variant_name, request.preset, request.relate_options)
    except ValueError as error:
        raise RelateError(str(error)) from None
    run_options = {k: expanded.model.pop(k) for k in RUN_OPTIONS if k in expanded.model}
    schedule = str(run_options.get("schedule", "release"))
    if variant_name == RELATE_VARIANT.name:
        model_options = _apply_param_budget(
            request.segmenter,
            dataset.name,
            len(classes),
            expanded.model,
            str(run_options.get("param_budget", "none")),
        )
    elif "param_budget" in run_options:
        raise RelateError("param_budget applies to --variant relate only")
    else:
        model_options = expanded.model
    key = config_key(variant_name)
    probe = {
        "variant": {"name": variant_name},
        "segmenter": {"name": request.segmenter},
        "dataset": {"name": dataset.name, "classes": classes},
        key: {"model_options": model_options},
    }
    if variant_name == RELATE_VARIANT.name:
        spec = relate_spec(probe)
        describe = (
            f"the flow branch's: depth {spec.depth}, num_layers {spec.num_layers}"
            if spec.teacher_arch == "same_as_branch"
            else "the segmenter's official depth (teacher_arch=baseline)"
        )
    else:
        spec = student_spec(probe)
        describe = f"the student's: depth {spec.depth}, overrides {spec.segmenter_overrides()}"
    teacher = check_teacher(
        request.teacher, segmenter=request.segmenter, dataset=dataset.name,
        split=request.split, seed=request.seed, expected=_teacher_builder(probe),
        in_dim=spec.in_dim, num_classes=len(classes), describe=describe,
    )  # fmt: skip
    training = distilled_training(
        dataset.name, request.segmenter, schedule, request.epochs, request.training_overrides
    )
    variant = (
        RELATE_VARIANT if variant_name == RELATE_VARIANT.name else STUDENT_VARIANTS[variant_name]
    )
    config = resolved_config(request, dataset, variant, classes, videos, training)
    config[key] = {
        "preset": request.preset,
        "options": dict(request.relate_options),
        "run_options": {"schedule": schedule, **run_options},
        "model_options": model_options,
        "pr_options": expanded.pr,
        "spec": json.loads(json.dumps(dataclasses.asdict(spec))),
        "teacher": teacher,
    }
    if variant_name == RELATE_VARIANT.name and spec.bridge == "pretrained":
        from relate.runs.bridge import check_bridge_run

        if request.bridge is None:
            raise RelateError(
                "bridge=pretrained needs --bridge RUN_DIR (a `relate train-bridge` run)"
            )
        config[key]["bridge"] = check_bridge_run(
            Path(request.bridge),
            dataset=dataset.name,
            split=request.split,
            hidden=spec.bridge_hidden,
        )
    elif request.bridge is not None:
        raise RelateError("--bridge applies only to --variant relate with bridge=pretrained")
    return RunPlan(config, layout, dataset, variant, training, classes, videos, Path(request.out))


def plan_teacher(request: Any, dataset: DatasetInfo) -> Any:
    """The :class:`relate.runs.train.RunPlan` of ``--variant flow --teacher-for V``: a ``flow`` run
    with the architecture the distilled variant ``V`` (with ``--preset`` / ``--option``)
    pairs with, trained under that variant's schedule (D8: the RELATE schedule)."""
    from relate.blocks.presets import expand_options
    from relate.runs.train import RunPlan, read_classes, resolved_config

    if request.variant != "flow":
        raise RelateError(f"--teacher-for trains a `flow` teacher, not --variant {request.variant}")
    if not is_distilled(request.teacher_for):
        raise RelateError(
            f"--teacher-for must name a distilled variant, got {request.teacher_for!r}"
        )
    if request.overrides or request.teacher is not None or request.bridge is not None:
        raise RelateError(
            "--teacher-for takes the student's --preset/--option, not --set, --teacher or --bridge"
        )
    if request.seed < 0:
        raise RelateError(f"--seed must be >= 0, got {request.seed}")
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    videos = load_split(layout, "train", request.split)
    try:
        expanded = expand_options(request.teacher_for, request.preset, request.relate_options)
    except ValueError as error:
        raise RelateError(str(error)) from None
    run_options = {k: expanded.model.pop(k) for k in RUN_OPTIONS if k in expanded.model}
    key = config_key(request.teacher_for)
    model_options = expanded.model
    if request.teacher_for == RELATE_VARIANT.name:
        model_options = _apply_param_budget(
            request.segmenter,
            dataset.name,
            len(classes),
            model_options,
            str(run_options.get("param_budget", "none")),
        )
    probe = {
        "variant": {"name": request.teacher_for},
        "segmenter": {"name": request.segmenter},
        "dataset": {"name": dataset.name, "classes": classes},
        key: {"model_options": model_options},
    }
    if request.teacher_for == RELATE_VARIANT.name:
        overrides = relate_spec(probe).teacher_overrides()
    else:
        overrides = student_spec(probe).segmenter_overrides()
    training = distilled_training(
        dataset.name,
        request.segmenter,
        str(run_options.get("schedule", "release")),
        request.epochs,
        request.training_overrides,
    )
    request = dataclasses.replace(request, overrides=overrides)
    variant = get_variant("flow")
    config = resolved_config(request, dataset, variant, classes, videos, training)
    config["teacher_for"] = {
        "variant": request.teacher_for,
        "preset": request.preset,
        "options": dict(request.relate_options),
    }
    return RunPlan(config, layout, dataset, variant, training, classes, videos, Path(request.out))


def _apply_param_budget(
    segmenter: str, dataset: str, num_classes: int, options: dict[str, Any], budget: str
) -> dict[str, Any]:
    """``param_budget=match_total`` (D1): set ``num_layers`` to the largest count whose RELATE
    inference parameters stay within the RGB baseline's; ``none`` leaves the options alone."""
    from relate.tools.params import PARAM_BUDGETS, resolve_options

    if budget not in PARAM_BUDGETS:
        raise RelateError(f"param_budget must be one of {PARAM_BUDGETS}, got {budget!r}")
    if budget == "none":
        return options
    try:
        return resolve_options(segmenter, dataset, num_classes, {**options, "param_budget": budget})
    except ValueError as error:
        raise RelateError(str(error)) from None


# --- loss ---------------------------------------------------------------------------------------


def distilled_loss(
    model: torch.nn.Module,
    teacher: Segmenter,
    x: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Loss terms for one (1, 2048, T') block: RGB rows to the model, flow rows to the frozen
    teacher (and to a joint bridge's MSE)."""
    return distilled_output_and_loss(model, teacher, x, target, mask)[1]


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
