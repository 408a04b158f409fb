"""The opt-in fast path of `relate train` (``--fast``): deterministic bytes, and losses that
stay within a float tolerance of the default (eager) run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relate.cli import main
from relate.data.synthetic import SynthConfig, generate_dataset

TINY_MODEL = ["--set", "num_stages=2", "--set", "num_layers=4", "--set", "num_f_maps=16"]
LOSS_RTOL = 1e-4
"""Fused and looped Adam apply the same update with a different floating-point order; after
two epochs on the tiny dataset the summed losses agree to far better than this."""


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "synthetic"
    generate_dataset(
        root, SynthConfig(n_videos=8, min_frames=120, max_frames=200, n_splits=2), seed=0
    )
    return root


def train(data: Path, out: Path, *extra: str) -> Path:
    args = [
        "train", "--data", str(data), "--dataset", "synthetic", "--split", "1",
        "--segmenter", "mstcn", "--variant", "two_stream", "--seed", "0", "--out", str(out),
        "--epochs", "2", *TINY_MODEL, *extra,
    ]  # fmt: skip
    assert main(args) == 0
    return out


def epoch_losses(run: Path) -> list[dict[str, float]]:
    return [json.loads(line)["loss"] for line in (run / "log.jsonl").read_text().splitlines()]


def test_fast_path_is_deterministic_and_close_to_eager(synth: Path, tmp_path: Path) -> None:
    first = train(synth, tmp_path / "fast1", "--fast")
    second = train(synth, tmp_path / "fast2", "--fast")
    assert (first / "model.pt").read_bytes() == (second / "model.pt").read_bytes()
    assert epoch_losses(first) == epoch_losses(second)
    config = json.loads((first / "config.json").read_text())
    assert config["invocation"]["fast"] is True

    eager = train(synth, tmp_path / "eager")
    assert "fast" not in json.loads((eager / "config.json").read_text())["invocation"]
    fast_losses, eager_losses = epoch_losses(first), epoch_losses(eager)
    assert len(fast_losses) == len(eager_losses) == 2
    for fast_epoch, eager_epoch in zip(fast_losses, eager_losses, strict=True):
        assert fast_epoch.keys() == eager_epoch.keys()
        for key, value in eager_epoch.items():
            assert fast_epoch[key] == pytest.approx(value, rel=LOSS_RTOL, abs=1e-6), key


def test_fast_path_resumes_a_fast_run(synth: Path, tmp_path: Path) -> None:
    """A finished fast run is left alone by a rerun with the same options."""
    run = train(synth, tmp_path / "fast", "--fast")
    before = (run / "model.pt").read_bytes()
    train(synth, run, "--fast")
    assert (run / "model.pt").read_bytes() == before


@pytest.mark.parametrize("started_fast", [True, False])
def test_resume_must_keep_the_fast_option(
    synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, started_fast: bool
) -> None:
    """A run interrupted after epoch 1 resumes only with the option it started with."""
    import relate.runs.train

    real_epoch = relate.runs.train.TrainEpoch.__call__
    calls = []

    def epoch_that_diverges(*args, **kwargs):
        calls.append(1)
        losses, accuracy = real_epoch(*args, **kwargs)
        if len(calls) == 2:
            losses = {**losses, "total": float("nan")}
        return losses, accuracy

    run = tmp_path / "run"
    args = [
        "train", "--data", str(synth), "--dataset", "synthetic", "--split", "1",
        "--segmenter", "mstcn", "--variant", "two_stream", "--seed", "0", "--out", str(run),
        "--epochs", "2", *TINY_MODEL,
    ]  # fmt: skip
    first = [*args, "--fast"] if started_fast else args
    monkeypatch.setattr(relate.runs.train.TrainEpoch, "__call__", epoch_that_diverges)
    assert main(first) == 2 and (run / "checkpoint.pt").is_file()
    monkeypatch.setattr(relate.runs.train.TrainEpoch, "__call__", real_epoch)
    capsys.readouterr()
    other = args if started_fast else [*args, "--fast"]
    assert main(other) == 2
    error = capsys.readouterr().err
    assert "resume it the same way" in error and str(run / "config.json") in error
    assert main(first) == 0 and (run / "model.pt").is_file()
