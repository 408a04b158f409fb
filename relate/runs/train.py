"""Train one (dataset, split, segmenter, variant, seed) run into a run folder.

Protocol (docs/training.md; the official MS-TCN, ASFormer and FACT training scripts):

* the segmenter's official recipe from :func:`relate.segmenters.defaults`: Adam with its lr
  and weight decay, ``batch_size`` videos per optimiser step (each video is a separate
  forward pass, its loss divided by the number of videos in the step; FACT's meaning of a
  batch), gradient clipping where set, and the scheduler: ``plateau`` (ReduceLROnPlateau
  stepped on the epoch loss summed over videos) or ``step_reset`` (lr = base * 0.1 once
  ``lr_decay_every`` epochs are done; not compounded);
* the video order is a permutation drawn from a generator seeded by ``(seed, epoch)``, so an
  epoch's order does not depend on what ran before it;
* features are memory-mapped, reduced to the variant's rows, truncated with the labels to
  min(T_feat, T_gt), and subsampled by the dataset's ``sample_rate`` (50Salads: 2);
* the reported model is the final epoch's: no selection on any split.

Run folder (``RUN_DIR``): ``config.json`` (fully resolved), ``log.jsonl`` (one line per
epoch), ``provenance.json``, ``checkpoint.pt`` (latest epoch, while training) and, at the end,
``model.pt`` (state dict only). A rerun resumes from ``checkpoint.pt`` and reproduces the
uninterrupted run bit for bit on the same machine; a different config is refused.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from relate import integrity, io, segmenters
from relate.data import checks
from relate.data.layout import (
    DatasetLayout,
    aligned_length,
    load_features,
    load_split,
    read_labels,
    read_mapping,
)
from relate.data.registry import DatasetInfo, get_dataset
from relate.data.validate import validate_dataset
from relate.data.variants import InputVariant, get_variant
from relate.errors import DataError, RelateError
from relate.provenance import provenance
from relate.runs.checkpoint import (
    canonical_json,
    load_checkpoint,
    load_safely,
    save_checkpoint,
    save_weights,
)
from relate.runs.distilled import (
    build_distilled_model,
    distilled_output_and_loss,
    is_distilled,
    load_teacher,
    plan_distilled,
    plan_teacher,
)
from relate.runs.fast_path import BlockCache, compile_model, make_adam
from relate.runs.run_lock import locked_run_dir
from relate.runs.seeding import (
    capture_rng_state,
    epoch_generator,
    restore_rng_state,
    seed_everything,
)
from relate.segmenters import Segmenter, TrainingDefaults

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"
PROVENANCE_FILE = "provenance.json"
CHECKPOINT_FILE = "checkpoint.pt"
WEIGHTS_FILE = "model.pt"
CONFIG_VERSION = 1
SCHEDULERS = ("none", "plateau", "step_reset")
UNCOMPARED = ("invocation",)
"""Top-level config keys that may change between a run and its resumption."""


@dataclass(frozen=True)
class TrainRequest:
    """What ``relate train`` was asked to do.

    Attributes:
        overrides: keyword arguments for the segmenter builder.
        training_overrides: fields of :class:`TrainingDefaults` to replace.
    """

    data: Path
    dataset: str
    split: int
    segmenter: str
    variant: str
    seed: int
    out: Path
    epochs: int | None = None
    device: str = "cpu"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    training_overrides: Mapping[str, Any] = field(default_factory=dict)
    teacher: Path | None = None
    """Distilled variants (relate, kd, rkd, gcr, mars): run folder of the ``flow`` teacher."""
    relate_options: Mapping[str, Any] = field(default_factory=dict)
    """Distilled variants: ``--option`` KEY=VALUE options (relate.blocks.presets)."""
    preset: str | None = None
    """Distilled variants: ``release`` or ``paper_literal`` (relate.blocks.presets)."""
    bridge: Path | None = None
    """``relate`` with ``bridge=pretrained``: run folder of ``relate train-bridge``."""
    teacher_for: str | None = None
    """``--variant flow``: train the teacher a distilled variant (with ``preset`` and
    ``relate_options``) needs: its architecture, under the RELATE schedule (D8 of
    docs/decisions.md)."""
    fast: bool = False
    """Opt-in fast path (:mod:`relate.runs.fast_path`): features kept in memory, fused Adam."""
    compile: bool = False
    """Opt-in ``torch.compile`` of the model's forward (:mod:`relate.runs.fast_path`)."""


