"""Segmenters, chosen through one explicit registry.

``build(name, in_dim, num_classes, dataset, **overrides)`` is the single entry point; each
module exposes ``build_<name>(in_dim, num_classes, dataset, **overrides)`` and
``training_defaults(dataset) -> TrainingDefaults``.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from relate.segmenters.training_defaults import TrainingDefaults

if TYPE_CHECKING:
    from relate.segmenters.base import Segmenter, SegmenterOutput

SEGMENTERS: Mapping[str, str] = MappingProxyType(
    {
        "mstcn": "relate.segmenters.mstcn",
        "asformer": "relate.segmenters.asformer",
        "fact": "relate.segmenters.fact",
    }
)
"""Name -> module implementing ``build_<name>`` and ``training_defaults``."""

__all__ = ["SEGMENTERS", "Segmenter", "SegmenterOutput", "TrainingDefaults", "build", "defaults"]


def __getattr__(name: str) -> Any:
    """``Segmenter`` and ``SegmenterOutput`` import torch: loaded on first use, so the
    registry itself (``SEGMENTERS``) can be read by ``--help`` without torch."""
    if name in ("Segmenter", "SegmenterOutput"):
        from relate.segmenters import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _module(name: str) -> Any:
    if name not in SEGMENTERS:
        raise KeyError(f"unknown segmenter {name!r}; known: {', '.join(SEGMENTERS)}")
    return import_module(SEGMENTERS[name])


def build(name: str, in_dim: int, num_classes: int, dataset: str, **overrides: Any) -> Segmenter:
    """Build segmenter ``name`` with the official settings of ``dataset`` plus ``overrides``."""
    return getattr(_module(name), f"build_{name}")(in_dim, num_classes, dataset, **overrides)


def defaults(name: str, dataset: str) -> TrainingDefaults:
    """The official optimiser, schedule and epochs of segmenter ``name`` on ``dataset``."""
    return _module(name).training_defaults(dataset)
