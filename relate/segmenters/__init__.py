"""Segmenters, chosen through one explicit table (:mod:`relate.segmenters.table`).

``build(name, in_dim, num_classes, dataset, **overrides)`` is the single entry point;
``entry(name)`` gives everything else the suite asks of a segmenter (recipe, stage mapping,
title, the schedule distilled runs use). Reading the table imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from relate.segmenters.table import (
    DISTILL_SCHEDULES,
    TABLE,
    ModuleNames,
    SegmenterEntry,
    StageMap,
    entry,
    registered,
)
from relate.segmenters.training_defaults import TrainingDefaults

if TYPE_CHECKING:
    from relate.segmenters.base import Segmenter, SegmenterOutput

SEGMENTERS: Mapping[str, str] = ModuleNames()
"""Name -> module implementing the segmenter (a live read-only view of :data:`TABLE`)."""

__all__ = [
    "DISTILL_SCHEDULES",
    "SEGMENTERS",
    "TABLE",
    "SegmenterEntry",
    "Segmenter",
    "SegmenterOutput",
    "StageMap",
    "TrainingDefaults",
    "build",
    "defaults",
    "entry",
    "registered",
]


def __getattr__(name: str) -> Any:
    """``Segmenter`` and ``SegmenterOutput`` import torch: loaded on first use, so the
    table itself can be read by ``--help`` without torch."""
    if name in ("Segmenter", "SegmenterOutput"):
        from relate.segmenters import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build(name: str, in_dim: int, num_classes: int, dataset: str, **overrides: Any) -> Segmenter:
    """Build segmenter ``name`` with the official settings of ``dataset`` plus ``overrides``."""
    return entry(name).build(in_dim, num_classes, dataset, **overrides)


def defaults(name: str, dataset: str) -> TrainingDefaults:
    """The official optimiser, schedule and epochs of segmenter ``name`` on ``dataset``."""
    return entry(name).training_defaults(dataset)
