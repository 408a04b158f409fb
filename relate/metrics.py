"""Temporal action segmentation metrics: frame accuracy, segmental Edit and F1@{10,25,50}.

One evaluator, three conventions (``CONVENTIONS``); docs/metrics.md has the full definitions:

* ``standard``: MS-TCN ``eval.py`` after its 2020 end-index fix. Acc is micro over the
  split's frames (background included); Edit is the mean over videos; TP/FP/FN of F1 are
  summed over the split. Background runs are dropped for Edit and F1 only.
* ``fact``: FACT's evaluator. Acc counts only frames whose GT is not background, F1 has
  1e-5 epsilons, and videos whose Edit is undefined (no segment on either side) are skipped.
* ``relate_release``: the RELATE authors' release evaluator, bug for bug (see
  :mod:`relate.metrics_release`).

Implementation: the videos of a split are integer-encoded and concatenated into one frame
axis, so segments, accuracy and the IoU matching run as a few numpy passes over the whole
split; Edit is a Levenshtein row DP vectorised over videos. :mod:`relate.metrics_reference`
is a plain-loop version of ``standard`` that the tests compare against.
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from relate import metrics_release

logger = logging.getLogger(__name__)

CONVENTIONS = ("standard", "fact", "relate_release")
OVERLAPS = (0.10, 0.25, 0.50)
METRIC_KEYS = ("acc", "edit", "f1@10", "f1@25", "f1@50")
FACT_EPSILON = 1e-5
PAST_TRUTH = -1
"""Code of GT frames past the GT's end when a prediction is longer (standard, fact)."""

IouFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EncodedSplit:
    """A split as integer codes, all videos concatenated along one frame axis.

    Frames of video ``v`` are ``[bounds[v], bounds[v + 1])`` in both arrays.
    """

    predicted: np.ndarray
    truth: np.ndarray
    bounds: np.ndarray
    background: np.ndarray
    truth_frames: int
    """GT frames scored by Acc. Where a prediction runs past its GT, ``truth`` is padded
    with the code ``PAST_TRUTH`` (also in ``background``, never a predicted code)."""

    @property
    def n_videos(self) -> int:
        return self.bounds.size - 1


