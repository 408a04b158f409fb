"""A plain pure-Python implementation of the ``standard`` convention, slow on purpose.

It follows the MS-TCN ``eval.py`` definitions (after the 2020 end-index fix) with loops over
frames and segments and no numpy, so that it can be read line by line and checked by hand.
Tests use it as an oracle for :func:`relate.evaluation.metrics.score_split`;
benchmarks/bench_metrics.py
uses it as the baseline. It gives the same defined results as ``score_split`` where the
official script crashes or returns nan (see docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

OVERLAPS = (0.10, 0.25, 0.50)


def score_split_reference(
    predictions: Sequence[Sequence[Any]],
    ground_truths: Sequence[Sequence[Any]],
    background: Collection[Any] = (),
) -> dict[str, float]:
    """Acc, Edit and F1@{10,25,50} (percent) of one split under the standard convention."""
    if len(predictions) != len(ground_truths):
        raise ValueError(f"{len(predictions)} predictions but {len(ground_truths)} ground truths")
    if len(ground_truths) == 0:
        raise ValueError("cannot score an empty split (no videos)")
    background = list(background)

    correct = 0
    total = 0
    edit_sum = 0.0
    tp = [0, 0, 0]
    fp = [0, 0, 0]
    fn = [0, 0, 0]
    for index, (predicted, truth) in enumerate(zip(predictions, ground_truths)):
        predicted, truth = list(predicted), list(truth)
        if len(predicted) < len(truth):
            raise ValueError(
                f"video {index}: prediction has {len(predicted)} frames, shorter than its "
                f"ground truth ({len(truth)} frames)"
            )
        if len(truth) == 0:
            raise ValueError(f"video {index}: no frames to score")
        # As MS-TCN's eval.py: Acc counts the GT's frames; Edit and F1 see the whole
        # prediction, including any frames past the GT's end.

        for frame in range(len(truth)):
            total += 1
            if predicted[frame] == truth[frame]:
                correct += 1

        predicted_segments = segments(predicted, background)
        truth_segments = segments(truth, background)
        edit_sum += edit_score(
            [label for label, _, _ in predicted_segments],
            [label for label, _, _ in truth_segments],
        )
        for k, overlap in enumerate(OVERLAPS):
            counts = match_counts(predicted_segments, truth_segments, overlap)
            tp[k] += counts[0]
            fp[k] += counts[1]
            fn[k] += counts[2]

    result = {
        "acc": 100 * float(correct) / total,
        "edit": edit_sum / len(ground_truths),
    }
    for k, key in enumerate(("f1@10", "f1@25", "f1@50")):
        result[key] = f1_score(tp[k], fp[k], fn[k])
    return result


def segments(labels: list[Any], background: list[Any]) -> list[tuple[Any, int, int]]:
    """(label, start, exclusive end) of each run of equal labels, background runs dropped."""
    runs = []
    start = 0
    for frame in range(1, len(labels) + 1):
        if frame == len(labels) or labels[frame] != labels[start]:
            if labels[start] not in background:
                runs.append((labels[start], start, frame))
            start = frame
    return runs


def levenshtein(first: list[Any], second: list[Any]) -> int:
    """Edit distance (insertions, deletions, substitutions all cost 1)."""
    previous = list(range(len(second) + 1))
    for i in range(1, len(first) + 1):
        current = [i] + [0] * len(second)
        for j in range(1, len(second) + 1):
            substitution = 0 if first[i - 1] == second[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + substitution)
        previous = current
    return previous[len(second)]


def edit_score(predicted_labels: list[Any], truth_labels: list[Any]) -> float:
    """(1 - distance / longer length) x 100; 100 when both sequences are empty."""
    longest = max(len(predicted_labels), len(truth_labels))
    if longest == 0:
        return 100.0
    return (1 - levenshtein(predicted_labels, truth_labels) / longest) * 100


def match_counts(
    predicted: list[tuple[Any, int, int]], truth: list[tuple[Any, int, int]], overlap: float
) -> tuple[int, int, int]:
    """(TP, FP, FN): each predicted segment, in order, tries its best-IoU GT segment."""
    tp = 0
    fp = 0
    hit = [False] * len(truth)
    for label, start, end in predicted:
        best_index = -1
        best_iou = 0.0
        for index, (truth_label, truth_start, truth_end) in enumerate(truth):
            if truth_label != label:
                continue
            intersection = min(end, truth_end) - max(start, truth_start)
            union = max(end, truth_end) - min(start, truth_start)
            iou = intersection / union
            if iou > best_iou:  # strict: the first of equal IoUs wins
                best_index, best_iou = index, iou
        if best_index >= 0 and best_iou >= overlap and not hit[best_index]:
            tp += 1
            hit[best_index] = True
        else:
            fp += 1
    return tp, fp, len(truth) - tp


def f1_score(tp: int, fp: int, fn: int) -> float:
    """F1 in percent; 100 when there is nothing to find and nothing predicted, 0 if TP = 0."""
    if tp + fp + fn == 0:
        return 100.0
    if tp == 0:
        return 0.0
    precision = tp / float(tp + fp)
    recall = tp / float(tp + fn)
    return 2.0 * (precision * recall) / (precision + recall) * 100
