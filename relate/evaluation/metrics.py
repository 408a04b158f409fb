"""Temporal action segmentation metrics: frame accuracy, segmental Edit and F1@{10,25,50}.

One evaluator, three conventions (``CONVENTIONS``); docs/metrics.md has the full definitions:

* ``standard``: MS-TCN ``eval.py`` after its 2020 end-index fix. Acc is micro over the
  split's frames (background included); Edit is the mean over videos; TP/FP/FN of F1 are
  summed over the split. Background runs are dropped for Edit and F1 only.
* ``fact``: FACT's evaluator. Acc counts only frames whose GT is not background, F1 has
  1e-5 epsilons, and videos whose Edit is undefined (no segment on either side) are skipped.
* ``relate_release``: the RELATE authors' release evaluator, bug for bug (see
  :mod:`relate.evaluation.metrics_release`).

Implementation, with no Python loop per video or per frame: the split is integer-encoded
(:mod:`relate.evaluation.metrics_encode`; integer id arrays of the narrowest dtype,
:func:`id_dtype`,
are the fastest input), its runs found in blocks of videos (:mod:`relate.evaluation.metrics_scan`),
then segments, same-label overlaps (which also count Acc's correct frames), the IoU
matching and a Levenshtein row DP vectorised over videos run on all segments of the split
at once (:mod:`relate.evaluation.metrics_segments`, :mod:`relate.evaluation.metrics_match`).
:mod:`relate.evaluation.metrics_reference` is a plain-loop version of ``standard`` that the tests
compare against.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from relate.evaluation import metrics_release
from relate.evaluation.metrics_encode import PAST_TRUTH, EncodedSplit, encode_split, id_dtype
from relate.evaluation.metrics_match import Matched, match
from relate.evaluation.metrics_scan import Scan, scan_split
from relate.evaluation.metrics_segments import (
    Pairs,
    Segments,
    best_overlap,
    best_same_label_overlap,
    edit_distances,
    exact_iou,
    matched_truth,
    same_label_pairs,
)

__all__ = [
    "CONVENTIONS",
    "METRIC_KEYS",
    "OVERLAPS",
    "PAST_TRUTH",
    "EncodedSplit",
    "Matched",
    "Pairs",
    "Scan",
    "Segments",
    "average_splits",
    "best_overlap",
    "best_same_label_overlap",
    "edit_distances",
    "encode_split",
    "exact_iou",
    "id_dtype",
    "match",
    "matched_truth",
    "same_label_pairs",
    "score_split",
    "scan_split",
    "score_split_and_videos",
]

CONVENTIONS = ("standard", "fact", "relate_release")
OVERLAPS = (0.10, 0.25, 0.50)
METRIC_KEYS = ("acc", "edit", "f1@10", "f1@25", "f1@50")
FACT_EPSILON = 1e-5


def score_split(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Collection[Any] = (),
    convention: str = "standard",
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Score one split; returns ``{"acc", "edit", "f1@10", "f1@25", "f1@50"}`` in percent.

    Args:
        predictions: one frame-label sequence per video: a 1-D integer array (fastest,
            e.g. of :func:`id_dtype`), or a list of str/int.
        ground_truths: the GT sequences, same order and label type.
        background: labels dropped from Edit and F1 (and, for ``fact``, from Acc).
            ``relate_release`` accepts at most one.
        convention: one of ``CONVENTIONS``.
        names: video names, used only in error messages.

    Lengths: ``standard``/``fact`` do what MS-TCN's ``eval.py`` does with a prediction
    longer than its GT: Acc counts the GT's frames only, while Edit and F1 see the whole
    prediction (its extra frames can lengthen the last segment or add an FP segment); a
    shorter prediction is rejected. ``relate_release`` cuts both to the shorter length.

    Defined results where the official scripts crash or give nan: a video with no segment
    on either side has Edit 100 (``fact``: the video is skipped, and Edit is 100 if all
    are); a predicted segment in a video without GT segments is an FP (``standard``,
    ``fact``); ``standard`` F1 is 100 when TP + FP + FN = 0 and 0 when only TP = 0;
    ``fact`` Acc is 100 when no GT frame is foreground.

    Raises:
        ValueError: empty split, list lengths differ, a video has no frames, a prediction
            is shorter than its GT (``standard``/``fact``), an unknown convention, or
            several background labels with ``relate_release``.
        TypeError: ``background`` is a single string rather than a collection.
    """
    matched = _match(predictions, ground_truths, background, convention, names)
    return _split_scores(matched, convention)


def score_split_and_videos(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Collection[Any] = (),
    convention: str = "standard",
    names: Sequence[str] | None = None,
) -> tuple[dict[str, float], list[dict[str, float]]]:
    """:func:`score_split` of the split, and of each video alone (the same numbers as
    ``score_split([p], [t], ...)``), from one encoding for ``standard`` and ``fact``."""
    matched = _match(predictions, ground_truths, background, convention, names)
    split_result = _split_scores(matched, convention)
    if convention == "relate_release":
        labels = names if names is not None else [None] * len(ground_truths)
        per_video = [
            score_split([p], [t], background, convention, None if n is None else [n])
            for p, t, n in zip(predictions, ground_truths, labels)
        ]
        return split_result, per_video
    columns = _video_scores(matched, convention)
    return split_result, [dict(zip(METRIC_KEYS, row)) for row in zip(*columns)]


