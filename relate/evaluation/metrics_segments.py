"""Segments of a split, their Levenshtein distances and IoU matching, in numpy passes.

Segments of all videos share one frame axis (:mod:`relate.evaluation.metrics_scan` finds them); no
Python loop runs per video or per segment, only one per row of the Edit DP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

IouFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Segments:
    """Non-background runs of equal labels, in split-global frame coordinates.

    Ends are exclusive. Segments of video ``v`` are ``[offsets[v], offsets[v + 1])``.
    """

    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def video(self) -> np.ndarray:
        """The video of each segment."""
        return np.repeat(np.arange(self.offsets.size - 1), self.counts)

    def subset(self, keep: np.ndarray) -> Segments:
        """The segments where ``keep``, still grouped by video."""
        offsets = np.r_[0, np.cumsum(keep)][self.offsets]
        return Segments(self.label[keep], self.start[keep], self.end[keep], offsets)


def edit_distances(first: Segments, second: Segments) -> np.ndarray:
    """Levenshtein distance between the segment-label sequences of each video.

    Row DP over the side with fewer segments, vectorised over videos: each video owns
    ``cols + 1`` consecutive slots of one flat row, videos sorted by row count so the ones
    still running are a prefix. The row holds ``E = D - k - video * big`` (``k`` the column):
    then ``D[i, k] = min(D[i, k - 1] + 1, ...)`` is a plain running minimum of ``E``, and
    ``big = 2 * rows + 1`` keeps that minimum inside each video, as ``D - k`` lies in
    ``[-rows, rows]``.
    """
    rows, cols = first.counts, second.counts
    if rows.max(initial=0) > cols.max(initial=0):
        first, second, rows, cols = second, first, cols, rows
    distances = cols.copy()  # right for videos whose `first` side is empty
    active = np.flatnonzero(rows)
    if active.size == 0:
        return distances
    order = active[np.argsort(-rows[active], kind="stable")]
    sorted_rows, sorted_cols = rows[order], cols[order]
    n_rows = int(sorted_rows[0])
    big = 2 * n_rows + 1
    width = sorted_cols + 1
    base = np.cumsum(width) - width  # first slot of each (sorted) video
    n_slots = int(base[-1] + width[-1])
    fits = (order.size + 1) * big + int(sorted_cols.max()) < np.iinfo(np.int32).max
    dtype = np.int32 if fits else np.int64
    slot_video = np.repeat(np.arange(order.size), width)
    column = np.arange(n_slots) - base[slot_video]
    column_label = second.label[np.maximum(second.offsets[order][slot_video] + column - 1, 0)]
    row_start = first.offsets[order]
    first_column = (-big * np.arange(order.size)).astype(dtype)  # E[i, 0] - i
    # running[i]: videos with at least i + 1 rows (a prefix of the sorted videos).
    running = np.searchsorted(-sorted_rows, -np.arange(1, n_rows + 2), side="right")
    previous = first_column[slot_video]  # row 0: D = k, so E = -video * big
    final = np.empty(n_slots, dtype=dtype)  # each video's last row
    for i in range(1, n_rows + 1):
        n_running, n_next = int(running[i - 1]), int(running[i])
        n = int(base[n_running]) if n_running < order.size else n_slots
        same = column_label[:n] == np.repeat(
            first.label[row_start[:n_running] + (i - 1)], width[:n_running]
        )
        current = np.empty(n, dtype=dtype)
        np.subtract(previous[: n - 1], same[1:], out=current[1:])  # diagonal: E - 1 + cost
        np.minimum(current[1:], previous[1:n] + 1, out=current[1:])  # vertical: E + 1
        current[base[:n_running]] = first_column[:n_running] + i  # D[i, 0] = i
        np.minimum.accumulate(current, out=current)  # horizontal: E unchanged
        if n_next < n_running:  # videos whose last row is i
            done = int(base[n_next])
            final[done:n] = current[done:]
        previous = current
    last = final[base + sorted_cols].astype(np.int64)
    distances[order] = last + sorted_cols + big * np.arange(order.size)
    return distances


def exact_iou(intersection: np.ndarray, union: np.ndarray) -> np.ndarray:
    """float64 ``intersection / union``, as MS-TCN's eval.py."""
    return intersection / union


