"""Tables 1-4 and the side tables, from ``relate evaluate`` JSON files (design.md §11).

:func:`collect` reads metrics files into one frame (one line per file). :func:`paper_table`
lays out every cell of one of the paper's tables: reproduced mean ± std over seeds (each
seed's value is the unweighted mean over its splits), the paper's value and the delta
(reproduced − paper). A cell without runs says "not run"; nothing is ever filled in.
:func:`convention_table` and :func:`preset_table` compare the same runs scored under two
conventions, and the ``release`` preset against ``paper_literal``. docs/reports.md has the
layout of each output.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from relate.errors import DataError, RelateError
from relate.metrics import CONVENTIONS, average_splits
from relate.presets import DISTILLED, PRESETS
from relate.provenance import git_commit
from relate.reports.paper_results import (
    PRINTED_AVERAGES,
    RELATE_OPTIONS,
    load_paper_results,
    parse_row,
)
from relate.reports.summary import METRIC_COLUMNS, read_metrics

logger = logging.getLogger(__name__)

METRICS: tuple[str, ...] = METRIC_COLUMNS
"""The five metrics, in the paper's column order."""
NO_PRESET = "-"
"""``preset`` of the variants presets do not apply to (rgb, flow, two_stream)."""
KEY = ("dataset", "segmenter", "row", "preset", "convention", "split", "seed")
"""What identifies one metrics file; two files with the same key are an error."""
FRAME_COLUMNS = (
    "dataset", "segmenter", "row", "variant", "preset", "convention", "split", "seed",
    "epochs", "synthetic", "head", "options", *METRICS, "path",
)
METRIC_TITLES = {"f1@10": "F1@10", "f1@25": "F1@25", "f1@50": "F1@50", "edit": "Edit",
                 "acc": "Acc", "avg": "Avg", "avg_gain": "Avg gain"}
DATASET_TITLES = {"gtea": "GTEA", "50salads": "50Salads", "breakfast": "Breakfast"}
SEGMENTER_TITLES = {"mstcn": "MS-TCN", "asformer": "ASFormer", "fact": "FACT"}
TABLE_TITLES = {
    1: "Table 1: performance comparison on three datasets and three segmenters",
    2: "Table 2: ablation of distillation, dual branch and action-gated attention "
       "(50Salads, MS-TCN)",
    3: "Table 3: fusion mechanisms (GTEA, ASFormer)",
    4: "Table 4: CMKD methods (Breakfast, MS-TCN)",
}
ROW_TITLES: Mapping[int, Mapping[str, str]] = {
    1: {"two_stream": "RGB+OF (two-stream)", "rgb": "RGB", "relate_wo_pr": "RELATE (w/o PR)",
        "relate": "RELATE"},
    2: {"rgb": "RGB baseline", "kd": "CMKD, no DB", "relate_wo_pr:aga=none": "CMKD + DB, no AGA",
        "relate_wo_pr:aga=rgb": "CMKD + DB + AGA on RGB",
        "relate_wo_pr:aga=flow": "CMKD + DB + AGA on OF",
        "relate_wo_pr": "CMKD + DB + AGA on both (RELATE w/o PR)"},
    3: {"relate_wo_pr:fusion=naive": "Naïve", "relate_wo_pr:fusion=self_attention":
        "Self-attention", "relate_wo_pr:fusion=cross_attention": "Cross-attention",
        "relate_wo_pr:fusion=local_attentive": "Local-attentive", "relate_wo_pr": "Ours (AFT)"},
    4: {"kd": "KD", "relate_wo_pr": "RELATE + KD", "rkd": "RKD",
        "relate_wo_pr:distill=rkd": "RELATE + RKD", "gcr": "GCR",
        "relate_wo_pr:distill=gcr": "RELATE + GCR"},
}
"""(table, row name) -> the row's label in the paper."""
GAIN_REFERENCE: Mapping[int, Mapping[str, str]] = {
    3: {row: "relate_wo_pr:fusion=naive" for row in ROW_TITLES[3]},
    4: {"relate_wo_pr": "kd", "relate_wo_pr:distill=rkd": "rkd",
        "relate_wo_pr:distill=gcr": "gcr"},
}
"""Rows whose printed average carries a delta: row -> the row the delta is taken from."""
CELL_LEGEND = (
    "Each cell: reproduced mean ± sample std over seeds of the per-seed unweighted mean over "
    "splits (no ± with one seed), then (paper value; delta = reproduced − paper). "
    "\"not run\": no metrics file for that cell; nothing is filled in."
)


