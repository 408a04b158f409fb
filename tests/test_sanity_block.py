"""The sanity block of index.md and the learning-curves figure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from relate.errors import DataError
from relate.reports.curves import learning_curves, read_run_curve
from relate.reports.scorecard.sanity import (
    FAIL,
    NOT_RUN,
    PASS,
    SanityMargins,
    majority_f1,
    sanity_lines,
    sanity_rows,
)
from relate.reports.tables import METRICS


def _frame(values: dict[tuple[str, str, str], list[float]]) -> pd.DataFrame:
    """(dataset, segmenter, row) -> F1@50 per split (seed 0)."""
    rows = []
    for (dataset, segmenter, row), scores in values.items():
        for split, f1 in enumerate(scores, start=1):
            rows.append(
                {"dataset": dataset, "segmenter": segmenter, "row": row, "seed": 0,
                 "split": split, "convention": "standard", "epochs": 1, "synthetic": True,
                 "path": f"{dataset}-{segmenter}-{row}-{split}",
                 **{metric: f1 for metric in METRICS}}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _cells(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    return {(r["dataset"].split(" ")[0], r["segmenter"]): r["cell"].strip("*") for r in rows}


def test_each_expectation_decides_the_cell() -> None:
    frame = _frame(
        {
            ("a", "mstcn", "rgb"): [30.0, 40.0],  # 35: 35 >= 5 + 20
            ("a", "mstcn", "two_stream"): [45.0, 45.0],  # 45 >= 35 + 10
            ("a", "fact", "rgb"): [20.0],  # 20 < 5 + 20
            ("a", "fact", "two_stream"): [60.0],
            ("b", "mstcn", "rgb"): [50.0],
            ("b", "mstcn", "two_stream"): [55.0],  # 55 < 50 + 10
            ("c", "mstcn", "rgb"): [50.0],  # no majority file for c
            ("c", "mstcn", "two_stream"): [90.0],
        }
    )
    rows = sanity_rows(frame, {"a": 5.0, "b": 0.0}, SanityMargins(20.0, 10.0))
    assert _cells(rows) == {
        ("a", "fact"): FAIL,
        ("a", "mstcn"): PASS,
        ("b", "mstcn"): FAIL,
        ("c", "mstcn"): NOT_RUN,
    }
    text = "\n".join(sanity_lines(frame, {"a": 5.0, "b": 0.0}))
    assert "1 of 4 cells PASS" in text and "(2 FAIL, 1 not run)" in text


def test_margins_are_inclusive_and_stand_ins_named() -> None:
    frame = _frame({("s", "mstcn", "rgb"): [20.0], ("s", "mstcn", "two_stream"): [30.0]})
    rows = sanity_rows(frame, {"s": 0.0}, SanityMargins(20.0, 10.0), {"gtea": "s"})
    assert rows[0]["cell"] == f"**{PASS}**" and rows[0]["dataset"] == "s (for gtea)"
    strict = sanity_rows(frame, {"s": 0.0}, SanityMargins(20.5, 10.0))
    assert strict[0]["cell"] == f"**{FAIL}**"


def _metrics(path: Path, label: str, split: int, f1: float, dataset: str = "s") -> Path:
    metrics = {"acc": 1.0, "edit": 1.0, "f1@10": 1.0, "f1@25": 1.0, "f1@50": f1}
    record = {"dataset": dataset, "split": split, "convention": "standard", "label": label,
              "synthetic": True, "metrics": metrics}  # fmt: skip
    path.write_text(json.dumps(record))
    return path


def test_majority_floor_is_the_mean_over_splits_of_majority_files(tmp_path: Path) -> None:
    files = [
        _metrics(tmp_path / "1.json", "majority-all", 1, 4.0),
        _metrics(tmp_path / "2.json", "majority-all", 2, 8.0),
        _metrics(tmp_path / "3.json", "nearest_mean-all", 1, 90.0),
    ]
    assert majority_f1(files) == {"s": 6.0}
    files.append(_metrics(tmp_path / "4.json", "majority-all", 2, 8.0))
    with pytest.raises(DataError, match="second majority file"):
        majority_f1(files)


def _run(folder: Path, dataset: str, variant: str, losses: list[float]) -> Path:
    folder.mkdir(parents=True)
    config = {"dataset": {"name": dataset}, "segmenter": {"name": "mstcn"},
              "variant": {"name": variant}, "split": 1, "seed": 0}  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    log = [
        {"epoch": i + 1, "loss": {"total": loss}, "train_acc": 10.0 * (i + 1)}
        for i, loss in enumerate(losses)
    ]
    (folder / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in log))
    return folder


def test_learning_curves_read_logs_and_draw_one_row_per_family(tmp_path: Path) -> None:
    a = _run(tmp_path / "a" / "rgb" / "seed0", "d1", "rgb", [9.0, 5.0, 2.0])
    b = _run(tmp_path / "b" / "two_stream" / "seed0", "d2", "two_stream", [8.0, 3.0])
    curve = read_run_curve(a)
    assert curve.family == ("d1", "mstcn") and curve.loss == (9.0, 5.0, 2.0)
    assert curve.train_acc == (10.0, 20.0, 30.0)
    out = learning_curves([a, b], tmp_path / "curves.png", "caption")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_learning_curves_refuse_a_folder_without_a_log(tmp_path: Path) -> None:
    run = _run(tmp_path / "r", "d", "rgb", [1.0])
    (run / "log.jsonl").unlink()
    with pytest.raises(DataError, match="log.jsonl"):
        read_run_curve(run)
    (run / "log.jsonl").write_text("")
    with pytest.raises(DataError, match="no epochs"):
        read_run_curve(run)


def test_each_cell_names_its_schedule() -> None:
    """The schedule column shows epochs, lr and recorded settings of the cell's runs, so a
    cell trained on its own demo schedule says so next to its verdict."""
    frame = _frame({("d", "fact", "rgb"): [40.0], ("d", "fact", "two_stream"): [70.0]})
    frame["lr"] = 1e-3
    frame["settings"] = "lr x0.1 after epoch 40, tm_use=false"
    frame["epochs"] = 60
    (row,) = sanity_rows(frame, {"d": 0.0})
    assert row["schedule"] == "60 ep, lr 0.001 (lr x0.1 after epoch 40, tm_use=false)"
    assert row["cell"] == "**PASS**"
    frame["epochs"] = None
    assert sanity_rows(frame, {"d": 0.0})[0]["schedule"] == "-"
