"""Verdicts, the :class:`Claim` record and the cell statistics the claims read."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from relate.reports.tables import CellStats, cell_stats, select

HOLDS, FAILS, NOT_RUN = "holds", "does not hold", "not run"
MATCH_TOLERANCE = 1.0
"""Points within which "matches" / "comparable" counts as holding."""
F1 = ("f1@10", "f1@25", "f1@50")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what the runs say about it."""

    key: str
    text: str
    where: str
    verdict: str
    evidence: tuple[str, ...]
    note: str = ""


class Runs:
    """Cell statistics of one frame (one convention, one preset), computed once per cell.

    ``dataset_from`` maps a paper dataset to the dataset whose runs stand in for it; it is
    used by the claims tied to one dataset of the paper (Tables 2-4, Figs. 1 and 3).
    """

    def __init__(self, frame: pd.DataFrame, dataset_from: Mapping[str, str] | None = None):
        self.frame = frame
        self.dataset_from = dict(dataset_from or {})
        self._cache: dict[tuple[str, str, str], CellStats | None] = {}

    def source(self, paper_dataset: str) -> str:
        return self.dataset_from.get(paper_dataset, paper_dataset)

    def get(self, dataset: str, segmenter: str, row: str) -> CellStats | None:
        """Runs of ``row`` on ``dataset`` (a name in the frame) and ``segmenter``."""
        key = (dataset, segmenter, row)
        if key not in self._cache:
            runs = select(self.frame, dataset=dataset, segmenter=segmenter, row=row)
            self._cache[key] = cell_stats(runs, f"scorecard: row {row!r} ({dataset}, {segmenter})")
        return self._cache[key]

    def paper(self, paper_dataset: str, segmenter: str, row: str) -> CellStats | None:
        """Runs standing in for a paper cell (through ``dataset_from``)."""
        return self.get(self.source(paper_dataset), segmenter, row)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (dataset, segmenter) in the frame, sorted."""
        if self.frame.empty:
            return []
        return sorted(set(zip(self.frame["dataset"], self.frame["segmenter"])))


def mean_f1(stats: CellStats) -> float:
    """Mean over seeds of the mean of F1@{10,25,50}."""
    return math.fsum(stats.mean(m) for m in F1) / len(F1)


def value(stats: CellStats, metric: str) -> float:
    """``metric`` of :data:`METRICS`, ``avg`` or ``mean_f1``."""
    return mean_f1(stats) if metric == "mean_f1" else stats.mean(metric)


def _label(metric: str) -> str:
    """Display name of a metric (``Avg``, ``mean F1``, ``F1@50``, ...)."""
    return {"avg": "Avg", "mean_f1": "mean F1", "acc": "Acc", "edit": "Edit"}.get(
        metric, metric.upper()
    )


def _n(stats: CellStats) -> str:
    """``n=<seeds>`` of a cell."""
    return f"n={stats.n_seeds}"


def _verdict(results: Sequence[bool]) -> str:
    """Holds when every comparison holds; not run when there are none."""
    if not results:
        return NOT_RUN
    return HOLDS if all(results) else FAILS


def _where(dataset: str, segmenter: str) -> str:
    """``dataset/segmenter``."""
    return f"{dataset}/{segmenter}"
