"""The paper's published numbers (Tables 1-4) as data, and what run produces each paper row.

Two package-data files sit beside this module (docs/paper_results.md):

* ``paper_results.csv``: one line per numeric cell, columns
  ``table,dataset,segmenter,row,metric,value`` (Tables 1-4, 265 cells);
* ``paper_rows.csv``: one line per paper row name, columns
  ``row,variant,options,head,description``: the training variant, the ``--option KEY=VALUE``
  items of ``relate train`` and the prediction head to score (``relate evaluate --head``).

Row names follow one grammar (:func:`parse_row`)::

    row     := name [":" option ("," option)*]
    name    := "rgb" | "flow" | "two_stream" | "mars" | "kd" | "rkd" | "gcr"
             | "relate" | "relate_wo_pr"
    option  := key "=" value        (relate names only; keys in the order distill, aga, fusion;
                                     a key is written only when its value is not the default)

``relate`` is scored on the refined head (``final``), ``relate_wo_pr`` on the unrefined joint
head (``joint``) of the same checkpoint. Every other variant is scored on ``final``.

The Avg. columns of Tables 2-4 are not metrics; they are kept in :data:`PRINTED_AVERAGES`.
Numbers the paper gives only in its prose about Fig. 3 are in :data:`FIG3_TEXT`.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from relate.errors import DataError, RelateError
from relate.segmenters import TABLE as SEGMENTER_TABLE

COLUMNS = ("table", "dataset", "segmenter", "row", "metric", "value")
ROW_COLUMNS = ("row", "variant", "options", "head", "description")
METRICS = ("f1@10", "f1@25", "f1@50", "edit", "acc")
DATASETS = ("gtea", "50salads", "breakfast")
SEGMENTERS = tuple(name for name, entry in SEGMENTER_TABLE.items() if entry.paper)
"""The segmenters the paper reports (the segmenter table's ``paper`` entries)."""
TABLES = (1, 2, 3, 4)
KEY = ("table", "dataset", "segmenter", "row", "metric")

VARIANTS = ("rgb", "flow", "two_stream", "mars", "kd", "rkd", "gcr", "relate")
"""Training variants (docs/training.md)."""
WITHOUT_PR_SUFFIX = "_wo_pr"
RELATE_OPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "distill": ("kd", "rkd", "gcr"),
        "aga": ("both", "rgb", "flow", "none"),
        "fusion": ("aft", "naive", "self_attention", "cross_attention", "local_attentive"),
    }
)
"""Option key -> allowed values, the first being the default
(relate.blocks.relate_model.RelateSpec)."""

RESULTS_RESOURCE = "paper_results.csv"
ROWS_RESOURCE = "paper_rows.csv"

PRINTED_AVERAGES: Mapping[tuple[int, str], tuple[float, float | None]] = MappingProxyType(
    {
        # Table 2, "Avg." column (no delta printed).
        (2, "rgb"): (68.3, None),
        (2, "kd"): (65.6, None),
        (2, "relate_wo_pr:aga=none"): (67.1, None),
        (2, "relate_wo_pr:aga=rgb"): (66.0, None),
        (2, "relate_wo_pr:aga=flow"): (67.8, None),
        (2, "relate_wo_pr"): (75.1, None),
        # Table 3, "Average (± delta to Naive)".
        (3, "relate_wo_pr:fusion=naive"): (77.6, 0.0),
        (3, "relate_wo_pr:fusion=self_attention"): (78.9, 1.3),
        (3, "relate_wo_pr:fusion=cross_attention"): (79.0, 1.4),
        (3, "relate_wo_pr:fusion=local_attentive"): (79.4, 1.8),
        (3, "relate_wo_pr"): (81.2, 3.6),
        # Table 4, "Average (+ delta to the row above)".
        (4, "kd"): (50.4, None),
        (4, "relate_wo_pr"): (53.3, 2.9),
        (4, "rkd"): (49.8, None),
        (4, "relate_wo_pr:distill=rkd"): (51.3, 1.5),
        (4, "gcr"): (49.2, None),
        (4, "relate_wo_pr:distill=gcr"): (50.8, 1.6),
    }
)
"""(table, row) -> (printed average of the five metrics, printed delta or None)."""

