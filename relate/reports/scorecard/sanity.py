"""The sanity block that opens reports/index.md: did the runs learn at all?

Per run dataset × segmenter, three expectations on F1@50 (convention ``standard``; mean over
seeds of each seed's unweighted mean over splits):

1. ``rgb`` beats the majority predictor by at least ``margins.over_majority`` points;
2. ``two_stream`` beats the majority predictor by at least ``margins.over_majority`` points;
3. ``two_stream`` beats ``rgb`` by at least ``margins.two_stream_over_rgb`` points (on the
   synthetic data flow is informative by construction: RGB cannot tell motion pairs apart).

The majority predictor's scores come from ``relate trivial --method majority`` metrics files
of the same dataset (mean over their splits). A check without its inputs is ``not run``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from relate.errors import DataError
from relate.reports.summary import read_metrics
from relate.reports.tables import cell_stats, select

PASS, FAIL, NOT_RUN = "PASS", "FAIL", "not run"
MAJORITY_PREFIX = "majority-"
"""Label prefix of the majority predictor's metrics files (``majority-all``)."""


@dataclass(frozen=True)
class SanityMargins:
    """F1@50 margins, in points."""

    over_majority: float = 20.0
    two_stream_over_rgb: float = 10.0


DEFAULT_MARGINS = SanityMargins()


def majority_f1(paths: Iterable[Path]) -> dict[str, float]:
    """Dataset -> mean F1@50 over splits of its majority predictor (standard convention)."""
    per_dataset: dict[str, dict[int, float]] = {}
    for path in paths:
        record = read_metrics(Path(path))
        label = record.get("label")
        if not isinstance(label, str) or not label.startswith(MAJORITY_PREFIX):
            continue
        if record["convention"] != "standard":
            continue
        splits = per_dataset.setdefault(str(record["dataset"]), {})
        if record["split"] in splits:
            raise DataError(Path(path), f"second majority file for split {record['split']}")
        splits[int(record["split"])] = float(record["metrics"]["f1@50"])
    return {d: math.fsum(s.values()) / len(s) for d, s in per_dataset.items() if s}


def _row_f1(frame: pd.DataFrame, dataset: str, segmenter: str, row: str) -> float | None:
    """Mean over seeds of the per-seed mean over splits of F1@50, or None without runs."""
    runs = select(frame, dataset=dataset, segmenter=segmenter, row=row, convention="standard")
    stats = cell_stats(runs, row)
    return None if stats is None else stats.mean("f1@50")


def _schedule(frame: pd.DataFrame, dataset: str, segmenter: str) -> str:
    """Epochs, lr and recorded settings of the cell's rgb/two_stream runs ("-" if unknown)."""
    runs = frame[
        (frame["dataset"] == dataset)
        & (frame["segmenter"] == segmenter)
        & frame["row"].isin(("rgb", "two_stream"))
    ]
    texts = set()
    for _, run in runs.iterrows():
        if pd.isna(run.get("epochs")):
            continue
        text = f"{int(run['epochs'])} ep"
        if not pd.isna(run.get("lr")):
            text += f", lr {float(run['lr']):g}"
        settings = run.get("settings")
        if isinstance(settings, str) and settings:
            text += f" ({settings})"
        texts.add(text)
    return "; ".join(sorted(texts)) or "-"


def _check(value: float | None, floor: float | None, margin: float) -> str:
    if value is None or floor is None:
        return NOT_RUN
    return PASS if value >= floor + margin else FAIL


def sanity_rows(
    frame: pd.DataFrame,
    majority: Mapping[str, float],
    margins: SanityMargins = DEFAULT_MARGINS,
    stands_in: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """One table row per (run dataset, segmenter) that has an ``rgb`` or ``two_stream`` run."""
    if frame.empty:
        return []
    learners = frame[frame["row"].isin(("rgb", "two_stream"))]
    paper_of = {run: paper for paper, run in (stands_in or {}).items()}
    rows = []
    for dataset, segmenter in sorted(set(zip(learners["dataset"], learners["segmenter"]))):
        floor = majority.get(dataset)
        rgb = _row_f1(frame, dataset, segmenter, "rgb")
        two = _row_f1(frame, dataset, segmenter, "two_stream")
        checks = [
            _check(rgb, floor, margins.over_majority),
            _check(two, floor, margins.over_majority),
            _check(two, rgb, margins.two_stream_over_rgb),
        ]
        verdict = FAIL if FAIL in checks else (NOT_RUN if NOT_RUN in checks else PASS)
        name = f"{dataset} (for {paper_of[dataset]})" if dataset in paper_of else dataset
        rows.append(
            {
                "dataset": name,
                "segmenter": segmenter,
                "schedule": _schedule(frame, dataset, segmenter),
                "majority": _fmt(floor),
                "rgb": _fmt(rgb),
                "two_stream": _fmt(two),
                f"rgb ≥ maj.+{margins.over_majority:g}": checks[0],
                f"two_stream ≥ maj.+{margins.over_majority:g}": checks[1],
                f"two_stream ≥ rgb+{margins.two_stream_over_rgb:g}": checks[2],
                "cell": f"**{verdict}**",
            }
        )
    return rows


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def sanity_lines(
    frame: pd.DataFrame,
    majority: Mapping[str, float],
    margins: SanityMargins = DEFAULT_MARGINS,
    stands_in: Mapping[str, str] | None = None,
) -> list[str]:
    """Markdown: the sanity heading, one summary line and the table."""
    rows = sanity_rows(frame, majority, margins, stands_in)
    lines = ["## Sanity: did the runs learn?", ""]
    if not rows:
        return lines + ["No `rgb` or `two_stream` runs: nothing to check.", ""]
    verdicts = [row["cell"].strip("*") for row in rows]
    passed = sum(v == PASS for v in verdicts)
    lines += [
        f"- **{passed} of {len(rows)} cells PASS** "
        f"({sum(v == FAIL for v in verdicts)} FAIL, {sum(v == NOT_RUN for v in verdicts)} "
        "not run). F1@50, convention `standard`, mean over seeds of the mean over splits. "
        f"A cell passes when `rgb` and `two_stream` each beat the majority predictor by "
        f"≥ {margins.over_majority:g} points and `two_stream` beats `rgb` by "
        f"≥ {margins.two_stream_over_rgb:g} points. A FAIL means the runs did not learn what "
        "the data allow: read the claims below as untested there.",
        "",
        tabulate(rows, headers="keys", tablefmt="github"),
        "",
    ]
    return lines
