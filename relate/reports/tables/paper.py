"""Tables 1-4: every cell of the paper's table, reproduced against the paper's value."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import pandas as pd
from tabulate import tabulate

from relate.errors import RelateError
from relate.evaluation.metrics import CONVENTIONS
from relate.reports.paper_results import PRINTED_AVERAGES, load_paper_results
from relate.reports.tables.cells import CellStats, cell_stats, in_preset, select
from relate.reports.tables.formatting import _ranges, _runs_text, fmt, fmt_stats, header_lines
from relate.reports.tables.layout import (
    CELL_LEGEND,
    DATASET_TITLES,
    GAIN_REFERENCE,
    METRIC_TITLES,
    METRICS,
    ROW_TITLES,
    SEGMENTER_TITLES,
    TABLE_TITLES,
)

logger = logging.getLogger("relate.reports.tables")


def _paper_layout(table_id: int) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
    """The paper's values of one table and its (dataset, segmenter, row) cells, in order."""
    paper = load_paper_results()
    paper = paper[paper["table"] == table_id]
    cells = list(dict.fromkeys(zip(paper["dataset"], paper["segmenter"], paper["row"])))
    return paper, cells


def paper_table(
    table_id: int,
    frame: pd.DataFrame,
    convention: str = "standard",
    preset: str = "release",
    dataset_from: Mapping[str, str] | None = None,
) -> tuple[str, pd.DataFrame]:
    """Markdown and CSV frame of one of the paper's Tables 1-4.

    Every (dataset, segmenter, row) cell of the paper's table is listed: reproduced mean ±
    std over seeds of ``frame``'s runs under ``convention`` and ``preset``, the paper's value
    and the delta; Tables 2-4 add the Avg column (mean of the five metrics; the paper's
    printed average), Tables 3-4 the gain of the average over the reference row.
    ``dataset_from`` maps a paper dataset to the dataset whose runs fill its cells (e.g.
    ``{"gtea": "synthetic"}``); the header says so. The CSV frame has one line per cell and
    metric (columns ``table, dataset, source_dataset, segmenter, row, title, metric, mean, std,
    n_seeds, seeds, splits, epochs, paper, delta, status``).
    """
    if table_id not in TABLE_TITLES:
        raise RelateError(f"unknown table {table_id}; the paper has tables 1-4")
    if convention not in CONVENTIONS:
        raise RelateError(f"unknown convention {convention!r}; known: {', '.join(CONVENTIONS)}")
    dataset_from = dict(dataset_from or {})
    paper, cells = _paper_layout(table_id)
    runs = in_preset(select(frame, convention=convention), preset)
    with_avg = table_id != 1
    metrics = [*METRICS, "avg"] if with_avg else list(METRICS)
    stats: dict[tuple[str, str, str], CellStats | None] = {}
    used = []
    for dataset, segmenter, row in cells:
        source = dataset_from.get(dataset, dataset)
        cell_runs = select(runs, dataset=source, segmenter=segmenter, row=row)
        what = f"table {table_id}: row {row!r} ({source}, {segmenter}, {convention}, {preset})"
        stats[(dataset, segmenter, row)] = cell_stats(cell_runs, what)
        used.append(cell_runs)
    used_frame = pd.concat(used) if used else runs.iloc[:0]
    unused = len(runs) - len(set(used_frame["path"])) if not runs.empty else 0
    if unused:
        logger.info(
            "table %d: %d of %d metrics file(s) under %s/%s fill no cell of this table",
            table_id,
            unused,
            len(runs),
            convention,
            preset,
        )
    csv_lines, md_rows = [], []
    for dataset, segmenter, row in cells:
        cell = stats[(dataset, segmenter, row)]
        title = ROW_TITLES[table_id].get(row, row)
        shown = {
            "Dataset": DATASET_TITLES[dataset],
            "Segmenter": SEGMENTER_TITLES[segmenter],
            "Method": title,
            "Row": f"`{row}`",
            "Runs": _runs_text(cell),
        }
        for metric in metrics:
            if metric == "avg":
                printed = PRINTED_AVERAGES.get((table_id, row))
                reference = printed[0] if printed else None
            else:
                reference = _paper_cell(paper, dataset, segmenter, row, metric)
            line = _csv_line(
                table_id,
                dataset,
                dataset_from.get(dataset, dataset),
                segmenter,
                row,
                title,
                metric,
                cell,
                reference,
            )
            csv_lines.append(line)
            shown[METRIC_TITLES[metric]] = _cell_text(cell, metric, reference)
        if table_id in GAIN_REFERENCE:
            gain_line = _gain_line(
                table_id, dataset, dataset_from.get(dataset, dataset), segmenter, row, title, stats
            )
            csv_lines.append(gain_line)
            shown["Avg gain"] = _gain_text(gain_line)
        md_rows.append(shown)
    csv_frame = pd.DataFrame(csv_lines)
    settings = (
        f"Convention: `{convention}`; preset of the distilled rows: `{preset}` "
        "(the baselines rgb / two_stream have none)"
    )
    lines = header_lines(
        TABLE_TITLES[table_id],
        used_frame,
        settings,
        {d: s for d, s in dataset_from.items() if d in {c[0] for c in cells}},
    )
    lines += [f"- {CELL_LEGEND}"]
    if with_avg:
        lines += [
            "- Avg: mean of the five metrics per seed, then mean ± std over seeds; "
            "paper value = the printed average."
        ]
    if table_id in GAIN_REFERENCE:
        lines += [
            "- Avg gain: reproduced Avg of the row minus that of "
            + ("Naïve" if table_id == 3 else "its single-branch method")
            + " (paper: the printed delta)."
        ]
    lines.append("")
    drop = ["Dataset", "Segmenter"] if table_id != 1 else ["Dataset"]
    if table_id == 1:
        for dataset in DATASET_TITLES:
            block = [
                {k: v for k, v in r.items() if k not in drop}
                for r in md_rows
                if r["Dataset"] == DATASET_TITLES[dataset]
            ]
            lines += [
                f"## {DATASET_TITLES[dataset]}",
                "",
                tabulate(block, headers="keys", tablefmt="github"),
                "",
            ]
    else:
        block = [{k: v for k, v in r.items() if k not in drop} for r in md_rows]
        lines += [tabulate(block, headers="keys", tablefmt="github"), ""]
    return "\n".join(lines), csv_frame


