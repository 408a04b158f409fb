"""Bad ``--out`` targets and a full disk in ``train`` and ``predict``: one clean line, no
traceback, nothing written (``evaluate`` and ``summarize`` are in test_cli_errors.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_error, snapshot, train_args


def _train(data: Path, out: Path, *extra: str) -> list[str]:
    return train_args(data, out, *extra, epochs=1)


def _out_is_file(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "run").write_text("x")
    return tmp / "out" / "run"


def _below_file(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "plain").write_text("x")
    return tmp / "out" / "plain" / "run"


def _deep_below_file(tmp: Path) -> Path:
    (tmp / "out").mkdir()
    (tmp / "out" / "plain").write_text("x")
    return tmp / "out" / "plain" / "a" / "run"


def _out_is_dir(tmp: Path) -> Path:
    (tmp / "out" / "p.npz").mkdir(parents=True)
    return tmp / "out" / "p.npz"


@pytest.mark.parametrize("target", [_out_is_file, _below_file, _deep_below_file])
def test_train_bad_out(run_cli, tiny_dataset: Path, tmp_path: Path, target) -> None:
    out = target(tmp_path)
    before = snapshot(tmp_path / "out")
    assert_clean_error(run_cli(*_train(tiny_dataset, out)), out)
    assert snapshot(tmp_path / "out") == before


@pytest.fixture
def run(run_cli, tiny_dataset: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    assert run_cli(*_train(tiny_dataset, folder, "--epochs", "0")).code == 0
    return folder


@pytest.mark.parametrize("target", [_out_is_dir, _below_file, _deep_below_file])
def test_predict_bad_out(run_cli, tiny_dataset: Path, tmp_path: Path, run: Path, target) -> None:
    out = target(tmp_path)
    before = snapshot(tmp_path)
    result = run_cli("predict", "--run", run, "--data", tiny_dataset, "--split", "1", "--out", out)
    assert_clean_error(result, out)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_predict_disk_full(
    run_cli,
    tiny_dataset: Path,
    tmp_path: Path,
    run: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    out = tmp_path / "out" / "p.npz"
    (tmp_path / "out").mkdir()
    before = snapshot(tmp_path)

    def full(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", full)
    result = run_cli("predict", "--run", run, "--data", tiny_dataset, "--split", "1", "--out", out)
    line = assert_clean_error(result, out)
    assert os.strerror(code) in line and ".tmp" not in line
    assert snapshot(tmp_path) == before


def test_train_disk_full_keeps_no_weights(
    run_cli, tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while training: one line naming the file being written, no model.pt, and no
    temporary left behind."""
    out = tmp_path / "run"

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    line = assert_clean_error(run_cli(*_train(tiny_dataset, out)), out)
    assert os.strerror(errno.ENOSPC) in line and ".tmp" not in line
    leftovers = [p.name for p in out.iterdir()] if out.exists() else []
    assert "model.pt" not in leftovers and not any(n.endswith(".tmp") for n in leftovers)
