"""What every convention scores from: a split's segments, their same-label overlaps, the
Edit distances, the best IoU matches and the frame counts of Acc.

Correct frames need no pass over the frames: each lies in exactly one overlap of a
predicted and a GT run of the same label, so Acc sums those overlaps.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from relate.evaluation.metrics_encode import EncodedSplit
from relate.evaluation.metrics_scan import Scan, scan_split
from relate.evaluation.metrics_segments import (
    IouFunction,
    Pairs,
    Segments,
    best_overlap,
    edit_distances,
    matched_truth,
    same_label_pairs,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Matched:
    """Segments (non-background runs) with their matches, and all runs for Acc."""

    split: EncodedSplit
    scan: Scan
    pairs: Pairs
    """Same-label overlaps of all runs (``scan``), background ones included."""
    predicted: Segments
    truth: Segments
    segment_pairs: Pairs
    """Same-label overlaps of the segments (``predicted`` and ``truth``)."""
    distances: np.ndarray
    best_gt: np.ndarray
    best_iou: np.ndarray

    @property
    def longest(self) -> np.ndarray:
        return np.maximum(self.predicted.counts, self.truth.counts)

    def hits(self, overlaps: Sequence[float]) -> list[np.ndarray]:
        """GT segments matched at each overlap (standard/fact)."""
        return [matched_truth(self.truth, self.best_gt, self.best_iou >= k) for k in overlaps]

    def correct(self, per_video: bool) -> np.ndarray:
        """Frames predicted right, in total (one element) or per video."""
        return self._sum(self.scan.predicted, self.pairs, per_video)

    def correct_foreground(self, per_video: bool) -> np.ndarray:
        """Frames predicted right outside the background."""
        return self._sum(self.predicted, self.segment_pairs, per_video)

    def foreground(self, per_video: bool) -> np.ndarray:
        """GT frames outside the background (GT padding is background)."""
        frames = self.truth.end - self.truth.start
        if not per_video:
            return frames.sum(keepdims=True)
        return np.bincount(self.truth.video, frames, self.split.n_videos).astype(np.int64)

    def _sum(self, segments: Segments, pairs: Pairs, per_video: bool) -> np.ndarray:
        if not per_video:
            return pairs.intersection.sum(keepdims=True)
        video = segments.video[pairs.owner]
        return np.bincount(video, pairs.intersection, self.split.n_videos).astype(np.int64)


def match(split: EncodedSplit, iou: IouFunction, frames: bool) -> Matched:
    """Scan ``split`` and match its segments; ``frames`` keeps the per-frame correct mask."""
    scan = scan_split(split, frames)
    pairs = same_label_pairs(scan.predicted, scan.truth)
    predicted, truth, segment_pairs = scan.predicted, scan.truth, pairs
    if split.background.size:
        keep_predicted = _outside(predicted.label, split.background)
        keep_truth = _outside(truth.label, split.background)
        predicted, truth = predicted.subset(keep_predicted), truth.subset(keep_truth)
        segment_pairs = pairs.subset(
            keep_predicted[pairs.owner],  # same label: both or neither are background
            np.cumsum(keep_predicted) - 1,
            np.cumsum(keep_truth) - 1,
        )
    logger.debug(
        "%d videos, %d frames, %d predicted and %d GT segments",
        split.n_videos,
        split.bounds[-1],
        predicted.label.size,
        truth.label.size,
    )
    best_gt, best_iou = best_overlap(segment_pairs, predicted.label.size, iou)
    distances = edit_distances(predicted, truth)
    return Matched(
        split, scan, pairs, predicted, truth, segment_pairs, distances, best_gt, best_iou
    )


def _outside(labels: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Mask of the labels that are not background."""
    return labels != background[0] if background.size == 1 else ~np.isin(labels, background)
