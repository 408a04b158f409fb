"""Summary table of ``relate evaluate`` outputs: one row per predictor, splits averaged."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from relate import io
from relate.errors import DataError
from relate.metrics import average_splits
from relate.provenance import git_commit

METRIC_COLUMNS = ("f1@10", "f1@25", "f1@50", "edit", "acc")


def read_metrics(path: Path) -> dict:
    """One ``relate evaluate`` JSON file; ``DataError`` if unreadable or incomplete."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(path, f"cannot read metrics JSON ({error})") from None
    missing = [key for key in ("dataset", "split", "convention", "metrics", "synthetic") if key not in record]
    if missing:
        raise DataError(path, f"not a `relate evaluate` output: missing {missing}")
    return record


def summarize(paths: list[Path]) -> pd.DataFrame:
    """Rows (dataset, convention, label) with the unweighted mean over their splits."""
    records = [read_metrics(p) | {"path": p} for p in paths]
    rows = []
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for record in records:
        key = (record["dataset"], record["convention"], record.get("label") or record["path"].stem)
        groups.setdefault(key, []).append(record)
    for (dataset, convention, label), group in sorted(groups.items()):
        splits = sorted(r["split"] for r in group)
        if len(set(splits)) != len(splits):
            raise DataError(group[0]["path"], f"split given twice for {label!r}: {splits}")
        mean = average_splits([r["metrics"] for r in group])
        rows.append(
            {"dataset": dataset, "convention": convention, "predictor": label,
             "splits": ",".join(map(str, splits)), **{m: mean[m] for m in METRIC_COLUMNS}}
        )
    return pd.DataFrame(rows)


def write_summary(paths: list[Path], out_md: Path, title: str) -> pd.DataFrame:
    """Write the summary as Markdown (with a provenance header) and CSV beside it."""
    table = summarize(paths)
    synthetic = any(read_metrics(p)["synthetic"] for p in paths)
    header = [
        f"# {title}",
        "",
        f"- Data: {'SYNTHETIC (built-in generator), not the paper datasets' if synthetic else 'real'}",
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "- Metrics in percent, unweighted mean over the listed splits (MS-TCN protocol unless "
        "the convention column says otherwise).",
        "",
    ]
    body = tabulate(table, headers="keys", tablefmt="github", showindex=False, floatfmt=".1f")
    io.write_text(out_md, "\n".join(header) + "\n" + body + "\n")
    io.write_text(out_md.with_suffix(".csv"), table.to_csv(index=False, float_format="%.4f"))
    return table