# --- inputs (shared with relate.evaluation.predict) -----------------------------------------------


def read_classes(layout: DatasetLayout) -> list[str]:
    """Class names indexed by their mapping.txt id; the ids must be exactly 0..K-1."""
    mapping = read_mapping(layout.mapping_path)
    ids = sorted(mapping.values())
    if ids != list(range(len(ids))):
        raise DataError(
            layout.mapping_path, f"class ids must be 0..{len(ids) - 1} without gaps, got {ids[:8]}"
        )
    names = [""] * len(ids)
    for name, class_id in mapping.items():
        names[class_id] = name
    return names


def read_block(
    path: Path, variant: InputVariant, frames: int | None, sample_rate: int
) -> np.ndarray:
    """The variant's rows of a memory-mapped feature file, first ``frames`` frames (all if
    None), every ``sample_rate``-th frame from 0: float32 (D, ceil(T / sample_rate)).

    The shape is checked on opening and the values read are checked for NaN/inf.
    """
    features = load_features(path)
    block = np.array(
        features[variant.rows, :frames:sample_rate], dtype=np.float32, order="C", copy=True
    )
    problems = checks.check_feature_values(block)
    if problems:
        raise DataError(path, problems[0])
    return block


def upsample(probabilities: np.ndarray, sample_rate: int) -> np.ndarray:
    """Repeat each frame of (C, T') ``sample_rate`` times along time: (C, sample_rate * T')."""
    return probabilities if sample_rate == 1 else np.repeat(probabilities, sample_rate, axis=1)


@dataclass(frozen=True)
class TrainVideo:
    """One training video: its feature file and subsampled class ids (the model's targets)."""

    name: str
    feature_path: Path
    frames: int
    """Aligned length min(T_feat, T_gt) before subsampling."""
    targets: np.ndarray
    """(ceil(frames / sample_rate),) int64 class ids."""


def load_train_videos(
    layout: DatasetLayout,
    videos: list[str],
    classes: list[str],
    variant: InputVariant,
    sample_rate: int,
) -> list[TrainVideo]:
    """Labels of every training video, aligned to its features; features checked once."""
    ids = {name: i for i, name in enumerate(classes)}
    loaded = []
    for video in videos:
        labels = read_labels(layout.label_path(video), ids)
        path = layout.feature_path(video)
        frames = aligned_length(load_features(path).shape[1], len(labels), video)
        read_block(path, variant, frames, sample_rate)  # shape and value checks, up front
        targets = np.array([ids[x] for x in labels[:frames:sample_rate]], dtype=np.int64)
        loaded.append(TrainVideo(video, path, frames, targets))
    return loaded


# --- configuration ----------------------------------------------------------------------------


