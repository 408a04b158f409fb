"""A run's optimisation recipe: the official one with ``train.*`` overrides and
``--epochs`` applied, checked, and the learning rate of each epoch."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from relate.errors import RelateError
from relate.segmenters.training_defaults import TrainingDefaults

SCHEDULERS = ("none", "plateau", "step_reset")


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


def epoch_lr(training: TrainingDefaults, epoch: int) -> float | None:
    """FACT's non-compounded decay: the lr of 0-based ``epoch`` under step_reset, else None."""
    if training.scheduler != "step_reset":
        return None
    assert training.lr_decay_every
    return training.lr * 0.1 if epoch >= training.lr_decay_every else training.lr
