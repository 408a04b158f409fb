"""Benchmark relate.evaluation.metrics.score_split against the pure-Python reference on real labels.

Usage::

    .venv/bin/python benchmarks/bench_metrics.py [--labels DIR] [--seed N] [--repeats R]
                                                 [--dtype {auto,int8,int16,int32,int64}]

For each Breakfast split, the test videos' ground truth is read (relate.data.layout) and a
prediction is derived from it deterministically: boundary shifts, label swaps and short
spurious fragments. Both evaluators score the split under the ``standard`` convention in
this process, ``--repeats`` back-to-back calls each; the tables give the minimum and the
median time of each and their ratios, and the numbers must be identical (``==``). Inputs are the
same label ids for both: numpy arrays for ``score_split`` (``--dtype auto``, the default,
is the narrowest dtype that holds the class ids, as ``relate evaluate`` uses) and Python
int lists for the reference (the fastest input of each; the conversion is not timed). A
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

from relate.data.layout import read_bundle, read_labels, read_mapping
from relate.evaluation import metrics
from relate.evaluation.metrics import score_split
from relate.evaluation.metrics_reference import score_split_reference

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 50.0
FLOAT_FORMATS = ("", "", "", ".4f", ".4f", ".3f", ".3f", ".1f", ".1f", "")


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


def timed(function: Callable[[], dict[str, float]], repeats: int) -> tuple[list[float], dict]:
    """Wall times (time.perf_counter) of ``repeats`` back-to-back calls, and the last result."""
    times = []
    result: dict[str, float] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def identical(a: dict[str, float], b: dict[str, float]) -> bool:
    """Same keys and bit-identical values."""
    return a == b


def run_table(
    splits: list[tuple[int, list[Any], list[Any], list[Any], list[Any]]], repeats: int
) -> tuple[list[list[Any]], float, float, bool]:
    """Rows of one timing table and the overall min and median ratios; inputs are
    (split, fast preds, fast GTs, ref preds, ref GTs)."""
    rows = []
    sums = np.zeros(4)  # fast min, fast median, reference min, reference median
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
        times = np.array([min(fast_s), np.median(fast_s), min(ref_s), np.median(ref_s)])
        sums += times
        frames = sum(len(t) for t in ref_truth)
        rows.append([split, len(ref_truth), frames, *times, *(times[2:] / times[:2]), same])
    videos = sum(r[1] for r in rows)
    frames = sum(r[2] for r in rows)
    ratios = sums[2:] / sums[:2]
    rows.append(["total", videos, frames, *sums, *ratios, all_identical])
    return rows, float(ratios[0]), float(ratios[1]), all_identical


def breakdown(predictions: list[Any], truths: list[Any], repeats: int) -> list[list[Any]]:
    """Best-of-``repeats`` milliseconds of each step of ``score_split`` (standard, no
    background) on one split."""
    split = metrics.encode_split(predictions, truths, [], False)
    scan = metrics.scan_split(split)
    predicted, truth = scan.predicted, scan.truth
    pairs = metrics.same_label_pairs(predicted, truth)
    n_predicted = predicted.label.size
    best_gt, best_iou = metrics.best_overlap(pairs, n_predicted, metrics.exact_iou)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("check and align", lambda: metrics.encode_split(predictions, truths, [], False)),
        ("scan: runs of both sides", lambda: metrics.scan_split(split)),
        ("same-label overlaps", lambda: metrics.same_label_pairs(predicted, truth)),
        ("best IoU", lambda: metrics.best_overlap(pairs, n_predicted, metrics.exact_iou)),
        ("Edit DP", lambda: metrics.edit_distances(predicted, truth)),
        (
            "thresholds",
            lambda: [
                np.count_nonzero(metrics.matched_truth(truth, best_gt, best_iou >= k))
                for k in metrics.OVERLAPS
            ],
        ),
        ("score_split, whole", lambda: score_split(predictions, truths)),
    ]
    rows = []
    for name, step in steps:
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - start)
        rows.append([name, 1000 * best])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=Path, default=default_labels_dir())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=7, help="calls of each evaluator")
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "int8", "int16", "int32", "int64"],
        help="dtype of the label-id arrays given to score_split (auto: the narrowest that "
        "holds the class ids)",
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
    dtype = metrics.id_dtype(n_classes - 1) if args.dtype == "auto" else np.dtype(args.dtype)

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
                [p.astype(dtype) for p in pred_ids],
                [t.astype(dtype) for t in truth_ids],
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
        "fast min s",
        "fast median s",
        "pure-Python min s",
        "pure-Python median s",
        "ratio min",
        "ratio median",
        "identical",
    ]
    print(
        f"Breakfast test splits, seed {args.seed}, standard convention, {args.repeats} calls "
        f"of each; Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"Inputs: label ids ({dtype} arrays for score_split, int lists for the reference)")
    rows, ratio_min, ratio_median, same = run_table(coded, args.repeats)
    print(tabulate(rows, headers=headers, floatfmt=FLOAT_FORMATS))
    met = min(ratio_min, ratio_median) >= TARGET_RATIO
    verdict = "met" if met else "NOT met"
    print(
        f"overall ratio {ratio_min:.1f}x (min), {ratio_median:.1f}x (median); "
        f"target >= {TARGET_RATIO:.0f}x: {verdict}"
    )

    print()
    print("Inputs: label names (the same list[str] for both; encoding included)")
    rows, ratio_min, ratio_median, _ = run_table(named, args.repeats)
    print(tabulate(rows, headers=headers, floatfmt=FLOAT_FORMATS))
    print(f"overall ratio {ratio_min:.1f}x (min), {ratio_median:.1f}x (median)")
    if args.breakdown:
        _, predictions, truths, _, _ = coded[3]
        print()
        print(f"Steps of score_split on split 4 ({dtype} ids), best of 30")
        print(tabulate(breakdown(predictions, truths, 30), headers=["step", "ms"], floatfmt=".2f"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