def resolve_training(
    defaults: TrainingDefaults, epochs: int | None, overrides: Mapping[str, Any]
) -> TrainingDefaults:
    """The official recipe with ``train.*`` overrides and ``--epochs`` applied, checked."""
    names = {f.name for f in dataclasses.fields(TrainingDefaults)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise RelateError(
            f"unknown training setting(s) {unknown}; known: {', '.join(sorted(names))}"
        )
    changes = dict(overrides)
    if epochs is not None:
        changes["epochs"] = epochs
    training = dataclasses.replace(defaults, **changes)
    problems = training_problems(training)
    if problems:
        raise RelateError("invalid training settings: " + "; ".join(problems))
    return training


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return _is_int(value) or (isinstance(value, float) and math.isfinite(value))


MAX_LR = 10.0
"""Larger learning rates diverge for every segmenter; refused rather than trained to NaN."""


def training_problems(training: TrainingDefaults) -> list[str]:
    """Type and range problems of every training setting (empty when all are valid)."""
    problems = []
    if not _is_int(training.epochs) or training.epochs < 0:
        problems.append(f"epochs must be an integer >= 0, got {training.epochs!r}")
    if not _is_int(training.batch_size) or training.batch_size < 1:
        problems.append(f"batch_size must be an integer >= 1, got {training.batch_size!r}")
    if not isinstance(training.scheduler, str) or training.scheduler not in SCHEDULERS:
        problems.append(f"scheduler must be one of {SCHEDULERS}, got {training.scheduler!r}")
    if not _is_real(training.lr) or not 0 < training.lr <= MAX_LR:
        problems.append(f"lr must be a number in (0, {MAX_LR}], got {training.lr!r}")
    if not _is_real(training.weight_decay) or training.weight_decay < 0:
        problems.append(f"weight_decay must be a number >= 0, got {training.weight_decay!r}")
    if not _is_real(training.plateau_factor) or not 0 < training.plateau_factor < 1:
        problems.append(
            f"plateau_factor must be a number in (0, 1), got {training.plateau_factor!r}"
        )
    if not _is_int(training.plateau_patience) or training.plateau_patience < 0:
        problems.append(
            f"plateau_patience must be an integer >= 0, got {training.plateau_patience!r}"
        )
    every = training.lr_decay_every
    if every is not None and (not _is_int(every) or every < 1):
        problems.append(f"lr_decay_every must be an integer >= 1 or null, got {every!r}")
    elif training.scheduler == "step_reset" and every is None:
        problems.append("scheduler step_reset needs lr_decay_every >= 1")
    clip = training.clip_grad_norm
    if clip is not None and (not _is_real(clip) or clip <= 0):
        problems.append(f"clip_grad_norm must be a number > 0 or null, got {clip!r}")
    return problems


def resolved_config(
    request: TrainRequest,
    dataset: DatasetInfo,
    variant: InputVariant,
    classes: list[str],
    videos: list[str],
    training: TrainingDefaults,
) -> dict[str, Any]:
    """Everything that determines the trained weights, as JSON (plus the invocation)."""
    return {
        "version": CONFIG_VERSION,
        "data": str(Path(request.data).resolve()),
        "dataset": {
            "name": dataset.name,
            "fps": dataset.fps,
            "sample_rate": dataset.sample_rate,
            "synthetic": dataset.synthetic,
            "background": list(dataset.background),
            "classes": classes,
        },
        "split": request.split,
        "train_videos": videos,
        "segmenter": {"name": request.segmenter, "overrides": dict(request.overrides)},
        "variant": variant.as_dict(),
        "seed": request.seed,
        "training": dataclasses.asdict(training),
        "invocation": _invocation(request),
    }


def _invocation(request: TrainRequest) -> dict[str, Any]:
    """How the run was executed (not compared on resumption); the fast-path options only
    when set, so that default runs keep their config.json unchanged."""
    invocation: dict[str, Any] = {"out": str(request.out), "device": request.device}
    if request.fast:
        invocation["fast"] = True
    if request.compile:
        invocation["compile"] = True
    return invocation


def compared(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config that must match for a resumption."""
    return {k: v for k, v in config.items() if k not in UNCOMPARED}


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): obj}


def config_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for each differing leaf (dotted keys, sorted)."""
    a, b = _flatten(compared(old)), _flatten(compared(new))
    return [
        f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k, "<absent>") != b.get(k, "<absent>")
    ]


def check_run_dir(out: Path, config: Mapping[str, Any]) -> None:
    """Refuse a run folder whose config.json describes a different run."""
    path = out / CONFIG_FILE
    if not path.exists():
        for name in (CHECKPOINT_FILE, WEIGHTS_FILE):
            if (out / name).exists():
                raise DataError(
                    out / name, f"run folder has {name} but no {CONFIG_FILE}; use a new --out"
                )
        return
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, f"unreadable run config ({error})") from None
    if not isinstance(existing, dict):
        raise DataError(path, "run config is not a JSON object")
    differences = config_difference(existing, config)
    if differences:
        shown = "; ".join(differences[:3]) + (
            f"; and {len(differences) - 3} more" if len(differences) > 3 else ""
        )
        raise DataError(
            path,
            f"run folder holds a different configuration ({shown}); use another --out or delete it",
        )
    if (out / CHECKPOINT_FILE).exists():
        started = bool((existing.get("invocation") or {}).get("fast"))
        if started != bool((config.get("invocation") or {}).get("fast")):
            raise DataError(
                path,
                f"the run was started with{'' if started else 'out'} --fast; resume it the same "
                "way (fused and plain Adam give different bytes)",
            )


# --- devices and schedules --------------------------------------------------------------------


DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str) -> torch.device:
    """``cpu``; ``cuda`` (a ``RelateError`` when CUDA is unavailable); ``auto``: CUDA when
    available, else the CPU (the only value that falls back)."""
    if requested not in DEVICES:
        raise RelateError(f"--device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RelateError("--device cuda: CUDA is not available (use --device cpu or auto)")
    return torch.device(requested)


def epoch_lr(training: TrainingDefaults, epoch: int) -> float | None:
    """FACT's non-compounded decay: the lr of 0-based ``epoch`` under step_reset, else None."""
    if training.scheduler != "step_reset":
        return None
    assert training.lr_decay_every
    return training.lr * 0.1 if epoch >= training.lr_decay_every else training.lr


def build_model(config: Mapping[str, Any], device: torch.device) -> torch.nn.Module:
    """The segmenter (or RELATE model) a resolved config describes (fresh weights, from the
    current RNG)."""
    if is_distilled(config["variant"]["name"]):
        return build_distilled_model(config).to(device)
    seg = config["segmenter"]
    try:
        model = segmenters.build(
            seg["name"],
            config["variant"]["in_dim"],
            len(config["dataset"]["classes"]),
            config["dataset"]["name"],
            **seg["overrides"],
        )
    except (TypeError, ValueError) as error:
        raise RelateError(
            f"cannot build segmenter {seg['name']!r} with {seg['overrides']}: {error}"
        ) from None
    except ModuleNotFoundError as error:
        raise RelateError(f"segmenter {seg['name']!r} is not available ({error})") from None
    return model.to(device)


# --- training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunPlan:
    """A checked request: the resolved config and what training needs to read the data."""

    config: dict[str, Any]
    layout: DatasetLayout
    dataset: DatasetInfo
    variant: InputVariant
    training: TrainingDefaults
    classes: list[str]
    train_videos: list[str]
    out: Path


@dataclass
class Fit:
    """The objects one training session updates."""

    model: Segmenter
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None
    videos: list[TrainVideo]
    device: torch.device
    teacher: torch.nn.Module | None = None
    """Distilled variants: the frozen teacher (eval, no gradients, not in the optimiser)."""
    cache: BlockCache | None = None
    """Fast path: the videos' tensors, kept after their first (checked) read."""


def plan_run(request: TrainRequest) -> RunPlan:
    """Check the request and the dataset (labels; features later, as they are read)."""
    try:
        dataset = get_dataset(request.dataset)
    except KeyError as error:
        raise RelateError(str(error.args[0])) from None
    if request.segmenter not in segmenters.SEGMENTERS:
        known = ", ".join(segmenters.SEGMENTERS)
        raise RelateError(f"unknown segmenter {request.segmenter!r}; known: {known}")
    if is_distilled(request.variant):
        if request.teacher_for is not None:
            raise RelateError("--teacher-for applies to --variant flow only")
        return plan_distilled(request, dataset)
    if request.teacher_for is not None:
        return plan_teacher(request, dataset)
    if (
        request.teacher is not None
        or request.relate_options
        or request.preset is not None
        or request.bridge is not None
    ):
        raise RelateError(
            "--teacher, --option, --preset and --bridge apply to the distilled variants "
            "(relate, kd, rkd, gcr, mars) only"
        )
    variant = get_variant(request.variant)
    if request.seed < 0:
        raise RelateError(f"--seed must be >= 0, got {request.seed}")
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    if len(classes) != dataset.n_classes:
        logger.warning(
            "%s has %d classes; the registry says %s has %d",
            layout.mapping_path, len(classes), dataset.name, dataset.n_classes,
        )  # fmt: skip
    videos = load_split(layout, "train", request.split)
    try:
        defaults = segmenters.defaults(request.segmenter, dataset.name)
    except ModuleNotFoundError as error:
        raise RelateError(f"segmenter {request.segmenter!r} is not available ({error})") from None
    except KeyError as error:
        raise RelateError(f"no {request.segmenter} recipe for {dataset.name}: {error}") from None
    training = resolve_training(defaults, request.epochs, request.training_overrides)
    config = resolved_config(request, dataset, variant, classes, videos, training)
    return RunPlan(config, layout, dataset, variant, training, classes, videos, Path(request.out))


def train(request: TrainRequest) -> Path:
    """Train, resume, or (if complete) leave alone the run of ``request``; returns model.pt.

    The run folder is locked for the whole session (:mod:`relate.runs.run_lock`); its contents
    are checked only once the lock is held."""
    plan = plan_run(request)
    device = resolve_device(request.device)
    with locked_run_dir(plan.out):
        return _train_locked(request, plan, device)


def _check_run_files(out: Path) -> None:
    """Refuse a run folder whose checkpoint or weights path is not a regular file."""
    for name in (CHECKPOINT_FILE, WEIGHTS_FILE):
        path = out / name
        if path.exists() and not path.is_file():
            raise DataError(path, f"{name} is not a regular file; use a new --out")


def _train_locked(request: TrainRequest, plan: RunPlan, device: torch.device) -> Path:
    out, training = plan.out, plan.training
    check_run_dir(out, plan.config)
    _check_run_files(out)
    if (out / WEIGHTS_FILE).exists() and not (out / CHECKPOINT_FILE).exists():
        load_safely(out / WEIGHTS_FILE, "model weights")  # integrity of the finished run
        logger.info("%s is complete (%s exists); nothing to do", out, WEIGHTS_FILE)
        return out / WEIGHTS_FILE
    _remove_stale_temporaries(out)
    sample_rate = plan.dataset.sample_rate
    videos = load_train_videos(
        plan.layout, plan.train_videos, plan.classes, plan.variant, sample_rate
    )
    teacher = None
    if is_distilled(plan.variant.name):
        teacher = load_teacher(plan.config, device)
    seed_everything(request.seed)
    model = build_model(plan.config, device)
    if plan.config.get("relate", {}).get("bridge"):
        from relate.runs.bridge import load_bridge_into

        load_bridge_into(model, plan.config["relate"]["bridge"])
    params = (
        model.parameters()
        if teacher is None
        else [p for p in model.parameters() if p.requires_grad]
    )
    optimizer = make_adam(params, training.lr, training.weight_decay, request.fast)
    if request.compile:
        compile_model(model)
    scheduler = None
    if training.scheduler == "plateau":
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="min",
            factor=training.plateau_factor,
            patience=training.plateau_patience,
        )
    fit = Fit(model, optimizer, scheduler, videos, device, teacher)
    if request.fast:
        fit.cache = BlockCache()
    history: list[dict[str, Any]] = []
    start = 0
    if (out / CHECKPOINT_FILE).exists():
        history, start = _resume(out / CHECKPOINT_FILE, plan.config, fit)
    else:
        io.write_json(out / CONFIG_FILE, plan.config)
    _record_provenance(out, device, start)

    desc = f"{request.segmenter}/{plan.variant.name}"
    total = (training.epochs - start) * len(videos)
    with tqdm(total=total, unit="video", file=sys.stderr, disable=None, desc=desc) as bar:
        for epoch in range(start, training.epochs):
            began = time.perf_counter()
            lr = epoch_lr(training, epoch)
            if lr is not None:  # step_reset
                for group in optimizer.param_groups:
                    group["lr"] = lr
            used_lr = optimizer.param_groups[0]["lr"]
            losses, train_acc = _train_epoch(fit, plan, request.seed, epoch, bar)
            bad = sorted(k for k, v in losses.items() if not math.isfinite(v))
            if bad:
                raise DataError(
                    out,
                    f"training diverged: non-finite loss ({', '.join(bad)}) in epoch {epoch + 1}; "
                    "lower train.lr or check the features",
                )
            if scheduler is not None:
                scheduler.step(losses["total"])
            seconds = round(time.perf_counter() - began, 3)
            history.append(
                {
                    "epoch": epoch + 1,
                    "loss": losses,
                    "lr": used_lr,
                    "seconds": seconds,
                    "train_acc": round(train_acc, 4),
                }
            )
            save_checkpoint(
                out / CHECKPOINT_FILE, epoch=epoch + 1, config=compared(plan.config), model=model,
                optimizer=optimizer, scheduler=scheduler, rng=capture_rng_state(), history=history,
            )  # fmt: skip
            _write_log(out, history)
            terms = ", ".join(f"{k} {v:.4f}" for k, v in losses.items())
            message = f"epoch {epoch + 1}/{training.epochs}: {terms}"
            if bar.disable:
                logger.info("%s (lr %.3g, %.1f s)", message, used_lr, seconds)
            else:
                bar.set_postfix_str(message)
    _write_log(out, history)
    save_weights(out / WEIGHTS_FILE, model)
    integrity.remove(out / CHECKPOINT_FILE)
    logger.info("%s: %d epochs on %d videos", out / WEIGHTS_FILE, training.epochs, len(videos))
    return out / WEIGHTS_FILE


