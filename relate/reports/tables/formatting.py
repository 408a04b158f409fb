"""Number formatting and the header lines (data source, seeds, epochs, commit) of a table."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping

import pandas as pd

from relate.provenance import git_commit
from relate.reports.tables.cells import CellStats
from relate.reports.tables.layout import DATASET_TITLES


def fmt(value: float | None, signed: bool = False) -> str:
    """One decimal like the paper (``+`` sign when ``signed``); ``-`` for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def fmt_stats(stats: CellStats, metric: str) -> str:
    """``mean ± std`` (or ``mean`` for one seed)."""
    if stats.n_seeds > 1:
        return f"{fmt(stats.mean(metric))} ± {fmt(stats.std(metric))}"
    return fmt(stats.mean(metric))


def _runs_text(stats: CellStats | None) -> str:
    """``N seed(s) × M split(s)`` of a cell; ``-`` without runs."""
    if stats is None:
        return "-"
    return f"{stats.n_seeds} seed(s) × {len(stats.splits)} split(s)"


def _ranges(values: Iterable[int]) -> str:
    """Distinct values, sorted and comma-separated; ``-`` when there are none."""
    return ",".join(map(str, sorted(set(values)))) or "-"


def data_source_line(
    frame: pd.DataFrame, dataset_from: Mapping[str, str] | None = None, paper_column: bool = True
) -> str:
    """ "Data: ..." line saying plainly whether the numbers are from synthetic data."""
    if frame.empty:
        return "- Data: no runs"
    kinds = frame.groupby("dataset")["synthetic"].any()
    synthetic = sorted(d for d, s in kinds.items() if s)
    real = sorted(d for d, s in kinds.items() if not s)
    by_source: dict[str, list[str]] = {}
    for paper, source in (dataset_from or {}).items():
        if paper != source:
            by_source.setdefault(source, []).append(paper)
    stand_in = "".join(
        f"; the {', '.join(DATASET_TITLES.get(p, p) for p in DATASET_TITLES if p in papers)} "
        f"cells are filled from dataset `{source}`"
        for source, papers in sorted(by_source.items())
    )
    if synthetic:
        lead = "SYNTHETIC" if not real else "MIXED: SYNTHETIC"
        return (
            f"- Data: **{lead}** ({', '.join(synthetic)}"
            f"{'; real: ' + ', '.join(real) if real else ''}). Numbers computed on "
            "synthetic data are NOT comparable to the paper's"
            + ("; the paper column is shown for reference only" if paper_column else "")
            + f"{stand_in}."
        )
    return f"- Data: real datasets ({', '.join(real)}){stand_in}."


def _epochs_line(used: pd.DataFrame) -> str:
    """ "Epochs" line: one value for every run, else per segmenter/variant; each with the
    learning rates the runs trained at (``run.lr``) and what else they changed from their
    recipe (lr decay inside the run, segmenter overrides) where the metrics files record them."""
    if used.empty:
        return "- Epochs: no runs"
    found = {}
    for (segmenter, variant), group in used.groupby(["segmenter", "variant"]):
        text = _ranges(int(e) for e in group["epochs"].dropna())
        rates = sorted({float(r) for r in group["lr"].dropna()}) if "lr" in group else []
        if rates:
            text += " at lr " + "/".join(f"{r:g}" for r in rates)
        if "settings" in group:
            settings = sorted({s for s in group["settings"] if isinstance(s, str) and s})
            if settings:
                text += " (" + "; ".join(settings) + ")"
        found[f"{segmenter}/{variant}"] = text
    what = "Epochs (run.epochs, run.lr)"
    if len(set(found.values())) == 1:
        return f"- {what}: {next(iter(found.values()))} for every run"
    return f"- {what}: " + "; ".join(f"{k} {v}" for k, v in sorted(found.items()))


def header_lines(
    title: str,
    used: pd.DataFrame,
    settings: str,
    dataset_from: Mapping[str, str] | None = None,
    paper_column: bool = True,
) -> list[str]:
    """Title and provenance lines of every report table."""
    if used.empty:
        seeds = splits = "-"
    else:
        seeds = _ranges(used["seed"].astype(int))
        splits = "; ".join(
            f"{d} {_ranges(g['split'].astype(int))}" for d, g in used.groupby("dataset")
        )
    return [
        f"# {title}",
        "",
        data_source_line(used, dataset_from, paper_column),
        f"- {settings}",
        f"- Seeds: {seeds}; splits: {splits}",
        _epochs_line(used),
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
    ]
