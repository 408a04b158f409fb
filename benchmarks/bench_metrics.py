"""Benchmark relate.metrics.score_split against the pure-Python reference on real labels.

Usage::

    .venv/bin/python benchmarks/bench_metrics.py [--labels DIR] [--seed N] [--repeats R]
                                                 [--dtype {int64,int32,int16}]

For each Breakfast split, the test videos' ground truth is read (relate.data.layout) and a
prediction is derived from it deterministically: boundary shifts, label swaps and short
spurious fragments. Both evaluators score the split under the ``standard`` convention in
this process, each timed as the best of ``--repeats`` calls; the numbers must be identical.
Inputs are the same label ids for both: numpy arrays (int64 unless ``--dtype`` says
otherwise) for ``score_split`` and Python int lists for the reference (the fastest input of
each; the conversion is not timed). A
second table times both on the label-name lists themselves (``list[str]`` for both, the
string encoding included in the fast time).

The labels folder defaults to $RELATE_REAL_LABELS, else <repo>/../shared/data/real-labels;
without Breakfast labels there the benchmark prints why and exits 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from relate import metrics
from relate.data.layout import read_bundle, read_labels, read_mapping
from relate.metrics import score_split
from relate.metrics_reference import score_split_reference

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 50.0
TOLERANCE = 1e-9
FLOAT_FORMATS = ("", "", "", ".4f", ".3f", ".1f", "")


def default_labels_dir() -> Path:
    return Path(os.environ.get("RELATE_REAL_LABELS", REPO_ROOT.parent / "shared/data/real-labels"))


def perturb(truth: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A plausible prediction: shifted boundaries, swapped labels, spurious fragments."""
    change = np.flatnonzero(np.diff(truth)) + 1
    starts = np.r_[0, change]
    lengths = np.diff(np.r_[starts, truth.size])
    labels = truth[starts].copy()
    # Boundary shifts: move each inner boundary by up to 15% of the shorter neighbour.
    for i in range(1, starts.size):
        room = int(min(lengths[i - 1], lengths[i]) * 0.15)
        shift = int(rng.integers(-room, room + 1)) if room else 0
        lengths[i - 1] += shift
        lengths[i] -= shift
    # Label swaps: 10% of the segments take another class.
    swap = rng.random(labels.size) < 0.10
    labels[swap] = (labels[swap] + rng.integers(1, n_classes, swap.sum())) % n_classes
    predicted = np.repeat(labels, lengths)
    # Over-segmentation: about one 2-12 frame fragment of a random class per 400 frames.
    for _ in range(int(rng.poisson(truth.size / 400))):
        length = int(rng.integers(2, 13))
        start = int(rng.integers(0, max(truth.size - length, 1)))
        predicted[start : start + length] = rng.integers(0, n_classes)
    return predicted


def timed(function: Callable[[], dict[str, float]], repeats: int) -> tuple[float, dict[str, float]]:
    """Best wall time of ``repeats`` calls (time.perf_counter) and the last result."""
    best = float("inf")
    result: dict[str, float] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def identical(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < TOLERANCE for k in a)


def run_table(
    splits: list[tuple[int, list[Any], list[Any], list[Any], list[Any]]], repeats: int
) -> tuple[list[list[Any]], float, float, bool]:
    """Rows of one timing table; inputs are (split, fast preds, fast GTs, ref preds, ref GTs)."""
    rows = []
    total_fast = total_reference = 0.0
    all_identical = True
    for split, fast_pred, fast_truth, ref_pred, ref_truth in splits:
        fast_s, fast = timed(lambda p=fast_pred, t=fast_truth: score_split(p, t), repeats)
        ref_s, reference = timed(
            lambda p=ref_pred, t=ref_truth: score_split_reference(p, t), repeats
        )
        same = identical(fast, reference)
        if not same:
            raise AssertionError(f"split {split}: score_split {fast} != reference {reference}")
        all_identical &= same
        total_fast += fast_s
        total_reference += ref_s
        frames = sum(len(t) for t in ref_truth)
        rows.append([split, len(ref_truth), frames, fast_s, ref_s, ref_s / fast_s, same])
    videos = sum(r[1] for r in rows)
    frames = sum(r[2] for r in rows)
    rows.append(
        [
            "total",
            videos,
            frames,
            total_fast,
            total_reference,
            total_reference / total_fast,
            all_identical,
        ]
    )
    return rows, total_fast, total_reference, all_identical