def _train_epoch(
    fit: Fit, plan: RunPlan, seed: int, epoch: int, bar: tqdm
) -> tuple[dict[str, float], float]:
    """One pass over the videos in the epoch's order: each loss term summed over videos, and
    the training-set frame accuracy (%) of the predictions made while training."""
    fit.model.train()
    batch_size = plan.training.batch_size
    order = epoch_generator(seed, epoch).permutation(len(fit.videos))
    sums: dict[str, float] = {}
    correct = frames = 0
    for first in range(0, len(order), batch_size):
        group = order[first : first + batch_size]
        fit.optimizer.zero_grad(set_to_none=True)
        for index in group:
            video = fit.videos[int(index)]
            if fit.cache is not None:  # fast path: read and checked in the first epoch only
                x, target, mask = fit.cache.get(
                    int(index),
                    lambda v=video: read_block(
                        v.feature_path, plan.variant, v.frames, plan.dataset.sample_rate
                    ),
                    video.targets,
                    fit.device,
                )
            else:
                block = read_block(
                    video.feature_path, plan.variant, video.frames, plan.dataset.sample_rate
                )
                x = torch.from_numpy(block).unsqueeze(0).to(fit.device)  # (1, D, T')
                target = torch.from_numpy(video.targets).unsqueeze(0).to(fit.device)  # (1, T')
                mask = torch.ones(1, 1, x.shape[-1], device=fit.device)  # (1, 1, T')
            if fit.teacher is None:
                output = fit.model(x, mask)
                terms = fit.model.loss(output, target, mask)
            else:
                output, terms = _distilled_loss(fit, x, target, mask)
            (terms["total"] / len(group)).backward()  # mean over the videos of the step
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + float(value.detach())
            hits, counted = frame_hits(fit.model, output, target)
            correct += hits
            frames += counted
            bar.update(1)
        if plan.training.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(fit.model.parameters(), plan.training.clip_grad_norm)
        fit.optimizer.step()
    return sums, 100.0 * correct / max(frames, 1)


