"""Hostile training settings and devices: refused with one line before the run folder is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.hostile.conftest import assert_clean_error, snapshot, train_args


def _train(data: Path, out: Path, *extra: str) -> list[str]:
    return train_args(data, out, *extra, epochs=1)


SETTINGS = [
    "train.lr=abc",
    "train.lr=1e999",
    "train.lr=-1",
    "train.lr=0",
    "train.lr=true",
    "train.weight_decay=-1",
    "train.weight_decay=abc",
    "train.plateau_factor=2",
    "train.plateau_factor=0",
    "train.clip_grad_norm=abc",
    "train.clip_grad_norm=-3",
    "train.lr_decay_every=-2",
    "train.lr_decay_every=1.5",
    "train.batch_size=true",
    "train.batch_size=2.5",
    "train.plateau_patience=-1",
    "train.lr=NaN",
    "train.scheduler=[1]",
]


@pytest.mark.parametrize("setting", SETTINGS)
def test_bad_training_setting_writes_nothing(
    run_cli, tiny_dataset: Path, tmp_path: Path, setting: str
) -> None:
    out = tmp_path / "run"
    before = snapshot(tmp_path)
    result = run_cli(*_train(tiny_dataset, out, "--set", setting))
    assert result.code == 2 and "Traceback" not in result.stderr
    line = assert_clean_error(result, "invalid training settings")
    assert setting.split("=")[0].removeprefix("train.") in line
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("command", ["train", "predict"])
def test_device_cuda_without_cuda_is_refused(
    run_cli, tiny_dataset: Path, tmp_path: Path, command: str
) -> None:
    out = tmp_path / "run"
    if command == "train":
        args = _train(tiny_dataset, out, "--device", "cuda")
    else:
        assert run_cli(*_train(tiny_dataset, out, "--epochs", "0")).code == 0
        args = [
            "predict",
            "--run",
            str(out),
            "--data",
            str(tiny_dataset),
            "--split",
            "1",
            "--out",
            str(tmp_path / "p.npz"),
            "--device",
            "cuda",
        ]
    before = snapshot(tmp_path)
    assert_clean_error(run_cli(*args), "--device cuda")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_loss_stops_training(
    run_cli, tiny_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: float
) -> None:
    import relate.runs.train

    real_epoch = relate.runs.train.TrainEpoch.__call__
    calls = []

    def epoch_that_diverges(*args, **kwargs):
        losses, accuracy = real_epoch(*args, **kwargs)
        calls.append(1)
        if len(calls) == 2:
            losses = {**losses, "total": bad}
        return losses, accuracy

    monkeypatch.setattr(relate.runs.train.TrainEpoch, "__call__", epoch_that_diverges)
    out = tmp_path / "run"
    result = run_cli(*_train(tiny_dataset, out, "--epochs", "3"))
    line = assert_clean_error(result, out)
    assert "non-finite loss (total) in epoch 2" in line
    assert len(calls) == 2
    assert not (out / "model.pt").exists()
    # The last checkpoint is epoch 1's: the diverged epoch is never saved.
    from relate.runs.checkpoint import load_checkpoint

    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 1
