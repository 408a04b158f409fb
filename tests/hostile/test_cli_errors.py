"""Filesystem failures and misleading messages become one clean error line (exit 2)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import TINY_SPLITS

from relate.evaluation.trivial import PREDICTION_HEADER
from tests.hostile.conftest import assert_clean_error, snapshot


def _predictions(tiny: Path, folder: Path) -> Path:
    folder.mkdir()
    for video in TINY_SPLITS[1]:
        labels = (tiny / "groundTruth" / f"{video}.txt").read_text().split()
        (folder / f"{video}.txt").write_text(f"{PREDICTION_HEADER}\n{' '.join(labels)}\n")
    return folder


def _out_is_dir(tmp: Path) -> Path:
    (tmp / "out" / "m.json").mkdir(parents=True)
    return tmp / "out" / "m.json"


def _below_file(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "plain").write_text("x")
    return tmp / "out" / "plain" / "m.json"


def _deep_below_file(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "plain").write_text("x")
    return tmp / "out" / "plain" / "a" / "b" / "m.json"


@pytest.mark.parametrize("target", [_out_is_dir, _below_file, _deep_below_file])
def test_evaluate_bad_out(tiny_dataset: Path, tmp_path: Path, run_cli, target) -> None:
    preds = _predictions(tiny_dataset, tmp_path / "p")
    out = target(tmp_path)
    before = snapshot(tmp_path / "out")
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        out,
    )
    assert_clean_error(result, out)
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("target", [_out_is_dir, _below_file])
def test_summarize_bad_out(tmp_path: Path, run_cli, target) -> None:
    metrics = tmp_path / "m.json"
    metrics.write_text(
        '{"dataset": "gtea", "split": 1, "convention": "standard", "synthetic": true,'
        ' "metrics": {"acc": 1, "edit": 1, "f1@10": 1, "f1@25": 1, "f1@50": 1}}'
    )
    out = target(tmp_path)
    before = snapshot(tmp_path / "out")
    assert_clean_error(run_cli("summarize", metrics, "--out", out), out)
    assert snapshot(tmp_path / "out") == before


def test_summarize_csv_is_dir_writes_no_markdown(tmp_path: Path, run_cli) -> None:
    metrics = tmp_path / "m.json"
    metrics.write_text(
        '{"dataset": "gtea", "split": 1, "convention": "standard", "synthetic": true,'
        ' "metrics": {"acc": 1, "edit": 1, "f1@10": 1, "f1@25": 1, "f1@50": 1}}'
    )
    (tmp_path / "out" / "s.csv").mkdir(parents=True)
    before = snapshot(tmp_path / "out")
    assert_clean_error(run_cli("summarize", metrics, "--out", tmp_path / "out" / "s.md"), "s.csv")
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS])
def test_evaluate_disk_full(tiny_dataset: Path, tmp_path: Path, run_cli, monkeypatch, code) -> None:
    preds = _predictions(tiny_dataset, tmp_path / "p")
    out = tmp_path / "out" / "m.json"
    (tmp_path / "out").mkdir()

    def full(self, *args, **kwargs):
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "write_text", full)
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        out,
    )
    line = assert_clean_error(result, out)
    assert os.strerror(code) in line and ".tmp" not in line
    assert snapshot(tmp_path / "out") == {}


def test_disk_full_in_fsync(tiny_dataset: Path, tmp_path: Path, run_cli, monkeypatch) -> None:
    preds = _predictions(tiny_dataset, tmp_path / "p")
    out = tmp_path / "out" / "m.json"
    (tmp_path / "out").mkdir()

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        out,
    )
    assert_clean_error(result, out)
    assert snapshot(tmp_path / "out") == {}


def _loop(path: Path) -> Path:
    path.symlink_to(path.name)
    return path


def test_evaluate_predictions_symlink_loop(tiny_dataset: Path, tmp_path: Path, run_cli) -> None:
    preds = _loop(tmp_path / "p")
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        tmp_path / "m.json",
    )
    assert "symlink loop" in assert_clean_error(result, preds)
    assert not (tmp_path / "m.json").exists()


def test_evaluate_npz_symlink_loop(tiny_dataset: Path, tmp_path: Path, run_cli) -> None:
    preds = _loop(tmp_path / "p.npz")
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        tmp_path / "m.json",
    )
    assert "symlink loop" in assert_clean_error(result, preds)


def test_summarize_symlink_loop(tmp_path: Path, run_cli) -> None:
    metrics = _loop(tmp_path / "m.json")
    result = run_cli("summarize", metrics, "--out", tmp_path / "out" / "s.md")
    assert "symbolic links" in assert_clean_error(result, metrics)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("pairs", ["1", "2", "3"])
def test_synth_small_pairs_follow_default(tmp_path: Path, run_cli, pairs: str) -> None:
    result = run_cli(
        "synth",
        "--out",
        tmp_path / "d",
        "--pairs",
        pairs,
        "--videos",
        "2",
        "--splits",
        "1",
        "--min-frames",
        "200",
        "--max-frames",
        "220",
    )
    assert result.code == 0, result.stderr
    assert (tmp_path / "d" / "mapping.txt").read_text().count("\n") == 2 * int(pairs) + 1