@dataclass(frozen=True)
class Segments:
    """Non-background runs of equal labels, in split-global frame coordinates.

    Ends are exclusive. Segments of video ``v`` are ``[offsets[v], offsets[v + 1])``.
    """

    label: np.ndarray
    start: np.ndarray
    end: np.ndarray
    video: np.ndarray
    offsets: np.ndarray

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def score_split(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Collection[Any] = (),
    convention: str = "standard",
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Score one split; returns ``{"acc", "edit", "f1@10", "f1@25", "f1@50"}`` in percent.

    Args:
        predictions: one frame-label sequence per video (list of str/int or 1-D array).
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
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown convention {convention!r}; expected one of {CONVENTIONS}")
    if isinstance(background, (str, bytes)):
        raise TypeError(f"background must be a collection of labels, e.g. ({background!r},)")
    background = list(background)
    if convention == "relate_release" and len(background) > 1:
        raise ValueError(
            f"relate_release takes a single background label, got {len(background)}: {background}"
        )
    split = encode_split(
        predictions, ground_truths, background, convention == "relate_release", names
    )
    predicted = find_segments(split.predicted, split.bounds, split.background)
    truth = find_segments(split.truth, split.bounds, split.background)
    logger.debug(
        "%s: %d videos, %d frames, %d predicted and %d GT segments",
        convention,
        split.n_videos,
        split.truth.size,
        predicted.label.size,
        truth.label.size,
    )
    distances = edit_distances(predicted, truth)
    longest = np.maximum(predicted.counts, truth.counts)

    if convention == "relate_release":
        best_gt, best_iou = best_same_label_overlap(predicted, truth, metrics_release.release_iou)
        acc, edit, f1 = metrics_release.release_scores(
            split.predicted == split.truth,
            split.bounds,
            predicted,
            truth,
            distances,
            best_gt,
            best_iou,
            OVERLAPS,
        )
        return _result(acc, edit, f1)

    best_gt, best_iou = best_same_label_overlap(predicted, truth, _exact_iou)
    f1 = []
    for overlap in OVERLAPS:
        tp = _matched_truth(truth, best_gt, best_iou >= overlap).sum()
        fp = predicted.label.size - tp
        fn = truth.label.size - tp
        f1.append(_fact_f1(tp, fp, fn) if convention == "fact" else _standard_f1(tp, fp, fn))
    correct = split.predicted == split.truth
    if convention == "fact":
        # Acc over foreground GT frames; Edit skips videos with no segment on either side.
        foreground = ~np.isin(split.truth, split.background)
        scored = int(np.count_nonzero(foreground))
        acc = 100.0 * int(np.count_nonzero(correct & foreground)) / scored if scored else 100.0
        valid = longest > 0
        edit = (1 - distances[valid] / longest[valid]) * 100
        return _result(acc, _sequential_sum(edit) / edit.size if edit.size else 100.0, f1)
    edit = np.where(longest > 0, (1 - distances / np.maximum(longest, 1)) * 100, 100.0)
    acc = 100 * float(np.count_nonzero(correct)) / split.truth_frames
    return _result(acc, _sequential_sum(edit) / split.n_videos, f1)


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


# --- encoding -------------------------------------------------------------------------------


def encode_split(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Sequence[Any],
    truncate_truth: bool,
    names: Sequence[str] | None = None,
) -> EncodedSplit:
    """Check lengths, align each prediction to its GT, and integer-encode the split.

    ``truncate_truth=False`` (standard/fact): a shorter prediction raises; a longer one is
    kept whole and its GT is padded with ``PAST_TRUTH``. ``True`` (release): both are cut
    to the shorter length.
    """
    n_videos = len(ground_truths)
    if len(predictions) != n_videos:
        raise ValueError(f"{len(predictions)} predictions but {n_videos} ground truths")
    if n_videos == 0:
        raise ValueError("cannot score an empty split (no videos)")
    if names is not None and len(names) != n_videos:
        raise ValueError(f"{len(names)} names for {n_videos} videos")

    def video(index: int) -> str:
        return names[index] if names is not None else f"video {index}"

    truth_lengths = np.fromiter(map(len, ground_truths), dtype=np.int64, count=n_videos)
    predicted_lengths = np.fromiter(map(len, predictions), dtype=np.int64, count=n_videos)
    lengths = np.minimum(truth_lengths, predicted_lengths)
    padded = not truncate_truth and bool(np.any(predicted_lengths > truth_lengths))
    short = np.flatnonzero(predicted_lengths < truth_lengths)
    if short.size and not truncate_truth:
        i = int(short[0])
        raise ValueError(
            f"{video(i)}: prediction has {predicted_lengths[i]} frames, shorter than its "
            f"ground truth ({truth_lengths[i]} frames)"
        )
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        i = int(empty[0])
        raise ValueError(
            f"{video(i)}: no frames to score (prediction {predicted_lengths[i]}, "
            f"ground truth {truth_lengths[i]})"
        )
    truth_frames = int(lengths.sum())
    if padded:
        lengths = predicted_lengths
    bounds = np.zeros(n_videos + 1, dtype=np.int64)
    np.cumsum(lengths, out=bounds[1:])
    total = int(bounds[-1])
    cut = lengths.tolist()

    sequences = itertools.chain(predictions, ground_truths)
    if not padded and all(
        isinstance(s, np.ndarray) and s.ndim == 1 and s.dtype.kind in "iub" for s in sequences
    ):
        parts = [s if len(s) == n else s[:n] for s, n in zip(predictions, cut)]
        parts += [s if len(s) == n else s[:n] for s, n in zip(ground_truths, cut)]
        both = np.concatenate(parts)  # one allocation for predictions and GT
        if both.dtype.kind in "iub":  # (uint64 with int64 would promote to float)
            codes = [b for b in background if isinstance(b, (int, np.integer))]
            codes_array = np.array(codes, np.int64)
            return EncodedSplit(both[:total], both[total:], bounds, codes_array, truth_frames)

    # Any other label type: one shared dictionary gives every distinct label a code.
    table: defaultdict[Any, int] = defaultdict(itertools.count().__next__)

    def encode(sequences: Sequence[Any]) -> np.ndarray:
        frames = itertools.chain.from_iterable(
            itertools.islice(_as_iterable(s), n) for s, n in zip(sequences, cut)
        )
        return np.fromiter(map(table.__getitem__, frames), dtype=np.int64, count=total)

    def encode_padded_truth() -> np.ndarray:
        frames = itertools.chain.from_iterable(
            itertools.chain(
                map(table.__getitem__, _as_iterable(s)), itertools.repeat(PAST_TRUTH, n - len(s))
            )
            for s, n in zip(ground_truths, cut)
        )
        return np.fromiter(frames, dtype=np.int64, count=total)

    truth = encode_padded_truth() if padded else encode(ground_truths)
    predicted = encode(predictions)
    codes = [table[b] for b in background] + ([PAST_TRUTH] if padded else [])
    return EncodedSplit(predicted, truth, bounds, np.array(codes, dtype=np.int64), truth_frames)


def _as_iterable(sequence: Any) -> Any:
    if not isinstance(sequence, np.ndarray):
        return sequence
    if sequence.ndim != 1:
        raise ValueError(f"a video's labels must be 1-D, got shape {sequence.shape}")
    return sequence.tolist()


# --- segments, Edit, matching --------------------------------------------------------------


def find_segments(codes: np.ndarray, bounds: np.ndarray, background: np.ndarray) -> Segments:
    """Runs of equal codes (a run never crosses a video boundary), background runs dropped."""
    starts_run = np.empty(codes.size, dtype=bool)
    starts_run[0] = True
    np.not_equal(codes[1:], codes[:-1], out=starts_run[1:])
    starts_run[bounds[:-1]] = True
    start = np.flatnonzero(starts_run)
    end = np.empty_like(start)
    end[:-1] = start[1:]
    end[-1] = codes.size
    label = codes[start]
    if background.size:
        keep = ~np.isin(label, background)
        start, end, label = start[keep], end[keep], label[keep]
    offsets = np.searchsorted(start, bounds)
    video = np.repeat(np.arange(bounds.size - 1), np.diff(offsets))
    return Segments(label, start, end, video, offsets)


def edit_distances(first: Segments, second: Segments) -> np.ndarray:
    """Levenshtein distance between the segment-label sequences of each video.

    Row DP over the side with fewer segments, vectorised over videos: each video owns
    ``cols + 1`` consecutive slots of one flat row, videos sorted by row count so the ones
    still running are a prefix. In a row, ``D[i, k] = min_k' (T[k'] + k - k')`` is a running
    minimum of ``T - k``; subtracting ``video * big`` keeps that minimum inside each video.
    """
    rows, cols = first.counts, second.counts
    if rows.max(initial=0) > cols.max(initial=0):
        first, second, rows, cols = second, first, cols, rows
    distances = cols.copy()  # right for videos whose `first` side is empty
    n_rows = int(rows.max(initial=0))
    if n_rows == 0:
        return distances
    order = np.argsort(-rows, kind="stable")
    sorted_rows, sorted_cols = rows[order], cols[order]
    width = sorted_cols + 1
    base = np.cumsum(width) - width  # first slot of each (sorted) video
    slot_video = np.repeat(np.arange(order.size), width)
    column = np.arange(slot_video.size) - base[slot_video]
    big = n_rows + int(sorted_cols.max()) + 1
    shift = column + slot_video * big
    column_label = second.label[np.maximum(second.offsets[order][slot_video] + column - 1, 0)]
    row_start = first.offsets[order]
    running = np.searchsorted(-sorted_rows, -np.arange(1, n_rows + 1), side="right")
    last_slot = base + sorted_cols
    previous = column
    for i in range(1, n_rows + 1):
        n_running = int(running[i - 1])
        n_slots = int(base[n_running]) if n_running < order.size else slot_video.size
        row_label = first.label[row_start[:n_running] + (i - 1)]
        substitution = column_label[:n_slots] != row_label[slot_video[:n_slots]]
        current = np.empty(n_slots, dtype=np.int64)
        np.minimum(
            previous[1:n_slots] + 1, previous[: n_slots - 1] + substitution[1:], out=current[1:]
        )
        current[base[:n_running]] = i  # D[i, 0] = i
        current -= shift[:n_slots]
        np.minimum.accumulate(current, out=current)
        current += shift[:n_slots]
        done = np.flatnonzero(sorted_rows[:n_running] == i)
        distances[order[done]] = current[last_slot[done]]
        previous = current
    return distances


def _exact_iou(intersection: np.ndarray, union: np.ndarray) -> np.ndarray:
    return intersection / union  # float64 division, as MS-TCN's eval.py


def best_same_label_overlap(
    predicted: Segments, truth: Segments, iou: IouFunction
) -> tuple[np.ndarray, np.ndarray]:
    """For each predicted segment, the GT segment with the highest IoU (first on ties).

    Only same-label GT segments that overlap it can have IoU > 0, and they are found by
    binary search on the sorted, disjoint GT segments. Returns ``(best_gt, best_iou)``;
    ``best_gt`` is -1 and ``best_iou`` 0 where no same-label GT segment overlaps.
    """
    n_predicted = predicted.label.size
    first = np.searchsorted(truth.end, predicted.start, side="right")
    stop = np.searchsorted(truth.start, predicted.end, side="left")
    counts = stop - first
    owner = np.repeat(np.arange(n_predicted), counts)
    candidate = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts - first, counts)
    same = truth.label[candidate] == predicted.label[owner]
    owner, candidate = owner[same], candidate[same]
    intersection = np.minimum(truth.end[candidate], predicted.end[owner]) - np.maximum(
        truth.start[candidate], predicted.start[owner]
    )
    union = np.maximum(truth.end[candidate], predicted.end[owner]) - np.minimum(
        truth.start[candidate], predicted.start[owner]
    )
    values = iou(intersection, union)
    best_gt = np.full(n_predicted, -1, dtype=np.int64)
    best_iou = np.zeros(n_predicted, dtype=values.dtype)
    if owner.size == 0:
        return best_gt, best_iou
    group = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    group_max = np.maximum.reduceat(values, group)
    at_max = np.flatnonzero(values == np.repeat(group_max, np.diff(np.r_[group, owner.size])))
    first_at_max = at_max[np.r_[True, owner[at_max][1:] != owner[at_max][:-1]]]
    best_gt[owner[group]] = candidate[first_at_max]
    best_iou[owner[group]] = group_max
    return best_gt, best_iou