@dataclass(frozen=True)
class Pairs:
    """Overlapping (predicted, GT) segments of the same label, by predicted segment.

    Every frame where the prediction equals the GT lies in exactly one such pair's
    intersection, so the intersections also count the frames Acc scores.
    """

    owner: np.ndarray
    """Index of the predicted segment (non-decreasing)."""
    candidate: np.ndarray
    """Index of the GT segment."""
    intersection: np.ndarray
    union: np.ndarray

    def subset(self, keep: np.ndarray, owner: np.ndarray, candidate: np.ndarray) -> Pairs:
        """The pairs where ``keep``, with segment indices renumbered by the two maps."""
        return Pairs(
            owner[self.owner[keep]],
            candidate[self.candidate[keep]],
            self.intersection[keep],
            self.union[keep],
        )


def same_label_pairs(predicted: Segments, truth: Segments) -> Pairs:
    """All overlapping same-label pairs: for each predicted segment, the GT segments that
    overlap it are a contiguous range of the sorted, disjoint GT segments."""
    first = _count_before(truth.end, predicted.start, ties_before=True)
    counts = _count_before(truth.start, predicted.end, ties_before=False) - first
    owner = np.repeat(np.arange(predicted.label.size), counts)
    candidate = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts - first, counts)
    same = truth.label[candidate] == predicted.label[owner]
    owner, candidate = owner[same], candidate[same]
    truth_start, truth_end = truth.start[candidate], truth.end[candidate]
    start, end = predicted.start[owner], predicted.end[owner]
    intersection = np.minimum(truth_end, end) - np.maximum(truth_start, start)
    union = np.maximum(truth_end, end) - np.minimum(truth_start, start)
    return Pairs(owner, candidate, intersection, union)


def best_overlap(pairs: Pairs, n_predicted: int, iou: IouFunction) -> tuple[np.ndarray, np.ndarray]:
    """For each predicted segment, the GT segment of its pairs with the highest IoU (the
    first on ties). Returns ``(best_gt, best_iou)``; -1 and 0 where it has no pair."""
    owner, values = pairs.owner, iou(pairs.intersection, pairs.union)
    best_gt = np.full(n_predicted, -1, dtype=np.int64)
    best_iou = np.zeros(n_predicted, dtype=values.dtype)
    if owner.size == 0:
        return best_gt, best_iou
    group = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    group_max = np.maximum.reduceat(values, group)
    at_max = np.flatnonzero(values == np.repeat(group_max, np.diff(np.r_[group, owner.size])))
    first_at_max = at_max[np.r_[True, owner[at_max][1:] != owner[at_max][:-1]]]
    best_gt[owner[group]] = pairs.candidate[first_at_max]
    best_iou[owner[group]] = group_max
    return best_gt, best_iou


def best_same_label_overlap(
    predicted: Segments, truth: Segments, iou: IouFunction
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`best_overlap` of :func:`same_label_pairs`: for each predicted segment, the
    same-label GT segment with the highest IoU (-1 and 0 where none overlaps)."""
    return best_overlap(same_label_pairs(predicted, truth), predicted.label.size, iou)


def _count_before(values: np.ndarray, keys: np.ndarray, ties_before: bool) -> np.ndarray:
    """``np.searchsorted(values, keys, side="right" if ties_before else "left")`` for sorted
    ``keys``: one stable merge of the two sorted arrays, several times faster."""
    if ties_before:
        order = np.argsort(np.concatenate([values, keys]), kind="stable")
        is_key = order >= values.size
    else:
        order = np.argsort(np.concatenate([keys, values]), kind="stable")
        is_key = order < keys.size
    return np.flatnonzero(is_key) - np.arange(keys.size)


def matched_truth(truth: Segments, best_gt: np.ndarray, qualifies: np.ndarray) -> np.ndarray:
    """Boolean mask of GT segments hit by at least one qualifying predicted segment.

    The greedy rule (TP iff the best GT segment is not yet hit) makes TP the number of
    distinct best GT segments among qualifying predictions.
    """
    hit = np.zeros(truth.label.size, dtype=bool)
    hit[best_gt[qualifies]] = True
    return hit