# --- reading ------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _record_row(path: Path) -> dict[str, object]:
    """One metrics JSON as a frame row; ``DataError`` naming ``path`` for a bad field."""
    record = read_metrics(path)
    label = record.get("label")
    if not isinstance(label, str) or not label:
        raise DataError(path, "no `label` (evaluate with --label ROW, e.g. --label relate)")
    try:
        spec = parse_row(label)
    except RelateError as error:
        raise DataError(path, f"label: {error}") from None
    if not isinstance(record["dataset"], str) or not record["dataset"]:
        raise DataError(path, f"bad `dataset` {record['dataset']!r}")
    if not _is_int(record["split"]) or record["split"] < 1:
        raise DataError(path, f"bad `split` {record['split']!r} (an integer >= 1)")
    if not _is_int(record.get("seed")) or record["seed"] < 0:
        raise DataError(path, f"bad or missing `seed` {record.get('seed')!r} "
                              "(evaluate with --seed S)")
    if record["convention"] not in CONVENTIONS:
        raise DataError(path, f"unknown `convention` {record['convention']!r}")
    if not isinstance(record["synthetic"], bool):
        raise DataError(path, f"`synthetic` must be true or false, not {record['synthetic']!r}")
    scores = record["metrics"]
    if not isinstance(scores, dict):
        raise DataError(path, "`metrics` is not an object")
    for metric in METRICS:
        value = scores.get(metric)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or \
                not math.isfinite(value) or not 0 <= value <= 100:
            raise DataError(path, f"metrics[{metric!r}] is {value!r}, not a number in [0, 100]")
    run = record.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("segmenter"), str):
        raise DataError(path, "no `run.segmenter` (score the .npz of `relate predict`; tables "
                              "need the segmenter)")
    if run.get("variant") not in (None, spec.variant):
        raise DataError(path, f"label {label!r} is variant {spec.variant!r}, but the run is "
                              f"variant {run['variant']!r}")
    head = record.get("head")
    if head is not None and head != spec.head:
        raise DataError(path, f"label {label!r} is scored on head {spec.head!r}, this file on "
                              f"head {head!r}")
    options = run.get("options") or {}
    if not isinstance(options, dict):
        raise DataError(path, f"`run.options` is not an object: {options!r}")
    if spec.variant == "relate":
        wanted = dict(spec.options)
        for key, allowed in RELATE_OPTIONS.items():
            found = str(options.get(key, allowed[0]))
            if found != wanted.get(key, allowed[0]):
                raise DataError(path, f"label {label!r} needs {key}="
                                      f"{wanted.get(key, allowed[0])}, the run has {key}={found}")
    preset = (run.get("preset") or "release") if spec.variant in DISTILLED else NO_PRESET
    if preset not in (*PRESETS, NO_PRESET):
        raise DataError(path, f"unknown `run.preset` {preset!r}; known: {', '.join(PRESETS)}")
    epochs = run.get("epochs")
    if epochs is not None and not _is_int(epochs):
        raise DataError(path, f"bad `run.epochs` {epochs!r}")
    return {
        "dataset": record["dataset"], "segmenter": run["segmenter"], "row": label,
        "variant": spec.variant, "preset": preset, "convention": record["convention"],
        "split": record["split"], "seed": record["seed"], "epochs": epochs,
        "synthetic": record["synthetic"], "head": head or spec.head,
        "options": json.dumps(options, sort_keys=True),
        **{metric: float(scores[metric]) for metric in METRICS}, "path": str(path),
    }


