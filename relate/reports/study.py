"""The controlled study's numbers: scores and paired gains against a swept generator knob.

Each ``relate evaluate`` JSON of a study names its data (``generator.config[knob]``, the
knob's value), its segmenter, row (``label``) and preset, split and seed. Per (segmenter,
value, method) the report gives the mean and sample standard deviation of F1@50, Edit and
Acc over the runs, and the gain over the baseline row: per (split, seed) the difference
method − baseline (the two runs share data, split and seed), then its mean and a 95%
Student-t interval over those paired differences.

A run counts as *still learning* when the mean training loss (``loss.total`` of its
``log.jsonl``) over the last 10% of its epochs is more than :data:`STILL_FALLING` below the
mean over the 10% before: the schedule ended before the training loss levelled off.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from relate.errors import DataError
from relate.reports.summary import read_metrics
from relate.runs.files import LOG_FILE

STUDY_METRICS: tuple[tuple[str, str], ...] = (("f1@50", "F1@50"), ("edit", "Edit"), ("acc", "Acc"))
"""(metrics key, title) of the scores the study reports."""
STILL_FALLING = 0.02
"""Relative drop of the training loss between the last two tenths of the epochs above which
a run counts as still learning."""
CONFIDENCE = 0.95


@dataclass(frozen=True)
class StudyRun:
    """One scored run of the study."""

    segmenter: str
    value: float
    method: str
    split: int
    seed: int
    scores: dict[str, float]
    epochs: int | None
    still_learning: bool | None
    commit: str
    data: str
    """The swept dataset apart from the knob: name, videos, frames, generator seed."""
    machine: str
    """torch version and CPU count of the machine that scored it."""


def method_name(row: str, preset: str | None) -> str:
    """A study method: the paper row, with its preset when it is not the release's."""
    return row if preset in (None, "release") else f"{row} ({preset})"


def still_learning(run_dir: Path) -> bool | None:
    """Whether the run's training loss still fell over its last 10% of epochs (None: no log,
    or too few epochs to tell)."""
    path = Path(run_dir) / LOG_FILE
    if not path.is_file():
        return None
    try:
        losses = [
            float(json.loads(line)["loss"]["total"])
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(path, f"not a training log ({error})") from None
    tenth = max(1, round(0.1 * len(losses)))
    if len(losses) < 2 * tenth:
        return None
    last = math.fsum(losses[-tenth:]) / tenth
    before = math.fsum(losses[-2 * tenth : -tenth]) / tenth
    return last < (1.0 - STILL_FALLING) * before


def read_study_run(path: Path, knob: str) -> StudyRun:
    """One metrics JSON as a :class:`StudyRun`; a file without what the study needs is a
    :class:`DataError` naming it."""
    record = read_metrics(path)
    generator = record.get("generator") or {}
    config = generator.get("config") if isinstance(generator, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get(knob), (int, float)):
        raise DataError(
            path, f"no generator setting {knob!r} (not scored on a swept synthetic dataset)"
        )
    run = record.get("run")
    if not isinstance(run, dict) or not run.get("segmenter"):
        raise DataError(path, "no run record (not a score of a `relate predict` output)")
    label = record.get("label")
    if not isinstance(label, str) or not label:
        raise DataError(path, "no label (the workflow labels each score with its row)")
    run_dir = run.get("run")
    epochs = run.get("epochs")
    provenance = record.get("provenance") or {}
    packages = provenance.get("packages") or {}
    data = (
        f"{record['dataset']}: {config.get('n_videos')} videos of {config.get('min_frames')}-"
        f"{config.get('max_frames')} frames, generator seed {generator.get('seed')}"
    )
    machine = (
        f"torch {packages.get('torch', '?')}, Python {provenance.get('python', '?')}, "
        f"{provenance.get('cpu_count', '?')} CPUs ({provenance.get('system', '?')})"
    )
    return StudyRun(
        segmenter=str(run["segmenter"]),
        value=float(config[knob]),
        method=method_name(label, run.get("preset")),
        split=int(record["split"]),
        seed=int(record.get("seed", run.get("seed", 0))),
        scores={key: float(record["metrics"][key]) for key, _ in STUDY_METRICS},
        epochs=int(epochs) if isinstance(epochs, int) else None,
        still_learning=still_learning(Path(run_dir)) if run_dir else None,
        commit=str(provenance.get("commit", "unknown")),
        data=data,
        machine=machine,
    )


def _interval(differences: Sequence[float]) -> tuple[float, float]:
    """The 95% Student-t interval of the mean of paired differences (NaN below 2)."""
    n = len(differences)
    if n < 2:
        return math.nan, math.nan
    values = np.asarray(differences, dtype=float)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    mean = float(values.mean())
    return mean - float(half), mean + float(half)


def study_frame(runs: Iterable[StudyRun], baseline: str) -> pd.DataFrame:
    """One row per (segmenter, value, method, metric): n, mean, std, and the paired gain over
    ``baseline`` (gain, gain_lo, gain_hi, pairs); runs still learning (learning / known)."""
    table = pd.DataFrame(
        [
            {
                "segmenter": r.segmenter,
                "value": r.value,
                "method": r.method,
                "split": r.split,
                "seed": r.seed,
                "still_learning": r.still_learning,
                **r.scores,
            }
            for r in runs
        ]
    )
    duplicated = table.duplicated(["segmenter", "value", "method", "split", "seed"])
    if duplicated.any():
        first = table[duplicated].iloc[0]
        raise DataError(
            Path("--metrics"),
            f"two scores of {first['method']} ({first['segmenter']}, value {first['value']:g}, "
            f"split {first['split']}, seed {first['seed']})",
        )
    rows = []
    keys = ["segmenter", "value"]
    for (segmenter, value), cell in table.groupby(keys, sort=True):
        base = cell[cell["method"] == baseline][["split", "seed", *(k for k, _ in STUDY_METRICS)]]
        for method, group in cell.groupby("method", sort=False):
            known = group["still_learning"].dropna()
            paired = group.merge(base, on=["split", "seed"], suffixes=("", "_base"))
            for key, _ in STUDY_METRICS:
                differences = list(paired[key] - paired[f"{key}_base"])
                lo, hi = _interval(differences)
                rows.append(
                    {
                        "segmenter": segmenter,
                        "value": value,
                        "method": method,
                        "metric": key,
                        "n": len(group),
                        "mean": group[key].mean(),
                        "std": group[key].std(ddof=1) if len(group) > 1 else 0.0,
                        "pairs": len(differences),
                        "gain": float(np.mean(differences)) if differences else math.nan,
                        "gain_lo": lo,
                        "gain_hi": hi,
                        "learning": int(known.astype(bool).sum()),
                        "learning_known": len(known),
                    }
                )
    return pd.DataFrame(rows)