def breakdown(predictions: list[Any], truths: list[Any], repeats: int) -> list[list[Any]]:
    """Best-of-``repeats`` milliseconds of each step of ``score_split`` (standard) on one split."""
    split = metrics.encode_split(predictions, truths, [], False)
    predicted = metrics.find_segments(split.predicted, split.bounds, split.background)
    truth = metrics.find_segments(split.truth, split.bounds, split.background)
    best_gt, best_iou = metrics.best_same_label_overlap(predicted, truth, metrics._exact_iou)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("concatenate and encode", lambda: metrics.encode_split(predictions, truths, [], False)),
        (
            "find runs, prediction and GT",
            lambda: (
                metrics.find_segments(split.predicted, split.bounds, split.background),
                metrics.find_segments(split.truth, split.bounds, split.background),
            ),
        ),
        ("count correct frames", lambda: np.count_nonzero(split.predicted == split.truth)),
        ("Edit DP", lambda: metrics.edit_distances(predicted, truth)),
        (
            "IoU matching",
            lambda: metrics.best_same_label_overlap(predicted, truth, metrics._exact_iou),
        ),
        (
            "thresholds",
            lambda: [
                metrics._matched_truth(truth, best_gt, best_iou >= k).sum()
                for k in metrics.OVERLAPS
            ],
        ),
        ("score_split, whole", lambda: score_split(predictions, truths)),
    ]
    return [[name, 1000 * timed(step, repeats)[0]] for name, step in steps]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=default_labels_dir())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="time each as the best of R calls")
    parser.add_argument(
        "--dtype",
        default="int64",
        choices=["int64", "int32", "int16"],
        help="dtype of the label-id arrays given to score_split",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time each step of score_split on split 4 (best of 30)",
    )
    args = parser.parse_args(argv)

    root = args.labels / "breakfast"
    if not (root / "mapping.txt").is_file() or not (root / "groundTruth").is_dir():
        print(f"Breakfast labels not found under {root}; skipping the metrics benchmark.")
        return 0
    mapping = read_mapping(root / "mapping.txt")
    names = {index: name for name, index in mapping.items()}
    n_classes = max(mapping.values()) + 1

    coded, named = [], []
    for split in range(1, 5):
        rng = np.random.default_rng([args.seed, split])
        videos = read_bundle(root / "splits" / f"test.split{split}.bundle")
        truths = [read_labels(root / "groundTruth" / f"{video}.txt", mapping) for video in videos]
        truth_ids = [np.array([mapping[x] for x in t], dtype=np.int64) for t in truths]
        pred_ids = [perturb(t, n_classes, rng) for t in truth_ids]
        coded.append(
            (
                split,
                [p.astype(args.dtype) for p in pred_ids],
                [t.astype(args.dtype) for t in truth_ids],
                [p.tolist() for p in pred_ids],
                [t.tolist() for t in truth_ids],
            )
        )
        pred_names = [[names[i] for i in p.tolist()] for p in pred_ids]
        named.append((split, pred_names, truths, pred_names, truths))

    headers = [
        "split",
        "videos",
        "frames",
        "seconds fast",
        "seconds pure-Python",
        "ratio",
        "identical",
    ]
    print(
        f"Breakfast test splits, seed {args.seed}, standard convention, best of {args.repeats}; "
        f"Python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"Inputs: label ids ({args.dtype} arrays for score_split, int lists for the reference)")
    rows, fast_s, ref_s, same = run_table(coded, args.repeats)
    print(tabulate(rows, headers=headers, floatfmt=FLOAT_FORMATS))
    ratio = ref_s / fast_s
    met = ratio >= TARGET_RATIO
    verdict = "met" if met else "NOT met"
    print(f"overall ratio {ratio:.1f}x; target >= {TARGET_RATIO:.0f}x: {verdict}")

    print()
    print("Inputs: label names (the same list[str] for both; encoding included)")
    rows, fast_s, ref_s, _ = run_table(named, args.repeats)
    print(tabulate(rows, headers=headers, floatfmt=FLOAT_FORMATS))
    print(f"overall ratio {ref_s / fast_s:.1f}x")
    if args.breakdown:
        _, predictions, truths, _, _ = coded[3]
        print()
        print(f"Steps of score_split on split 4 ({args.dtype} ids), best of 30")
        print(tabulate(breakdown(predictions, truths, 30), headers=["step", "ms"], floatfmt=".2f"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
