"""Summary table of ``relate evaluate`` outputs: one row per predictor, splits averaged."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from relate import io
from relate.errors import DataError
from relate.evaluation.metrics import average_splits
from relate.provenance import git_commit

METRIC_COLUMNS = ("f1@10", "f1@25", "f1@50", "edit", "acc")


def read_metrics(path: Path) -> dict:
    """One ``relate evaluate`` JSON file; ``DataError`` if unreadable or incomplete."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DataError(path, f"cannot read metrics JSON ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise DataError(
            path, f"metrics JSON is not UTF-8 ({error.reason} at byte {error.start})"
        ) from None
    except json.JSONDecodeError as error:
        raise DataError(path, f"invalid metrics JSON ({error})") from None
    if not isinstance(record, dict):
        raise DataError(path, f"metrics JSON must be an object, got {type(record).__name__}")
    missing = [
        key
        for key in ("dataset", "split", "convention", "metrics", "synthetic")
        if key not in record
    ]
    if missing:
        raise DataError(path, f"not a `relate evaluate` output: missing {missing}")
    if not isinstance(record["metrics"], dict) or not all(
        isinstance(record["metrics"].get(m), (int, float)) for m in METRIC_COLUMNS
    ):
        raise DataError(path, f"'metrics' must map each of {list(METRIC_COLUMNS)} to a number")
    return record


def summarize(paths: list[Path]) -> pd.DataFrame:
    """Rows (dataset, convention, label): per seed the unweighted mean over splits, then the
    mean and (sample) standard deviation over seeds; ``std`` columns are 0 for one seed."""
    groups: dict[tuple[str, str, str], dict[int | None, list[dict]]] = {}
    for path in paths:
        record = read_metrics(path) | {"path": path}
        key = (record["dataset"], record["convention"], record.get("label") or path.stem)
        groups.setdefault(key, {}).setdefault(record.get("seed"), []).append(record)
    rows = []
    for (dataset, convention, label), by_seed in sorted(groups.items()):
        split_sets = set()
        per_seed = []
        for seed, group in sorted(by_seed.items(), key=lambda item: str(item[0])):
            splits = sorted(r["split"] for r in group)
            if len(set(splits)) != len(splits):
                raise DataError(
                    group[0]["path"], f"split given twice for {label!r}, seed {seed}: {splits}"
                )
            split_sets.add(tuple(splits))
            per_seed.append(average_splits([r["metrics"] for r in group]))
        if len(split_sets) != 1:
            raise DataError(
                by_seed[next(iter(by_seed))][0]["path"],
                f"seeds of {label!r} cover different splits: {sorted(split_sets)}",
            )
        seeds_table = pd.DataFrame(per_seed)[list(METRIC_COLUMNS)]
        std = seeds_table.std(ddof=1).fillna(0.0) if len(per_seed) > 1 else seeds_table.iloc[0] * 0
        rows.append(
            {
                "dataset": dataset,
                "convention": convention,
                "predictor": label,
                "splits": ",".join(map(str, split_sets.pop())),
                "seeds": len(per_seed),
                **{m: seeds_table[m].mean() for m in METRIC_COLUMNS},
                **{f"{m} std": std[m] for m in METRIC_COLUMNS},
            }
        )
    return pd.DataFrame(rows)


def write_summary(paths: list[Path], out_md: Path, title: str) -> pd.DataFrame:
    """Write the summary as Markdown (with a provenance header) and CSV beside it."""
    table = summarize(paths)
    synthetic = any(read_metrics(p)["synthetic"] for p in paths)
    header = [
        f"# {title}",
        "",
        "- Data: "
        + ("SYNTHETIC (built-in generator), not the paper datasets" if synthetic else "real"),
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "- Metrics in percent: per seed the unweighted mean over the listed splits, then mean "
        "and std over seeds (MS-TCN protocol unless the convention column says otherwise).",
        "",
    ]
    shown = table[["dataset", "convention", "predictor", "splits", "seeds"]].copy()
    for metric in METRIC_COLUMNS:
        shown[metric] = [
            f"{mean:.1f} ± {std:.1f}" if seeds > 1 else f"{mean:.1f}"
            for mean, std, seeds in zip(table[metric], table[f"{metric} std"], table["seeds"])
        ]
    body = tabulate(shown, headers="keys", tablefmt="github", showindex=False)
    with io.atomic_path(out_md) as tmp_md, io.atomic_path(out_md.with_suffix(".csv")) as tmp_csv:
        tmp_md.write_text("\n".join(header) + "\n" + body + "\n", encoding="utf-8")
        tmp_csv.write_text(table.to_csv(index=False, float_format="%.4f"), encoding="utf-8")
    return table
