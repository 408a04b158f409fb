"""Tables 1-4 and the side tables, from ``relate evaluate`` JSON files (docs/reports.md).

:func:`collect` reads metrics files into one frame (one line per file). :func:`paper_table`
lays out every cell of one of the paper's tables: reproduced mean ± std over seeds (each
seed's value is the unweighted mean over its splits), the paper's value and the delta
(reproduced − paper). A cell without runs says "not run"; nothing is ever filled in.
:func:`convention_table` and :func:`preset_table` compare the same runs scored under two
conventions, and the ``release`` preset against ``paper_literal``. docs/reports.md has the
layout of each output.

Modules: ``layout`` (metrics, columns, titles, rows; ``--dataset-from``), ``frame``
(metrics files -> frame), ``cells`` (per-cell aggregation, selecting runs), ``formatting``
(numbers and header lines), ``paper`` (Tables 1-4), ``side`` (the side tables), ``output``
(writing the markdown and CSV).
"""

from __future__ import annotations

from relate.reports.tables.cells import CellStats, cell_stats, in_preset, select
from relate.reports.tables.formatting import data_source_line, fmt, fmt_stats, header_lines
from relate.reports.tables.frame import collect, read_path_list
from relate.reports.tables.layout import (
    CELL_LEGEND,
    DATASET_TITLES,
    FRAME_COLUMNS,
    GAIN_REFERENCE,
    KEY,
    METRIC_TITLES,
    METRICS,
    NO_PRESET,
    ROW_TITLES,
    SEGMENTER_TITLES,
    TABLE_TITLES,
    parse_dataset_from,
)
from relate.reports.tables.output import write_table
from relate.reports.tables.paper import paper_table
from relate.reports.tables.side import convention_table, preset_table

__all__ = [
    "CELL_LEGEND",
    "DATASET_TITLES",
    "FRAME_COLUMNS",
    "GAIN_REFERENCE",
    "KEY",
    "METRICS",
    "METRIC_TITLES",
    "NO_PRESET",
    "ROW_TITLES",
    "SEGMENTER_TITLES",
    "TABLE_TITLES",
    "CellStats",
    "cell_stats",
    "collect",
    "convention_table",
    "data_source_line",
    "fmt",
    "fmt_stats",
    "header_lines",
    "in_preset",
    "paper_table",
    "parse_dataset_from",
    "preset_table",
    "read_path_list",
    "select",
    "write_table",
]