def collect(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One frame line per ``relate evaluate`` JSON (columns :data:`FRAME_COLUMNS`).

    ``preset`` is ``run.preset`` for the distilled variants (``release`` when the run had
    none) and :data:`NO_PRESET` for the others. Raises
    :class:`DataError` naming the file for an unreadable file, a missing or bad field, a label
    that disagrees with its run (variant, head, RELATE options), or a second file with the
    same :data:`KEY`.
    """
    rows = [_record_row(Path(path)) for path in paths]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    if frame.empty:
        return frame
    frame["split"] = frame["split"].astype(int)
    frame["seed"] = frame["seed"].astype(int)
    twice = frame[frame.duplicated(list(KEY), keep=False)]
    if len(twice):
        first = twice.iloc[0]
        other = twice[(twice[list(KEY)] == first[list(KEY)]).all(axis=1)].iloc[1]
        key = ", ".join(f"{k}={first[k]}" for k in KEY)
        raise DataError(other["path"], f"duplicate run ({key}); also in {first['path']}")
    return frame


def read_path_list(path: Path) -> list[Path]:
    """Paths listed one per line in ``path`` (blank lines and ``#`` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the list of metrics files ({error})") from None
    return [Path(line.strip()) for line in lines if line.strip() and not line.startswith("#")]


# --- aggregation --------------------------------------------------------------------------


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
    coverage = {int(seed): tuple(sorted(group["split"].astype(int)))
                for seed, group in runs.groupby("seed")}
    if len(set(coverage.values())) > 1:
        listed = "; ".join(f"seed {s}: splits {','.join(map(str, c))}"
                           for s, c in sorted(coverage.items()))
        raise RelateError(f"{what}: seeds cover different splits ({listed}); "
                          "give every seed the same splits")
    per_seed = {}
    for seed, group in runs.groupby("seed"):
        scores = average_splits([{m: float(r[m]) for m in METRICS}
                                 for _, r in group.sort_values("split").iterrows()])
        scores["avg"] = math.fsum(scores[m] for m in METRICS) / len(METRICS)
        per_seed[int(seed)] = scores
    epochs = tuple(sorted({None if pd.isna(e) else int(e) for e in runs["epochs"]},
                          key=lambda e: (e is None, e or 0)))
    return CellStats(per_seed, next(iter(coverage.values())), epochs,
                     bool(runs["synthetic"].any()), tuple(runs["path"]))


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


# --- formatting ---------------------------------------------------------------------------


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
    if stats is None:
        return "-"
    return f"{stats.n_seeds} seed(s) × {len(stats.splits)} split(s)"


def _ranges(values: Iterable[int]) -> str:
    return ",".join(map(str, sorted(set(values)))) or "-"


def data_source_line(frame: pd.DataFrame, dataset_from: Mapping[str, str] | None = None,
                     paper_column: bool = True) -> str:
    """"Data: ..." line saying plainly whether the numbers are from synthetic data."""
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
        f"cells are filled from dataset `{source}`" for source, papers in sorted(by_source.items()))
    if synthetic:
        lead = "SYNTHETIC" if not real else "MIXED: SYNTHETIC"
        return (f"- Data: **{lead}** ({', '.join(synthetic)}"
                f"{'; real: ' + ', '.join(real) if real else ''}). Numbers computed on "
                "synthetic data are NOT comparable to the paper's"
                + ("; the paper column is shown for reference only" if paper_column else "")
                + f"{stand_in}.")
    return f"- Data: real datasets ({', '.join(real)}){stand_in}."


def _epochs_line(used: pd.DataFrame) -> str:
    if used.empty:
        return "- Epochs: no runs"
    found = {}
    for (segmenter, variant), group in used.groupby(["segmenter", "variant"]):
        found[f"{segmenter}/{variant}"] = _ranges(int(e) for e in group["epochs"].dropna())
    if len(set(found.values())) == 1:
        return f"- Epochs (run.epochs): {next(iter(found.values()))} for every run"
    return "- Epochs (run.epochs): " + "; ".join(f"{k} {v}" for k, v in sorted(found.items()))


def header_lines(title: str, used: pd.DataFrame, settings: str,
                 dataset_from: Mapping[str, str] | None = None,
                 paper_column: bool = True) -> list[str]:
    """Title and provenance lines of every report table."""
    if used.empty:
        seeds = splits = "-"
    else:
        seeds = _ranges(used["seed"].astype(int))
        splits = "; ".join(f"{d} {_ranges(g['split'].astype(int))}"
                           for d, g in used.groupby("dataset"))
    return [
        f"# {title}",
        "",
        data_source_line(used, dataset_from, paper_column),
        f"- {settings}",
        f"- Seeds: {seeds}; splits: {splits}",
        _epochs_line(used),
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


# --- the paper's tables -------------------------------------------------------------------


def _paper_layout(table_id: int) -> tuple[pd.DataFrame, list[tuple[str, str, str]]]:
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
        logger.info("table %d: %d of %d metrics file(s) under %s/%s fill no cell of this table",
                    table_id, unused, len(runs), convention, preset)
    csv_lines, md_rows = [], []
    for dataset, segmenter, row in cells:
        cell = stats[(dataset, segmenter, row)]
        title = ROW_TITLES[table_id].get(row, row)
        shown = {"Dataset": DATASET_TITLES[dataset], "Segmenter": SEGMENTER_TITLES[segmenter],
                 "Method": title, "Row": f"`{row}`", "Runs": _runs_text(cell)}
        for metric in metrics:
            if metric == "avg":
                printed = PRINTED_AVERAGES.get((table_id, row))
                reference = printed[0] if printed else None
            else:
                reference = _paper_cell(paper, dataset, segmenter, row, metric)
            line = _csv_line(table_id, dataset, dataset_from.get(dataset, dataset), segmenter,
                             row, title, metric, cell, reference)
            csv_lines.append(line)
            shown[METRIC_TITLES[metric]] = _cell_text(cell, metric, reference)
        if table_id in GAIN_REFERENCE:
            gain_line = _gain_line(table_id, dataset, dataset_from.get(dataset, dataset),
                                   segmenter, row, title, stats)
            csv_lines.append(gain_line)
            shown["Avg gain"] = _gain_text(gain_line)
        md_rows.append(shown)
    csv_frame = pd.DataFrame(csv_lines)
    settings = (f"Convention: `{convention}`; preset of the distilled rows: `{preset}` "
                "(the baselines rgb / two_stream have none)")
    lines = header_lines(TABLE_TITLES[table_id], used_frame, settings, {
        d: s for d, s in dataset_from.items() if d in {c[0] for c in cells}})
    lines += [f"- {CELL_LEGEND}"]
    if with_avg:
        lines += ["- Avg: mean of the five metrics per seed, then mean ± std over seeds; "
                  "paper value = the printed average."]
    if table_id in GAIN_REFERENCE:
        lines += ["- Avg gain: reproduced Avg of the row minus that of "
                  + ("Naïve" if table_id == 3 else "its single-branch method")
                  + " (paper: the printed delta)."]
    lines.append("")
    drop = ["Dataset", "Segmenter"] if table_id != 1 else ["Dataset"]
    if table_id == 1:
        for dataset in DATASET_TITLES:
            block = [{k: v for k, v in r.items() if k not in drop} for r in md_rows
                     if r["Dataset"] == DATASET_TITLES[dataset]]
            lines += [f"## {DATASET_TITLES[dataset]}", "",
                      tabulate(block, headers="keys", tablefmt="github"), ""]
    else:
        block = [{k: v for k, v in r.items() if k not in drop} for r in md_rows]
        lines += [tabulate(block, headers="keys", tablefmt="github"), ""]
    return "\n".join(lines), csv_frame


def _paper_cell(paper: pd.DataFrame, dataset: str, segmenter: str, row: str,
                metric: str) -> float | None:
    hit = paper[(paper["dataset"] == dataset) & (paper["segmenter"] == segmenter)
                & (paper["row"] == row) & (paper["metric"] == metric)]
    return float(hit["value"].iloc[0]) if len(hit) else None


def _csv_line(table_id: int, dataset: str, source: str, segmenter: str, row: str, title: str,
              metric: str, cell: CellStats | None, reference: float | None) -> dict[str, object]:
    mean = cell.mean(metric) if cell else math.nan
    return {
        "table": table_id, "dataset": dataset, "source_dataset": source,
        "segmenter": segmenter, "row": row, "title": title, "metric": metric,
        "mean": mean, "std": cell.std(metric) if cell else math.nan,
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
    paper = fmt(reference)
    if cell is None:
        return f"not run ({paper})"
    delta = fmt(cell.mean(metric) - reference, signed=True) if reference is not None else "-"
    return f"{fmt_stats(cell, metric)} ({paper}; {delta})"


def _gain_line(table_id: int, dataset: str, source: str, segmenter: str, row: str, title: str,
               stats: Mapping[tuple[str, str, str], CellStats | None]) -> dict[str, object]:
    reference_row = GAIN_REFERENCE[table_id].get(row)
    printed = PRINTED_AVERAGES.get((table_id, row))
    paper = printed[1] if printed and printed[1] is not None else math.nan
    mine = stats.get((dataset, segmenter, row))
    ref = stats.get((dataset, segmenter, reference_row)) if reference_row else None
    gain = mine.mean("avg") - ref.mean("avg") if mine and ref else math.nan
    return {
        "table": table_id, "dataset": dataset, "source_dataset": source,
        "segmenter": segmenter, "row": row, "title": title, "metric": "avg_gain",
        "mean": gain, "std": math.nan, "n_seeds": min(mine.n_seeds, ref.n_seeds)
        if mine and ref else 0, "seeds": "", "splits": "", "epochs": "",
        "synthetic": bool(mine and mine.synthetic) or bool(ref and ref.synthetic),
        "paper": paper, "delta": gain - paper if not (math.isnan(gain) or math.isnan(paper))
        else math.nan, "status": "not applicable" if reference_row is None
        else ("ok" if mine and ref else "not run"),
    }


def _gain_text(line: Mapping[str, object]) -> str:
    if line["status"] == "not applicable":
        return ""
    paper = fmt(line["paper"], signed=True)
    if line["status"] == "not run":
        return f"not run ({paper})"
    return f"{fmt(line['mean'], signed=True)} ({paper})"


# --- side tables --------------------------------------------------------------------------


def _side_table(
    rows: pd.DataFrame, axis: str, first: str, second: str,
    title: str, settings: str,
) -> tuple[str, pd.DataFrame]:
    """Rows (dataset, segmenter, row) × {first, second, second − first} over ``axis``."""
    groups = sorted({(d, s, r) for d, s, r in zip(rows["dataset"], rows["segmenter"],
                                                    rows["row"])})
    md_rows, csv_lines = [], []
    for dataset, segmenter, row in groups:
        cell = select(rows, dataset=dataset, segmenter=segmenter, row=row)
        stats = {}
        for value in (first, second):
            what = f"row {row!r} ({dataset}, {segmenter}, {axis}={value})"
            stats[value] = cell_stats(select(cell, **{axis: value}), what)
        a, b = stats[first], stats[second]
        for label, current in ((first, a), (second, b), (f"{second} − {first}", None)):
            shown = {"Dataset": dataset, "Segmenter": segmenter, "Row": f"`{row}`",
                     axis.capitalize(): label}
            for metric in (*METRICS, "avg"):
                if current is not None:
                    text, mean, std = fmt_stats(current, metric), current.mean(metric), \
                        current.std(metric)
                elif label in (first, second):
                    text, mean, std = "not run", math.nan, math.nan
                elif a and b:
                    mean, std = b.mean(metric) - a.mean(metric), math.nan
                    text = fmt(mean, signed=True)
                else:
                    text, mean, std = "-", math.nan, math.nan
                shown[METRIC_TITLES[metric]] = text
                csv_lines.append({"dataset": dataset, "segmenter": segmenter, "row": row,
                                  axis: label, "metric": metric, "mean": mean, "std": std})
            shown["Runs"] = _runs_text(current) if label in (first, second) else ""
            md_rows.append(shown)
    lines = header_lines(title, rows, settings, paper_column=False)
    lines += ["- Cells: mean ± sample std over seeds of the per-seed mean over splits; the "
              "difference line is the difference of the means.", ""]
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
        rows = rows[(rows["variant"] == "relate")
                    & rows["convention"].isin(("standard", "relate_release"))]
    return _side_table(
        rows, "convention", "standard", "relate_release",
        "Side table: RELATE scored under the standard and the release's convention",
        f"Preset: `{preset}`. `standard` = MS-TCN eval protocol; `relate_release` = the "
        "RELATE release's evaluator (reference-relate-release.md §5).")


def preset_table(frame: pd.DataFrame, convention: str = "standard") -> tuple[str, pd.DataFrame]:
    """Release-default runs against ``paper_literal`` runs of the same rows.

    Rows: every distilled row (RELATE and the single-branch students) that has a run under
    ``convention``; per row the two presets and their difference (paper_literal − release).
    """
    rows = select(frame, convention=convention)
    if not rows.empty:
        rows = rows[rows["variant"].isin(DISTILLED)]
    return _side_table(
        rows, "preset", "release", "paper_literal",
        "Side table: release defaults against the paper_literal preset",
        f"Convention: `{convention}`. `release` = the authors' code; `paper_literal` = the "
        "paper's reading of every discrepancy (`relate options`).")


def write_table(out_md: Path, markdown: str, csv_frame: pd.DataFrame) -> Path:
    """Write ``markdown`` to ``out_md`` and the CSV beside it (same stem), both atomically."""
    from relate import io

    out_md = Path(out_md)
    csv_path = out_md.with_suffix(".csv")
    io.write_text(csv_path, csv_frame.to_csv(index=False, float_format="%.4f"))
    io.write_text(out_md, markdown if markdown.endswith("\n") else markdown + "\n")
    return csv_path


def parse_dataset_from(items: Sequence[str]) -> dict[str, str]:
    """``PAPER=SOURCE`` items (``gtea=synthetic``) -> dict; :class:`RelateError` if malformed."""
    mapping = {}
    for item in items:
        paper, eq, source = item.partition("=")
        if not eq or paper not in DATASET_TITLES or not source:
            raise RelateError(f"--dataset-from {item!r}: expected PAPER=SOURCE with PAPER one "
                              f"of {', '.join(DATASET_TITLES)}, e.g. gtea=synthetic")
        if paper in mapping:
            raise RelateError(f"--dataset-from: {paper} given twice")
        mapping[paper] = source
    return mapping
