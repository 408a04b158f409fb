"""Hostile run folders: a concurrent writer, damaged weights, hand-edited run files."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_error, snapshot, train_args


def _train(data: Path, out: Path, *extra: str) -> list[str]:
    return train_args(data, out, *extra, epochs=0)


def _predict(data: Path, run: Path, out: Path) -> list[str]:
    return ["predict", "--run", str(run), "--data", str(data), "--split", "1", "--out", str(out)]


@pytest.fixture
def finished(run_cli, tiny_dataset: Path, tmp_path: Path) -> Path:
    run = tmp_path / "run"
    assert run_cli(*_train(tiny_dataset, run)).code == 0
    return run


def test_second_writer_is_refused(run_cli, tiny_dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = snapshot(tmp_path)
        assert_clean_error(run_cli(*_train(tiny_dataset, run)), run)
        assert snapshot(tmp_path) == before
    finally:
        os.close(fd)


def _flip_last_tensor_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    index = data.rfind(b"PK\x01\x02") - 40  # inside the last member's stored bytes
    data[index] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = ["flip_byte", "stale_digest", "model_dir"]


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("command", ["train", "predict"])
def test_damaged_weights(
    run_cli, tiny_dataset: Path, tmp_path: Path, finished: Path, damage: str, command: str
) -> None:
    weights = finished / "model.pt"
    if damage == "flip_byte":
        _flip_last_tensor_byte(weights)
    elif damage == "stale_digest":
        (finished / "model.pt.sha256").write_text("0" * 64 + "\n")
    else:
        weights.unlink()
        weights.mkdir()
    before = snapshot(tmp_path)
    args = (
        _train(tiny_dataset, finished)
        if command == "train"
        else _predict(tiny_dataset, finished, tmp_path / "p.npz")
    )
    assert_clean_error(run_cli(*args), weights)
    assert snapshot(tmp_path) == before


CONFIG_EDITS = [
    ("variant", "bogus"),
    ("variant", {"name": "bogus"}),
    ("dataset", []),
    ("segmenter", "mstcn"),
    ("seed", "zero"),
]


@pytest.mark.parametrize(("key", "value"), CONFIG_EDITS)
@pytest.mark.parametrize("command", ["train", "predict"])
def test_hand_edited_config(
    run_cli,
    tiny_dataset: Path,
    tmp_path: Path,
    finished: Path,
    key: str,
    value: object,
    command: str,
) -> None:
    path = finished / "config.json"
    config = json.loads(path.read_text())
    config[key] = value
    path.write_text(json.dumps(config))
    before = snapshot(tmp_path)
    args = (
        _train(tiny_dataset, finished)
        if command == "train"
        else _predict(tiny_dataset, finished, tmp_path / "p.npz")
    )
    assert_clean_error(run_cli(*args), path)
    assert snapshot(tmp_path) == before


@pytest.fixture
def interrupted(
    run_cli, tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A run folder holding the checkpoint after epoch 1 of 3 (epoch 2 diverged)."""
    import relate.runs.train

    real_epoch = relate.runs.train.TrainEpoch.__call__
    calls = []

    def epoch_that_diverges(*args, **kwargs):
        calls.append(1)
        losses, accuracy = real_epoch(*args, **kwargs)
        if len(calls) == 2:
            losses = {**losses, "total": float("nan")}
        return losses, accuracy

    monkeypatch.setattr(relate.runs.train.TrainEpoch, "__call__", epoch_that_diverges)
    run = tmp_path / "run"
    assert run_cli(*_train(tiny_dataset, run, "--epochs", "3")).code == 2
    monkeypatch.setattr(relate.runs.train.TrainEpoch, "__call__", real_epoch)
    assert (run / "checkpoint.pt").is_file()
    return run


CHECKPOINT_EDITS = [
    ("epoch", "1"),
    ("epoch", True),
    ("config", 5),
    ("model", [1, 2]),
    ("optimizer", "adam"),
    ("rng", None),
    ("history", {"total": 1.0}),
    ("history", [1.0]),
    ("scheduler", 3),
]


@pytest.mark.parametrize(("key", "value"), CHECKPOINT_EDITS)
def test_checkpoint_field_of_wrong_type(
    run_cli, tiny_dataset: Path, tmp_path: Path, interrupted: Path, key: str, value: object
) -> None:
    """A hand-edited checkpoint (with a matching digest) is refused by field, not by traceback."""
    import torch

    from relate.integrity import record

    path = interrupted / "checkpoint.pt"
    state = torch.load(path, weights_only=True)
    state[key] = value
    torch.save(state, path)
    record(path)
    before = snapshot(tmp_path)
    line = assert_clean_error(run_cli(*_train(tiny_dataset, interrupted, "--epochs", "3")), path)
    assert repr(key) in line or "inconsistent" in line
    assert snapshot(tmp_path) == before
