"""Side tables: the same runs under two conventions, and two presets, with the difference."""

from __future__ import annotations

import math

import pandas as pd
from tabulate import tabulate

from relate.blocks.presets import DISTILLED
from relate.reports.tables.cells import cell_stats, select
from relate.reports.tables.formatting import _runs_text, fmt, fmt_stats, header_lines
from relate.reports.tables.layout import METRIC_TITLES, METRICS


def _side_table(
    rows: pd.DataFrame,
    axis: str,
    first: str,
    second: str,
    title: str,
    settings: str,
) -> tuple[str, pd.DataFrame]:
    """Rows (dataset, segmenter, row) × {first, second, second − first} over ``axis``."""
    groups = sorted({(d, s, r) for d, s, r in zip(rows["dataset"], rows["segmenter"], rows["row"])})
    md_rows, csv_lines = [], []
    for dataset, segmenter, row in groups:
        cell = select(rows, dataset=dataset, segmenter=segmenter, row=row)
        stats = {}
        for value in (first, second):
            what = f"row {row!r} ({dataset}, {segmenter}, {axis}={value})"
            stats[value] = cell_stats(select(cell, **{axis: value}), what)
        a, b = stats[first], stats[second]
        for label, current in ((first, a), (second, b), (f"{second} − {first}", None)):
            shown = {
                "Dataset": dataset,
                "Segmenter": segmenter,
                "Row": f"`{row}`",
                axis.capitalize(): label,
            }
            for metric in (*METRICS, "avg"):
                if current is not None:
                    text, mean, std = (
                        fmt_stats(current, metric),
                        current.mean(metric),
                        current.std(metric),
                    )
                elif label in (first, second):
                    text, mean, std = "not run", math.nan, math.nan
                elif a and b:
                    mean, std = b.mean(metric) - a.mean(metric), math.nan
                    text = fmt(mean, signed=True)
                else:
                    text, mean, std = "-", math.nan, math.nan
                shown[METRIC_TITLES[metric]] = text
                csv_lines.append(
                    {
                        "dataset": dataset,
                        "segmenter": segmenter,
                        "row": row,
                        axis: label,
                        "metric": metric,
                        "mean": mean,
                        "std": std,
                    }
                )
            shown["Runs"] = _runs_text(current) if label in (first, second) else ""
            md_rows.append(shown)
    lines = header_lines(title, rows, settings, paper_column=False)
    lines += [
        "- Cells: mean ± sample std over seeds of the per-seed mean over splits; the "
        "difference line is the difference of the means.",
        "",
    ]
    if md_rows:
        lines.append(tabulate(md_rows, headers="keys", tablefmt="github"))
    else:
        lines.append("not run: no runs of these rows in the metrics files given.")
    lines.append("")
    return "\n".join(lines), pd.DataFrame(csv_lines)


def convention_table(frame: pd.DataFrame, preset: str = "release") -> tuple[str, pd.DataFrame]:
    """The same RELATE predictions scored under ``standard`` and ``relate_release``.

    Rows: every RELATE row (``relate``, ``relate_wo_pr`` and their option variants) of
    ``preset``; per row the two conventions and their difference (release − standard).
    """
    rows = select(frame, preset=preset)
    if not rows.empty:
        rows = rows[
            (rows["variant"] == "relate") & rows["convention"].isin(("standard", "relate_release"))
        ]
    return _side_table(
        rows,
        "convention",
        "standard",
        "relate_release",
        "Side table: RELATE scored under the standard and the release's convention",
        f"Preset: `{preset}`. `standard` = MS-TCN eval protocol; `relate_release` = the "
        "RELATE release's evaluator (docs/decisions.md, D22).",
    )


def preset_table(frame: pd.DataFrame, convention: str = "standard") -> tuple[str, pd.DataFrame]:
    """Release-default runs against ``paper_literal`` runs of the same rows.

    Rows: every distilled row (RELATE and the single-branch students) that has a run under
    ``convention``; per row the two presets and their difference (paper_literal − release).
    """
    rows = select(frame, convention=convention)
    if not rows.empty:
        rows = rows[rows["variant"].isin(DISTILLED)]
    return _side_table(
        rows,
        "preset",
        "release",
        "paper_literal",
        "Side table: release defaults against the paper_literal preset",
        f"Convention: `{convention}`. `release` = the authors' code; `paper_literal` = the "
        "paper's reading of every discrepancy (`relate options`).",
    )
