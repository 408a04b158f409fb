"""Aggregation of one cell's runs over splits and seeds, and selecting runs from a frame."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from relate.errors import RelateError
from relate.evaluation.metrics import average_splits
from relate.reports.tables.layout import METRICS, NO_PRESET


@dataclass(frozen=True)
class CellStats:
    """Seeds of one (dataset, segmenter, row): per seed the mean over its splits.

    Attributes:
        per_seed: seed -> metric -> value (%), metrics of :data:`METRICS` plus ``avg``.
        splits: the splits every seed covers.
        epochs: the distinct ``run.epochs`` values.
        synthetic: whether any run is on synthetic data.
    """

    per_seed: Mapping[int, Mapping[str, float]]
    splits: tuple[int, ...]
    epochs: tuple[int | None, ...] = ()
    synthetic: bool = False
    paths: tuple[str, ...] = field(default=(), repr=False)

    @property
    def n_seeds(self) -> int:
        return len(self.per_seed)

    def mean(self, metric: str) -> float:
        values = [scores[metric] for scores in self.per_seed.values()]
        return math.fsum(values) / len(values)

    def std(self, metric: str) -> float:
        """Sample standard deviation over seeds (NaN for one seed)."""
        values = [scores[metric] for scores in self.per_seed.values()]
        if len(values) < 2:
            return math.nan
        mean = math.fsum(values) / len(values)
        return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def cell_stats(runs: pd.DataFrame, what: str) -> CellStats | None:
    """Aggregate the runs of one cell; None when there are none.

    Raises :class:`RelateError` naming ``what`` (the row) when seeds cover different splits.
    """
    if runs.empty:
        return None
    coverage = {
        int(seed): tuple(sorted(group["split"].astype(int))) for seed, group in runs.groupby("seed")
    }
    if len(set(coverage.values())) > 1:
        listed = "; ".join(
            f"seed {s}: splits {','.join(map(str, c))}" for s, c in sorted(coverage.items())
        )
        raise RelateError(
            f"{what}: seeds cover different splits ({listed}); give every seed the same splits"
        )
    per_seed = {}
    for seed, group in runs.groupby("seed"):
        scores = average_splits(
            [{m: float(r[m]) for m in METRICS} for _, r in group.sort_values("split").iterrows()]
        )
        scores["avg"] = math.fsum(scores[m] for m in METRICS) / len(METRICS)
        per_seed[int(seed)] = scores
    epochs = tuple(
        sorted(
            {None if pd.isna(e) else int(e) for e in runs["epochs"]},
            key=lambda e: (e is None, e or 0),
        )
    )
    return CellStats(
        per_seed,
        next(iter(coverage.values())),
        epochs,
        bool(runs["synthetic"].any()),
        tuple(runs["path"]),
    )


def in_preset(frame: pd.DataFrame, preset: str) -> pd.DataFrame:
    """Runs of ``preset`` plus the runs presets do not apply to (baselines)."""
    if frame.empty:
        return frame
    return frame[(frame["preset"] == preset) | (frame["preset"] == NO_PRESET)]


def select(frame: pd.DataFrame, **where: object) -> pd.DataFrame:
    """Lines of ``frame`` whose columns equal the given values."""
    if frame.empty:
        return frame
    mask = pd.Series(True, index=frame.index)
    for column, value in where.items():
        mask &= frame[column] == value
    return frame[mask]
