"""Trivial per-frame predictors: sanity baselines for the evaluator and the pipeline.

They are not models from the paper. ``majority`` predicts the most frequent training
label everywhere; ``nearest_mean`` assigns each frame the class whose standardised
training mean is nearest (Euclidean) on the chosen feature rows. Both read features
lazily, one video at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate import io
from relate.data.layout import (
    DatasetLayout,
    aligned_length,
    load_features,
    load_split,
    read_labels,
    read_mapping,
)
from relate.data.registry import FLOW_ROWS, RGB_ROWS
from relate.data.validate import validate_dataset

logger = logging.getLogger(__name__)

ROWS = {"rgb": RGB_ROWS, "flow": FLOW_ROWS, "all": slice(0, 2048)}
METHODS = ("majority", "nearest_mean")
PREDICTION_HEADER = "### Frame level recognition: ###"


@dataclass(frozen=True)
class NearestMean:
    """Class means (K, D) in standardised feature space, with the standardisation."""

    class_names: list[str]
    means: np.ndarray
    center: np.ndarray
    scale: np.ndarray

    def predict(self, features: np.ndarray) -> list[str]:
        """Label names for a (D, T) feature block."""
        x = (np.asarray(features, dtype=np.float64).T - self.center) / self.scale  # (T, D)
        distances = (
            (x**2).sum(1, keepdims=True) - 2 * x @ self.means.T + (self.means**2).sum(1)
        )  # (T, K)
        return [self.class_names[k] for k in distances.argmin(1)]


def fit_nearest_mean(layout: DatasetLayout, videos: list[str], rows: slice) -> NearestMean:
    """Per-class means of standardised features over the training videos."""
    mapping = read_mapping(layout.mapping_path)
    sums: dict[str, np.ndarray] = {}
    counts: Counter[str] = Counter()
    total = total_sq = None
    frames = 0
    for video in videos:
        labels = read_labels(layout.label_path(video), mapping)
        features = load_features(layout.feature_path(video))
        length = aligned_length(features.shape[1], len(labels), video)
        block = np.asarray(features[rows, :length], dtype=np.float64).T  # (T, D)
        total = block.sum(0) if total is None else total + block.sum(0)
        total_sq = (block**2).sum(0) if total_sq is None else total_sq + (block**2).sum(0)
        frames += length
        label_array = np.asarray(labels[:length])
        for name in np.unique(label_array):
            selected = block[label_array == name]
            sums[name] = sums.get(name, 0) + selected.sum(0)
            counts[name] += len(selected)
    assert total is not None and total_sq is not None
    center = total / frames
    scale = np.sqrt(np.maximum(total_sq / frames - center**2, 1e-12))
    names = sorted(sums, key=lambda name: mapping[name])
    means = np.stack([(sums[n] / counts[n] - center) / scale for n in names])
    return NearestMean(names, means, center, scale)


def majority_label(layout: DatasetLayout, videos: list[str]) -> str:
    """The most frequent frame label over the training videos (ties: lowest class id)."""
    mapping = read_mapping(layout.mapping_path)
    counts: Counter[str] = Counter()
    for video in videos:
        counts.update(read_labels(layout.label_path(video), mapping))
    return min(counts, key=lambda name: (-counts[name], mapping[name]))


def predict_split(data_root: Path, split: int, method: str, rows: str, out_dir: Path) -> int:
    """Fit on ``train.split{split}``, write MS-TCN text predictions of the test videos.

    Returns the number of videos written. The output folder appears only when complete.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    layout = DatasetLayout(data_root)
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    train, test = load_split(layout, "train", split), load_split(layout, "test", split)
    if method == "majority":
        label = majority_label(layout, train)
        predict = lambda features: [label] * features.shape[1]  # noqa: E731
    else:
        predict = fit_nearest_mean(layout, train, ROWS[rows]).predict
    with io.atomic_directory(out_dir) as tmp:
        for video in test:
            features = load_features(layout.feature_path(video))
            labels = predict(features[ROWS[rows]])
            (tmp / f"{video}.txt").write_text(f"{PREDICTION_HEADER}\n{' '.join(labels)}\n")
    logger.info("wrote %d predictions to %s", len(test), out_dir)
    return len(test)