@torch.no_grad()
def frame_hits(model: torch.nn.Module, output: Any, target: torch.Tensor) -> tuple[int, int]:
    """(correct, counted) frames of the training-mode prediction against target (1, T');
    RELATE is scored on its joint head, frames labelled -100 are not counted."""
    probs = model.probabilities(output)  # type: ignore[operator]
    if isinstance(probs, dict):
        probs = probs["joint"]
    valid = target != -100
    hits = (probs.argmax(dim=1) == target) & valid
    return int(hits.sum()), int(valid.sum())


def _resume(path: Path, config: Mapping[str, Any], fit: Fit) -> tuple[list[dict[str, Any]], int]:
    """Load model, optimiser, scheduler and RNG states; returns (history, epochs done)."""
    state = load_checkpoint(path)
    if state["config"] != canonical_json(compared(config)):
        differences = config_difference(json.loads(state["config"]), config)
        raise DataError(
            path, f"checkpoint belongs to a different configuration ({'; '.join(differences[:3])})"
        )
    try:
        fit.model.load_state_dict(state["model"], strict=True)
        fit.optimizer.load_state_dict(state["optimizer"])
        if fit.scheduler is not None:
            fit.scheduler.load_state_dict(state["scheduler"])
        restore_rng_state(state["rng"])
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(path, f"checkpoint does not fit this run ({detail[:200]})") from None
    logger.info("resuming %s after epoch %d", path.parent, state["epoch"])
    return list(state["history"]), state["epoch"]


def _remove_stale_temporaries(out: Path) -> None:
    """Delete half-written files a killed run left behind (``.{name}.*.tmp`` of our files);
    called only while the run folder's lock is held, so no live writer owns them."""
    names = (CONFIG_FILE, LOG_FILE, PROVENANCE_FILE, CHECKPOINT_FILE, WEIGHTS_FILE)
    for name in names + tuple(n + integrity.SUFFIX for n in (CHECKPOINT_FILE, WEIGHTS_FILE)):
        for stale in out.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def _write_log(out: Path, history: list[dict[str, Any]]) -> None:
    io.write_text(
        out / LOG_FILE, "".join(json.dumps(line, sort_keys=True) + "\n" for line in history)
    )


def _record_provenance(out: Path, device: torch.device, start_epoch: int) -> None:
    path = out / PROVENANCE_FILE
    sessions = []
    if path.exists():
        try:
            sessions = list(json.loads(path.read_text(encoding="utf-8")).get("sessions", []))
        except (OSError, ValueError, AttributeError):
            sessions = []
    hardware = {
        "device": str(device),
        "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
    }
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    sessions.append({"started": started, "start_epoch": start_epoch, **hardware})
    io.write_json(path, {**provenance(), **hardware, "sessions": sessions})


def _distilled_loss(
    fit: Fit, x: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> tuple[Any, dict[str, torch.Tensor]]:
    """Output and loss terms of a distilled variant for one (1, 2048, T') block (teacher on
    the flow rows)."""
    assert fit.teacher is not None
    return distilled_output_and_loss(fit.model, fit.teacher, x, target, mask)