def _paper_cell(
    paper: pd.DataFrame, dataset: str, segmenter: str, row: str, metric: str
) -> float | None:
    """The paper's value of one cell and metric; None when it prints none."""
    hit = paper[
        (paper["dataset"] == dataset)
        & (paper["segmenter"] == segmenter)
        & (paper["row"] == row)
        & (paper["metric"] == metric)
    ]
    return float(hit["value"].iloc[0]) if len(hit) else None


def _csv_line(
    table_id: int,
    dataset: str,
    source: str,
    segmenter: str,
    row: str,
    title: str,
    metric: str,
    cell: CellStats | None,
    reference: float | None,
) -> dict[str, object]:
    """One CSV line: a cell's metric, reproduced and in the paper."""
    mean = cell.mean(metric) if cell else math.nan
    return {
        "table": table_id,
        "dataset": dataset,
        "source_dataset": source,
        "segmenter": segmenter,
        "row": row,
        "title": title,
        "metric": metric,
        "mean": mean,
        "std": cell.std(metric) if cell else math.nan,
        "n_seeds": cell.n_seeds if cell else 0,
        "seeds": _ranges(cell.per_seed) if cell else "",
        "splits": _ranges(cell.splits) if cell else "",
        "epochs": _ranges(e for e in cell.epochs if e is not None) if cell else "",
        "synthetic": cell.synthetic if cell else False,
        "paper": math.nan if reference is None else reference,
        "delta": mean - reference if cell and reference is not None else math.nan,
        "status": "ok" if cell else "not run",
    }


def _cell_text(cell: CellStats | None, metric: str, reference: float | None) -> str:
    """Markdown cell: ``mean ± std (paper; delta)`` or ``not run (paper)``."""
    paper = fmt(reference)
    if cell is None:
        return f"not run ({paper})"
    delta = fmt(cell.mean(metric) - reference, signed=True) if reference is not None else "-"
    return f"{fmt_stats(cell, metric)} ({paper}; {delta})"


def _gain_line(
    table_id: int,
    dataset: str,
    source: str,
    segmenter: str,
    row: str,
    title: str,
    stats: Mapping[tuple[str, str, str], CellStats | None],
) -> dict[str, object]:
    """CSV line of the Avg gain of ``row`` over its reference row (Tables 3-4)."""
    reference_row = GAIN_REFERENCE[table_id].get(row)
    printed = PRINTED_AVERAGES.get((table_id, row))
    paper = printed[1] if printed and printed[1] is not None else math.nan
    mine = stats.get((dataset, segmenter, row))
    ref = stats.get((dataset, segmenter, reference_row)) if reference_row else None
    gain = mine.mean("avg") - ref.mean("avg") if mine and ref else math.nan
    return {
        "table": table_id,
        "dataset": dataset,
        "source_dataset": source,
        "segmenter": segmenter,
        "row": row,
        "title": title,
        "metric": "avg_gain",
        "mean": gain,
        "std": math.nan,
        "n_seeds": min(mine.n_seeds, ref.n_seeds) if mine and ref else 0,
        "seeds": "",
        "splits": "",
        "epochs": "",
        "synthetic": bool(mine and mine.synthetic) or bool(ref and ref.synthetic),
        "paper": paper,
        "delta": gain - paper if not (math.isnan(gain) or math.isnan(paper)) else math.nan,
        "status": "not applicable"
        if reference_row is None
        else ("ok" if mine and ref else "not run"),
    }


def _gain_text(line: Mapping[str, object]) -> str:
    """Markdown cell of an Avg gain line: ``gain (paper)``."""
    if line["status"] == "not applicable":
        return ""
    paper = fmt(line["paper"], signed=True)
    if line["status"] == "not run":
        return f"not run ({paper})"
    return f"{fmt(line['mean'], signed=True)} ({paper})"