def average_splits(split_results: Sequence[dict[str, float]]) -> dict[str, float]:
    """Unweighted mean over splits of each metric (the papers' cross-validation number)."""
    if not split_results:
        raise ValueError("average_splits needs at least one split result")
    keys = list(split_results[0])
    for index, result in enumerate(split_results):
        if set(result) != set(keys):
            raise ValueError(f"split result {index} has keys {sorted(result)}, expected {keys}")
    n_splits = len(split_results)
    return {key: _sequential_sum([r[key] for r in split_results]) / n_splits for key in keys}


# --- scores from the matches -----------------------------------------------------------


def _match(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Collection[Any],
    convention: str,
    names: Sequence[str] | None,
) -> Matched:
    """Check the arguments, encode the split and match its segments."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; expected one of {CONVENTIONS}")
    if isinstance(background, (str, bytes)):
        raise TypeError(f"background must be a collection of labels, e.g. ({background!r},)")
    background = list(background)
    release = convention == "relate_release"
    if release and len(background) > 1:
        raise ValueError(
            f"relate_release takes a single background label, got {len(background)}: {background}"
        )
    split = encode_split(predictions, ground_truths, background, release, names)
    return match(split, metrics_release.release_iou if release else exact_iou, release)


def _split_scores(matched: Matched, convention: str) -> dict[str, float]:
    split, predicted, truth = matched.split, matched.predicted, matched.truth
    if convention == "relate_release":
        acc, edit, f1 = metrics_release.release_scores(
            matched.scan.correct_frames,
            split.bounds,
            predicted,
            truth,
            matched.distances,
            matched.best_gt,
            matched.best_iou,
            OVERLAPS,
        )
        return _result(acc, edit, f1)
    f1_score = _fact_f1 if convention == "fact" else _standard_f1
    f1 = []
    for hit in matched.hits(OVERLAPS):
        tp = np.count_nonzero(hit)
        f1.append(f1_score(tp, predicted.label.size - tp, truth.label.size - tp))
    longest = matched.longest
    if convention == "fact":
        # Acc over foreground GT frames; Edit skips videos with no segment on either side.
        scored = int(matched.foreground(False)[0])
        acc = 100.0 * int(matched.correct_foreground(False)[0]) / scored if scored else 100.0
        valid = longest > 0
        edit = (1 - matched.distances[valid] / longest[valid]) * 100
        return _result(acc, _sequential_sum(edit) / edit.size if edit.size else 100.0, f1)
    edit = _edit_scores(matched.distances, longest)
    acc = 100 * float(matched.correct(False)[0]) / split.truth_frames
    return _result(acc, _sequential_sum(edit) / split.n_videos, f1)


def _video_scores(matched: Matched, convention: str) -> list[list[float]]:
    """Per-video Acc, Edit and F1 columns (standard/fact), each video scored alone."""
    split, predicted, truth = matched.split, matched.predicted, matched.truth
    edit = _edit_scores(matched.distances, matched.longest)  # fact: 100 is its empty mean
    if convention == "fact":
        scored, right = matched.foreground(True), matched.correct_foreground(True)
        acc = np.where(scored > 0, 100.0 * right / np.maximum(scored, 1), 100.0)
    else:
        acc = 100 * matched.correct(True) / split.truth_lengths
    f1_score = _fact_f1 if convention == "fact" else _standard_f1
    columns = [acc, edit]
    for hit in matched.hits(OVERLAPS):
        tp = np.bincount(truth.video[hit], minlength=split.n_videos)
        columns.append(f1_score(tp, predicted.counts - tp, truth.counts - tp))
    return [column.tolist() for column in columns]


# --- reductions -------------------------------------------------------------------------


def _edit_scores(distances: np.ndarray, longest: np.ndarray) -> np.ndarray:
    """Per-video Edit in percent; 100 where neither side has a segment."""
    return np.where(longest > 0, (1 - distances / np.maximum(longest, 1)) * 100, 100.0)


def _standard_f1(tp: Any, fp: Any, fn: Any) -> Any:
    """F1 in percent (ints or arrays); 100 when TP + FP + FN = 0, 0 when TP = 0."""
    if np.ndim(tp) == 0:
        if tp + fp + fn == 0:
            return 100.0  # nothing to find and nothing predicted
        if tp == 0:
            return 0.0
        precision = tp / float(tp + fp)
        recall = tp / float(tp + fn)
        return 2.0 * (precision * recall) / (precision + recall) * 100
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp / (tp + fp).astype(np.float64)
        recall = tp / (tp + fn).astype(np.float64)
        f1 = 2.0 * (precision * recall) / (precision + recall) * 100
    return np.where(tp + fp + fn == 0, 100.0, np.where(tp == 0, 0.0, f1))


def _fact_f1(tp: Any, fp: Any, fn: Any) -> Any:
    """FACT's F1 in percent (ints or arrays), with 1e-5 epsilons."""
    precision = tp / (tp + fp + FACT_EPSILON)
    recall = tp / (tp + fn + FACT_EPSILON)
    return 2.0 * precision * recall / (precision + recall + FACT_EPSILON) * 100


def _sequential_sum(values: Any) -> float:
    """Left-to-right float sum, the order of the official scripts' ``+=`` loops."""
    array = np.asarray(values, dtype=np.float64)
    return float(np.cumsum(array)[-1]) if array.size else 0.0


def _result(acc: float, edit: float, f1: Sequence[float]) -> dict[str, float]:
    return dict(zip(METRIC_KEYS, (float(acc), float(edit), *map(float, f1))))
