"""What ``relate train`` is asked to do, and the checked plan of a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relate.data.layout import DatasetLayout
from relate.data.registry import DatasetInfo
from relate.data.variants import InputVariant
from relate.segmenters.training_defaults import TrainingDefaults


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
    checkpoint_every: int = 1
    """Write the resumable checkpoint after every k-th epoch (a resumed run repeats at most
    k - 1 epochs and ends in the same bytes)."""


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