FIG3_TEXT: Mapping[str, float] = MappingProxyType(
    {
        "gtea_mean_video_seconds": 37.0,
        "two_stream_mean_f1": 79.7,  # "achieves the highest F1 score of 79.7"
        "relate_mean_f1": 79.7,  # "matches the two-stream model with an average F1 score of 79.7"
        "rgb_minus_flow_mean_f1": -4.0,  # "RGB-only ... decreases by 4.0 points ... OF-only"
        "two_stream_seconds": 16.8 * 60,  # "a latency of 16.8 minutes"
        "flow_extraction_seconds": 16.6 * 60,  # "(16.6 min)"
        "flow_extraction_share": 0.98,  # "accounts for 98% of the total inference time"
        "relate_seconds": 5.7,  # "an inference time of 5.7 seconds"
        "speedup": 175.0,  # "approximately 175x shorter"
    }
)
"""Fig. 3 numbers stated in Sec. 4.4.2 (GTEA, MS-TCN; mean F1 = mean of F1@{10,25,50})."""


@dataclass(frozen=True)
class RowSpec:
    """What one paper row name asks of a run.

    Attributes:
        row: the canonical row name.
        variant: training variant (docs/training.md).
        options: ``relate train --option`` items as (key, value), non-default values only.
        head: prediction head to score (``final``, or ``joint`` for RELATE without PR).
    """

    row: str
    variant: str
    options: tuple[tuple[str, str], ...]
    head: str

    @property
    def pr(self) -> bool:
        """Whether prediction refinement is applied (``relate`` only)."""
        return self.variant == "relate" and self.head == "final"

    @property
    def option_text(self) -> str:
        """Options as ``k=v,k=v`` (empty string for none)."""
        return ",".join(f"{key}={value}" for key, value in self.options)


def format_row(variant: str, options: Mapping[str, str] | None = None, pr: bool = True) -> str:
    """Canonical row name; default option values are dropped, keys put in canonical order."""
    options = dict(options or {})
    if variant not in VARIANTS:
        raise RelateError(f"unknown variant {variant!r}; known: {', '.join(VARIANTS)}")
    if variant != "relate":
        if options or not pr:
            raise RelateError(f"variant {variant!r} takes no options and no PR marker")
        return variant
    unknown = sorted(set(options) - set(RELATE_OPTIONS))
    if unknown:
        raise RelateError(f"unknown RELATE option(s) {unknown}; known: {', '.join(RELATE_OPTIONS)}")
    parts = []
    for key, allowed in RELATE_OPTIONS.items():
        value = options.get(key, allowed[0])
        if value not in allowed:
            raise RelateError(f"RELATE option {key}={value!r}; allowed: {', '.join(allowed)}")
        if value != allowed[0]:
            parts.append(f"{key}={value}")
    if "aga" in options and options["aga"] != "both" and options.get("fusion", "aft") != "aft":
        raise RelateError("aga other than 'both' needs fusion=aft")
    name = "relate" if pr else "relate" + WITHOUT_PR_SUFFIX
    return name + (":" + ",".join(parts) if parts else "")


def parse_row(row: str) -> RowSpec:
    """Row name -> :class:`RowSpec`; :class:`RelateError` unless ``row`` is canonical."""
    name, sep, option_text = row.partition(":")
    pr = not name.endswith(WITHOUT_PR_SUFFIX)
    variant = name if pr else name[: -len(WITHOUT_PR_SUFFIX)]
    options: dict[str, str] = {}
    if sep:
        for item in option_text.split(","):
            key, eq, value = item.partition("=")
            if not eq or not key or not value or key in options:
                raise RelateError(
                    f"row {row!r}: bad option {item!r} (expected KEY=VALUE, once each)"
                )
            options[key] = value
    canonical = format_row(variant, options, pr)
    if canonical != row:
        raise RelateError(f"row {row!r} is not canonical; write {canonical!r}")
    items = tuple((key, options[key]) for key in RELATE_OPTIONS if key in options)
    return RowSpec(row=row, variant=variant, options=items, head="final" if pr else "joint")


