"""Evaluator rows: ``score_split(..., convention="relate_release")`` against the release's
metric functions and its ``scripts/evaluate.py`` printout, on synthetic splits.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from relate.errors import RelateError
from relate.tools.parity.constants import (
    EVALUATOR_SPLITS,
    METRIC_ORDER,
    PRINTED_KEYS,
    RELEASE_EVALUATE_SCRIPT,
    SCORE_TOLERANCE,
)
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.rows import ParityRow, count_row


@dataclass(frozen=True)
class EvalSplit:
    """A synthetic split: integer label arrays, class names and the background id."""

    layout: str
    predictions: list[np.ndarray]
    ground_truths: list[np.ndarray]
    class_names: list[str]
    background: int | None


def synthetic_split(layout: str, seed: int, num_classes: int = 11) -> EvalSplit:
    """Ground truths and imperfect predictions that exercise the release's evaluator quirks:
    jittered boundaries, short spurious fragments (some of classes absent from the video),
    swapped labels, an exact IoU = 0.5 tie, an all-background prediction and GT (GTEA layout),
    and predictions shorter and longer than their GT (truncation)."""
    n_videos, bg_name = EVALUATOR_SPLITS[layout]
    rng = np.random.default_rng(seed + sum(map(ord, layout)))
    names = [f"action{i}" for i in range(num_classes)]
    background = None
    if bg_name is not None:
        background = 0
        names[0] = bg_name
    actions = np.arange(1 if background is not None else 0, num_classes)
    predictions, truths = [], []
    for _ in range(n_videos):
        used = rng.choice(actions, size=min(5, actions.size), replace=False)
        parts: list[np.ndarray] = []
        if layout == "breakfast":
            parts.append(np.full(rng.integers(20, 60), background))
        for _ in range(rng.integers(4, 12)):
            parts.append(np.full(rng.integers(5, 120), rng.choice(used)))
            if layout == "gtea" and rng.random() < 0.5:
                parts.append(np.full(rng.integers(3, 25), background))
        if layout == "breakfast":
            parts.append(np.full(rng.integers(20, 60), background))
        gt = np.concatenate(parts).astype(np.int64)
        pred = gt.copy()
        changes = np.flatnonzero(np.diff(gt)) + 1
        for c in changes:  # boundary jitter
            shift = int(rng.integers(-4, 5))
            lo, hi = sorted((c, c + shift))
            lo, hi = max(lo, 0), min(hi, gt.size)
            pred[lo:hi] = gt[c - 1] if shift > 0 else gt[min(c, gt.size - 1)]
        for _ in range(rng.integers(1, 6)):  # short spurious fragments
            start = int(rng.integers(0, gt.size - 6))
            pred[start : start + int(rng.integers(1, 6))] = rng.choice(actions)
        if rng.random() < 0.5 and changes.size:  # one swapped segment label
            c = int(rng.choice(changes))
            end = changes[changes > c][0] if (changes > c).any() else gt.size
            pred[c:end] = rng.choice(actions)
        truths.append(gt)
        predictions.append(pred)
    a, b = (int(x) for x in actions[:2])
    truths.append(np.array([a] * 10 + [b] * 10))  # exact IoU 0.5 tie for the first segment
    predictions.append(np.array([a] * 5 + [b] * 15))
    predictions[0] = predictions[0][:-20]  # shorter prediction: the release cuts the GT
    predictions[1] = np.concatenate([predictions[1], predictions[1][-5:]])  # longer prediction
    if background is not None and layout == "gtea":
        predictions[2] = np.full_like(truths[2], background)  # all background: F1 = 0
        truths[3] = np.full_like(truths[3], background)  # no GT segment: predictions skipped
    return EvalSplit(layout, predictions, truths, names, background)


def release_scores(release: ReleaseModules, split: EvalSplit) -> dict[str, float]:
    """The split scored with the release's metric functions and ``scripts/evaluate.py``'s
    aggregation (per-video sums in order, cut to the shorter length, F1 x 100 / n)."""
    metrics = release.metrics
    background = split.background if split.background is not None else -1
    f1 = {0.10: 0.0, 0.25: 0.0, 0.50: 0.0}
    edit = acc = 0.0
    for pred, gt in zip(split.predictions, split.ground_truths):
        length = min(pred.size, gt.size)
        p = torch.as_tensor(pred[:length], dtype=torch.long)
        g = torch.as_tensor(gt[:length], dtype=torch.long)
        for k in f1:
            f1[k] += metrics.f_score(g, p, k, background)
        edit += metrics.edit_score(g, p, background)
        acc += metrics.frame_accuracy(p, g, ignore_index=-999)
    n = len(split.predictions)
    return {
        "f1@10": 100 * f1[0.10] / n,
        "f1@25": 100 * f1[0.25] / n,
        "f1@50": 100 * f1[0.50] / n,
        "edit": edit / n,
        "acc": acc / n,
    }


def release_evaluate_printout(release: ReleaseModules, split: EvalSplit) -> dict[str, str]:
    """Run the release's ``scripts/evaluate.py`` (a subprocess) on ``split`` written in the
    MS-TCN layout; returns its printed values (one decimal) by metric key."""
    with tempfile.TemporaryDirectory(prefix="relate-parity-") as tmp:
        root = Path(tmp) / "data" / split.layout
        (root / "groundTruth").mkdir(parents=True)
        (root / "splits").mkdir()
        pred_dir = Path(tmp) / "pred"
        pred_dir.mkdir()
        (root / "mapping.txt").write_text(
            "".join(f"{i} {n}\n" for i, n in enumerate(split.class_names))
        )
        videos = [f"video{v:02d}" for v in range(len(split.predictions))]
        (root / "splits" / "test.split1.bundle").write_text("".join(f"{v}.txt\n" for v in videos))
        for vid, pred, gt in zip(videos, split.predictions, split.ground_truths):
            (root / "groundTruth" / f"{vid}.txt").write_text(
                "".join(f"{split.class_names[c]}\n" for c in gt)
            )
            (pred_dir / vid).write_text(
                "### Frame level recognition: ###\n" + " ".join(split.class_names[c] for c in pred)
            )
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        command = [
            sys.executable,
            str(release.path / RELEASE_EVALUATE_SCRIPT),
            "--data-root",
            str(Path(tmp) / "data"),
            "--dataset",
            split.layout,
            "--split",
            "1",
            "--pred-dir",
            str(pred_dir),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=300, env=env, cwd=tmp
        )
    if done.returncode != 0:
        raise RelateError(
            f"{release.path / RELEASE_EVALUATE_SCRIPT} failed: "
            f"{(done.stderr.strip().splitlines() or ['no stderr'])[-1]}"
        )
    printed = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in PRINTED_KEYS:
            printed[PRINTED_KEYS[key.strip()]] = value.strip()
    if set(printed) != set(METRIC_ORDER):
        raise RelateError(f"unexpected output from {RELEASE_EVALUATE_SCRIPT}: {done.stdout!r}")
    return printed


def compare_evaluator(
    release: ReleaseModules, seed: int, run_script: bool = True
) -> list[ParityRow]:
    """``score_split(..., convention="relate_release")`` vs the release's evaluator on
    synthetic GTEA-, 50Salads- and Breakfast-like splits: exact scores (in-process) and the
    one-decimal printout of ``scripts/evaluate.py``."""
    from relate.evaluation.metrics import score_split

    rows = []
    for layout in EVALUATOR_SPLITS:
        split = synthetic_split(layout, seed)
        background = [split.background] if split.background is not None else []
        ours = score_split(split.predictions, split.ground_truths, background, "relate_release")
        theirs = release_scores(release, split)
        diff = max(abs(ours[k] - theirs[k]) for k in METRIC_ORDER)
        values = ", ".join(f"{theirs[k]:.4f}" for k in METRIC_ORDER)
        cut = [min(p.size, g.size) for p, g in zip(split.predictions, split.ground_truths)]
        standard = score_split(
            [p[:n] for p, n in zip(split.predictions, cut)],
            [g[:n] for g, n in zip(split.ground_truths, cut)],
            background,
        )
        gap = max(abs(standard[k] - theirs[k]) for k in METRIC_ORDER)
        label = f"{layout}-like, {len(split.predictions)} videos"
        rows.append(
            ParityRow(
                "-",
                f"evaluator relate_release ({label})",
                diff,
                SCORE_TOLERANCE,
                diff <= SCORE_TOLERANCE,
                f"release F1@10/25/50, Edit, Acc = {values}; the standard "
                f"convention differs by up to {gap:.2f}",
            )
        )
        if run_script:
            printed = release_evaluate_printout(release, split)
            differing = [k for k in METRIC_ORDER if f"{ours[k]:.1f}" != printed[k]]
            rows.append(
                count_row(
                    "-",
                    f"scripts/evaluate.py printout ({label}): values differing",
                    len(differing),
                    "printed "
                    + ", ".join(printed[k] for k in METRIC_ORDER)
                    + (f"; differ: {', '.join(differing)}" if differing else ""),
                )
            )
    return rows
