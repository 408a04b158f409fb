"""Segmental F1 as the RELATE authors' release computes it (``relate_release`` convention).

The release (github.com/Hsj303/RELATE at c2a977f, ``relate/evaluation/metrics.py`` and
``scripts/evaluate.py``) departs from MS-TCN's ``eval.py``; docs/decisions.md (the release's
evaluator) lists the differences, and docs/metrics.md defines them exactly.
Per video, with GT and prediction already cut to the shorter length and the single
background label dropped:

* no predicted segment: F1 = 0;
* a predicted segment is skipped (neither TP nor FP) when the video has no GT segment or
  no GT segment with its label;
* IoU_j = inter / (union + 1e-6) in float32, inter clipped at 0; j* is the first argmax of
  IoU_j masked by label equality, but the *raw* IoU_{j*} is compared with the threshold. If
  no same-label GT segment overlaps, the masked IoUs are all 0 and j* is the video's first
  GT segment, whatever its label;
* P, R and F1 have 1e-6 added to their denominators; the split F1 is 100 x the mean over
  videos.

Edit is the standard per-video score (100 when both sides have no segment) and Acc is the
mean over videos of each video's frame accuracy.

Functions here take the split-wide arrays built by :mod:`relate.evaluation.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from relate.evaluation.metrics import Segments

RELEASE_EPSILON = 1e-6


def release_iou(intersection: np.ndarray, union: np.ndarray) -> np.ndarray:
    """float32 ``inter / (union + 1e-6)``; the epsilon is lost for unions of 32 frames or more."""
    return intersection.astype(np.float32) / (
        union.astype(np.float32) + np.float32(RELEASE_EPSILON)
    )


def release_scores(
    correct: np.ndarray,
    bounds: np.ndarray,
    predicted: Segments,
    truth: Segments,
    distances: np.ndarray,
    best_gt: np.ndarray,
    best_iou: np.ndarray,
    overlaps: Sequence[float],
) -> tuple[float, float, list[float]]:
    """(Acc, Edit, [F1 at each overlap]) of a split, in percent, as the release computes them.

    ``correct`` marks the frames predicted right (videos concatenated, video ``v`` at
    ``[bounds[v], bounds[v + 1])``); ``distances`` are the per-video Levenshtein distances.
    """
    n_videos = bounds.size - 1
    accuracy = 100.0 * np.add.reduceat(correct, bounds[:-1], dtype=np.int64) / np.diff(bounds)
    longest = np.maximum(predicted.counts, truth.counts)
    edit = np.where(longest > 0, (1 - distances / np.maximum(longest, 1)) * 100, 100.0)
    f1 = release_f1(predicted, truth, best_gt, best_iou, overlaps)
    return _sum_in_order(accuracy) / n_videos, _sum_in_order(edit) / n_videos, f1


def release_f1(
    predicted: Segments,
    truth: Segments,
    best_gt: np.ndarray,
    best_iou: np.ndarray,
    overlaps: Sequence[float],
) -> list[float]:
    """Split F1 (percent) at each overlap: per-video F1 with the release's rules, then mean.

    ``best_gt``/``best_iou`` are the first argmax over overlapping same-label GT segments
    (-1 / 0 where there is none), with IoU from :func:`release_iou`.
    """
    n_videos = predicted.offsets.size - 1
    considered = _has_same_label_truth(predicted, truth)
    # Label-masked argmax that found nothing lands on the video's first GT segment.
    fallback = considered & (best_gt < 0)
    chosen = best_gt.copy()
    raw_iou = best_iou.copy()
    first_truth = truth.offsets[predicted.video[fallback]]
    chosen[fallback] = first_truth
    start, end = predicted.start[fallback], predicted.end[fallback]
    intersection = np.maximum(
        np.minimum(end, truth.end[first_truth]) - np.maximum(start, truth.start[first_truth]), 0
    )
    union = np.maximum(end, truth.end[first_truth]) - np.minimum(start, truth.start[first_truth])
    raw_iou[fallback] = release_iou(intersection, union)

    n_considered = np.bincount(predicted.video[considered], minlength=n_videos)
    n_truth = truth.counts
    has_prediction = predicted.counts > 0
    scores = []
    for overlap in overlaps:
        qualifies = considered & (raw_iou >= overlap)
        hit = np.zeros(truth.label.size, dtype=bool)
        hit[chosen[qualifies]] = True
        tp = np.bincount(truth.video[hit], minlength=n_videos)
        fp = n_considered - tp
        fn = n_truth - tp
        precision = tp / (tp + fp + RELEASE_EPSILON)
        recall = tp / (tp + fn + RELEASE_EPSILON)
        f1 = 2.0 * (precision * recall) / (precision + recall + RELEASE_EPSILON)
        f1 = np.where(has_prediction, np.nan_to_num(f1), 0.0)
        scores.append(100 * _sum_in_order(f1) / n_videos)
    return scores


def _sum_in_order(values: np.ndarray) -> float:
    """Left-to-right sum, as the release's ``+=`` loop over videos."""
    return float(np.cumsum(values)[-1])


def _has_same_label_truth(predicted: Segments, truth: Segments) -> np.ndarray:
    """Mask of predicted segments whose video has a GT segment with the same label."""
    _, dense = np.unique(np.r_[truth.label, predicted.label], return_inverse=True)
    n_labels = int(dense.max(initial=-1)) + 1
    truth_keys = truth.video * n_labels + dense[: truth.label.size]
    predicted_keys = predicted.video * n_labels + dense[truth.label.size :]
    return np.isin(predicted_keys, truth_keys)