def _resource(name: str) -> Path:
    return Path(str(resources.files("relate.reports").joinpath(name)))


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise DataError(path, f"cannot read CSV ({error})") from None
    if tuple(header) != columns:
        raise DataError(
            path, f"columns must be exactly {','.join(columns)}; found {','.join(header)}"
        )
    empty = frame.index[(frame[[c for c in columns if c != "options"]] == "").any(axis=1)]
    if len(empty):
        raise DataError(path, f"empty cell on data line {int(empty[0]) + 1}")
    return frame


def load_paper_results(path: str | Path | None = None) -> pd.DataFrame:
    """The paper's numbers, validated (columns, names, 0 <= value <= 100, unique keys).

    Returns a frame with the columns of :data:`COLUMNS`: ``table`` int, ``value`` float, the
    rest str. ``path`` defaults to the packaged ``paper_results.csv``. Raises
    :class:`DataError` naming the file and the first problem found.
    """
    path = Path(path) if path is not None else _resource(RESULTS_RESOURCE)
    frame = _read_csv(path, COLUMNS)
    for column, allowed in (
        ("table", tuple(map(str, TABLES))),
        ("dataset", DATASETS),
        ("segmenter", SEGMENTERS),
        ("metric", METRICS),
    ):
        bad = sorted(set(frame[column]) - set(allowed))
        if bad:
            raise DataError(path, f"unknown {column} {bad}; allowed: {', '.join(allowed)}")
    for row in sorted(set(frame["row"])):
        try:
            parse_row(row)
        except RelateError as error:
            raise DataError(path, str(error)) from None
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad_values = frame.loc[values.isna() | (values < 0) | (values > 100), "value"]
    if len(bad_values):
        raise DataError(path, f"value {bad_values.iloc[0]!r} is not a number in [0, 100]")
    frame = frame.assign(table=frame["table"].astype(int), value=values.astype(float))
    duplicated = frame[frame.duplicated(list(KEY), keep=False)]
    if len(duplicated):
        first = duplicated.iloc[0]
        raise DataError(path, f"duplicate cell {tuple(first[list(KEY)])}")
    return frame.reset_index(drop=True)


def load_paper_rows(path: str | Path | None = None) -> pd.DataFrame:
    """Row name -> run mapping (:data:`ROW_COLUMNS`), validated against :func:`parse_row`."""
    path = Path(path) if path is not None else _resource(ROWS_RESOURCE)
    frame = _read_csv(path, ROW_COLUMNS)
    if frame["row"].duplicated().any():
        twice = frame.loc[frame["row"].duplicated(), "row"].iloc[0]
        raise DataError(path, f"row {twice!r} listed twice")
    for line in frame.itertuples(index=False):
        try:
            spec = parse_row(line.row)
        except RelateError as error:
            raise DataError(path, str(error)) from None
        found = (line.variant, line.options, line.head)
        if found != (spec.variant, spec.option_text, spec.head):
            raise DataError(
                path,
                f"row {line.row!r}: variant/options/head {found} disagree with the name "
                f"({spec.variant!r}, {spec.option_text!r}, {spec.head!r})",
            )
    return frame


@cache
def _packaged_values() -> Mapping[tuple[int, str, str, str, str], float]:
    frame = load_paper_results()
    return MappingProxyType(
        {tuple(key): value for *key, value in frame[list(KEY) + ["value"]].itertuples(index=False)}
    )


def paper_value(
    table: int | str, dataset: str, segmenter: str, row: str, metric: str
) -> float | None:
    """The published value of one cell, or None when the paper has no such cell."""
    return _packaged_values().get((int(table), dataset, segmenter, row, metric))