def _matched_truth(truth: Segments, best_gt: np.ndarray, qualifies: np.ndarray) -> np.ndarray:
    """Boolean mask of GT segments hit by at least one qualifying predicted segment.

    The greedy rule (TP iff the best GT segment is not yet hit) makes TP the number of
    distinct best GT segments among qualifying predictions.
    """
    hit = np.zeros(truth.label.size, dtype=bool)
    hit[best_gt[qualifies]] = True
    return hit


# --- reductions -------------------------------------------------------------------------


def _standard_f1(tp: int, fp: int, fn: int) -> float:
    if tp + fp + fn == 0:
        return 100.0  # nothing to find and nothing predicted
    if tp == 0:
        return 0.0
    precision = tp / float(tp + fp)
    recall = tp / float(tp + fn)
    return 2.0 * (precision * recall) / (precision + recall) * 100


def _fact_f1(tp: int, fp: int, fn: int) -> float:
    precision = tp / (tp + fp + FACT_EPSILON)
    recall = tp / (tp + fn + FACT_EPSILON)
    return 2.0 * precision * recall / (precision + recall + FACT_EPSILON) * 100


def _sequential_sum(values: Any) -> float:
    """Left-to-right float sum, the order of the official scripts' ``+=`` loops."""
    array = np.asarray(values, dtype=np.float64)
    return float(np.cumsum(array)[-1]) if array.size else 0.0


def _result(acc: float, edit: float, f1: Sequence[float]) -> dict[str, float]:
    return dict(zip(METRIC_KEYS, (float(acc), float(edit), *map(float, f1))))
