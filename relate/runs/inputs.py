"""A run's inputs: class names, feature blocks of a variant's rows, the training videos."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate.data import checks
from relate.data.layout import (
    DatasetLayout,
    aligned_length,
    load_features,
    read_labels,
    read_mapping,
)
from relate.data.variants import InputVariant
from relate.errors import DataError


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
