"""`relate train`: run folder, determinism, resumption after SIGKILL, refusals, learning,
50Salads rate."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT, kill_after_first_checkpoint

from relate.cli import main
from relate.commands.train import VARIANT_NAMES, parse_settings
from relate.data.layout import DatasetLayout, read_labels
from relate.data.synthetic import SynthConfig, generate_dataset
from relate.data.variants import VARIANTS, get_variant
from relate.errors import RelateError
from relate.evaluation.predictions import upsample
from relate.runs.checkpoint import load_checkpoint, load_weights, save_bytes
from relate.runs.inputs import load_train_videos, read_block, read_classes
from relate.runs.seeding import capture_rng_state, restore_rng_state, seed_everything
from relate.runs.train import build_model

TINY_MODEL = ["--set", "num_stages=2", "--set", "num_layers=4", "--set", "num_f_maps=16"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 short synthetic videos, 2 splits (4 train / 4 test videos each)."""
    root = tmp_path_factory.mktemp("data") / "synthetic"
    generate_dataset(
        root, SynthConfig(n_videos=8, min_frames=120, max_frames=200, n_splits=2), seed=0
    )
    return root


def train_args(
    data: Path,
    out: Path,
    *extra: str,
    epochs: int = 2,
    seed: int = 0,
    dataset: str = "synthetic",
    variant: str = "two_stream",
) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dataset",
        dataset,
        "--split",
        "1",
        "--segmenter",
        "mstcn",
        "--variant",
        variant,
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        *TINY_MODEL,
        *extra,
    ]


def losses(run: Path) -> list[dict]:
    return [
        {k: v for k, v in json.loads(line).items() if k != "seconds"}
        for line in (run / "log.jsonl").read_text().splitlines()
    ]


def score(data: Path, run: Path, tmp: Path, dataset: str = "synthetic") -> dict[str, float]:
    npz, out = tmp / f"{run.name}.npz", tmp / f"{run.name}.json"
    assert (
        main(["predict", "--run", str(run), "--data", str(data), "--split", "1", "--out", str(npz)])
        == 0
    )
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(data),
                "--dataset",
                dataset,
                "--split",
                "1",
                "--predictions",
                str(npz),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return json.loads(out.read_text())["metrics"]


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1, err
    return err[0]


# --- units --------------------------------------------------------------------------------------


def test_variants_table() -> None:
    assert {n: (v.rows.start, v.rows.stop, v.in_dim) for n, v in VARIANTS.items()} == {
        "rgb": (0, 1024, 1024),
        "flow": (1024, 2048, 1024),
        "two_stream": (0, 2048, 2048),
    }
    assert tuple(VARIANTS) == VARIANT_NAMES  # the CLI lists them without importing torch
    with pytest.raises(
        RelateError, match="unknown input variant 'depth'; known: rgb, flow, two_stream"
    ):
        get_variant("depth")


def test_rng_state_round_trip_through_weights_only_file(tmp_path: Path) -> None:
    seed_everything(3)
    state = capture_rng_state()
    save_bytes(tmp_path / "rng.pt", state)
    expected = (np.random.rand(3), torch.rand(3), random.random())
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    again = (np.random.rand(3), torch.rand(3), random.random())
    assert np.array_equal(expected[0], again[0]) and torch.equal(expected[1], again[1])
    assert expected[2] == again[2]


def test_set_parsing() -> None:
    segmenter, training = parse_settings(
        [
            "num_stages=3",
            "train.lr=1e-3",
            "train.clip_grad_norm=None",
            "window_mask=intended",
            "flag=true",
        ]
    )
    assert segmenter == {"num_stages": 3, "window_mask": "intended", "flag": True}
    assert training == {"lr": 1e-3, "clip_grad_norm": None}
    with pytest.raises(RelateError, match="expected KEY=VALUE"):
        parse_settings(["num_stages"])


def test_subsample_and_repeat(synth: Path) -> None:
    layout = DatasetLayout(synth)
    video = min(p.stem for p in layout.features_dir.glob("*.npy"))
    features = np.load(layout.feature_path(video))
    t_len = features.shape[1]
    block = read_block(layout.feature_path(video), get_variant("flow"), None, 2)
    assert block.shape == (1024, math.ceil(t_len / 2)) and block.flags.writeable
    assert np.array_equal(block, features[1024:, ::2])
    repeated = upsample(block[:3], 2)
    assert repeated.shape == (3, 2 * math.ceil(t_len / 2)) and np.array_equal(
        repeated[:, 1::2], block[:3]
    )
    classes = read_classes(layout)
    (train,) = load_train_videos(layout, [video], classes, get_variant("rgb"), 2)
    labels = read_labels(layout.label_path(video))
    assert train.frames == t_len and list(train.targets) == [classes.index(x) for x in labels[::2]]


# --- the command --------------------------------------------------------------------------------


def test_run_folder_contents(synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    assert main(train_args(synth, run, "--set", "train.weight_decay=0.01")) == 0
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json",
        "log.jsonl",
        "model.pt",
        "model.pt.sha256",
        "provenance.json",
    ]
    config = json.loads((run / "config.json").read_text())
    assert config["segmenter"] == {
        "name": "mstcn",
        "overrides": {"num_stages": 2, "num_layers": 4, "num_f_maps": 16},
    }
    assert config["training"]["epochs"] == 2 and config["training"]["lr"] == 5e-4
    assert (
        config["training"]["weight_decay"] == 0.01 and config["seed"] == 0 and config["split"] == 1
    )
    assert config["variant"] == {"name": "two_stream", "rows": [0, 2048], "in_dim": 2048}
    assert config["dataset"]["sample_rate"] == 1 and config["dataset"]["synthetic"] is True
    assert len(config["dataset"]["classes"]) == 11 and len(config["train_videos"]) == 4
    log = losses(run)
    assert [line["epoch"] for line in log] == [1, 2]
    assert set(log[0]["loss"]) == {"ce", "smooth", "total"} and log[0]["lr"] == 5e-4
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["packages"]["torch"] and prov["device"] == "cpu" and len(prov["sessions"]) == 1
    before = (run / "model.pt").read_bytes()
    capsys.readouterr()
    assert main(train_args(synth, run, "--set", "train.weight_decay=0.01")) == 0  # complete: no-op
    assert (run / "model.pt").read_bytes() == before


def test_same_seed_gives_identical_bytes(synth: Path, tmp_path: Path) -> None:
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert main(train_args(synth, tmp_path / name, seed=seed, variant="rgb")) == 0
    model = (tmp_path / "a" / "model.pt").read_bytes()
    assert model == (tmp_path / "b" / "model.pt").read_bytes()
    assert model != (tmp_path / "c" / "model.pt").read_bytes()
    assert losses(tmp_path / "a") == losses(tmp_path / "b")


def test_resume_after_sigkill_equals_uninterrupted(synth: Path, tmp_path: Path) -> None:
    # plateau with patience 0 and batches of 3 videos exercise the scheduler and optimiser state.
    extra = (
        "--set",
        "train.scheduler=plateau",
        "--set",
        "train.plateau_patience=0",
        "--set",
        "train.batch_size=3",
        "--set",
        "train.lr=0.05",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "relate", *train_args(synth, out, *extra, epochs=4)]

    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    whole = subprocess.Popen(command(tmp_path / "whole"), **quiet)  # the reference, meanwhile
    run = tmp_path / "killed"
    kill_after_first_checkpoint(command(run), run, env, timeout=120)
    assert not (run / "model.pt").exists(), "the run finished before it could be killed"
    done = load_checkpoint(run / "checkpoint.pt")["epoch"]
    assert 1 <= done < 4
    assert whole.wait() == 0
    resumed = subprocess.run(command(run), env=env, check=True, capture_output=True, text=True)
    assert f"after epoch {done}" in resumed.stderr
    assert (run / "model.pt").read_bytes() == (tmp_path / "whole" / "model.pt").read_bytes()
    assert losses(run) == losses(tmp_path / "whole")
    assert len({line["lr"] for line in losses(run)}) > 1  # the plateau scheduler did act
    assert not (run / "checkpoint.pt").exists() and not list(run.glob(".*.tmp"))
    assert len(json.loads((run / "provenance.json").read_text())["sessions"]) == 2


def test_checkpoint_every_k_resumes_to_the_same_bytes(synth: Path, tmp_path: Path) -> None:
    """--checkpoint-every 2: checkpoints only after even epochs; a run killed after one repeats
    the epochs after it and ends in the bytes (and log) of a run checkpointed every epoch."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def command(out: Path, *extra: str) -> list[str]:
        args = train_args(synth, out, "--set", "train.lr=0.05", *extra, epochs=5, variant="rgb")
        return [sys.executable, "-m", "relate", *args]

    every = ("--checkpoint-every", "2")
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    whole = subprocess.Popen(command(tmp_path / "whole"), **quiet)
    run = tmp_path / "killed"
    kill_after_first_checkpoint(command(run, *every), run, env, timeout=120)
    assert not (run / "model.pt").exists(), "the run finished before it could be killed"
    done = load_checkpoint(run / "checkpoint.pt")["epoch"]
    assert done in (2, 4)
    assert whole.wait() == 0
    resumed = subprocess.run(
        command(run, *every), env=env, check=True, capture_output=True, text=True
    )
    assert f"after epoch {done}" in resumed.stderr
    assert (run / "model.pt").read_bytes() == (tmp_path / "whole" / "model.pt").read_bytes()
    assert losses(run) == losses(tmp_path / "whole")
    invocation = json.loads((run / "config.json").read_text())["invocation"]
    assert invocation["checkpoint_every"] == 2
    assert (
        "checkpoint_every"
        not in json.loads((tmp_path / "whole" / "config.json").read_text())["invocation"]
    )


class Opaque:
    """Any class: a weights-only load must refuse to construct it."""


@pytest.mark.parametrize("content", ["garbage", "pickled_object"])
def test_corrupt_checkpoint_is_one_line_error(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture, content: str
) -> None:
    run = tmp_path / "run"
    assert main(train_args(synth, run, epochs=1)) == 0
    (run / "model.pt").unlink()
    if content == "garbage":
        (run / "checkpoint.pt").write_bytes(b"\x00not a checkpoint" * 10)
    else:
        torch.save({"format": 1, "model": Opaque()}, run / "checkpoint.pt")
    capsys.readouterr()
    assert main(train_args(synth, run, epochs=1)) == 2
    line = one_line_error(capsys)
    assert str(run / "checkpoint.pt") in line and "corrupt or unsafe checkpoint" in line


def test_config_mismatch_on_resume_is_refused(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    assert main(train_args(synth, run, epochs=1)) == 0
    capsys.readouterr()
    assert main(train_args(synth, run, epochs=2)) == 2
    line = one_line_error(capsys)
    assert str(run / "config.json") in line and "training.epochs: 1 -> 2" in line
    assert main(train_args(synth, run, epochs=1, seed=9)) == 2
    assert "seed: 0 -> 9" in one_line_error(capsys)


def test_bad_requests_are_one_line_errors(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    capsys.readouterr()
    assert main(train_args(synth, tmp_path / "a", "--set", "depth=3")) == 2
    assert "cannot build segmenter 'mstcn'" in one_line_error(capsys)
    assert main(train_args(synth, tmp_path / "b", "--set", "train.momentum=0.9")) == 2
    assert "unknown training setting(s) ['momentum']" in one_line_error(capsys)
    assert main([*train_args(synth, tmp_path / "c"), "--segmenter", "tcn"]) == 2
    assert "unknown segmenter 'tcn'" in one_line_error(capsys)
    (tmp_path / "broken").mkdir()
    assert main(train_args(tmp_path / "broken", tmp_path / "d")) == 2
    assert "broken" in one_line_error(capsys)


def test_schedule_batches_and_clipping(synth: Path, tmp_path: Path) -> None:
    run = tmp_path / "fact_like"
    extra = (
        "--set",
        "train.scheduler=step_reset",
        "--set",
        "train.lr_decay_every=1",
        "--set",
        "train.batch_size=4",
        "--set",
        "train.clip_grad_norm=1.0",
    )
    assert main(train_args(synth, run, *extra, epochs=3)) == 0
    assert [line["lr"] for line in losses(run)] == pytest.approx(
        [5e-4, 5e-5, 5e-5]
    )  # not compounded


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_refused_and_auto_falls_back(
    synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = tmp_path / "run"
    assert main(train_args(synth, run, "--device", "cuda", epochs=1)) == 2
    assert "CUDA is not available" in one_line_error(capsys)
    assert not run.exists()
    assert main(train_args(synth, run, "--device", "auto", epochs=1)) == 0
    assert json.loads((run / "provenance.json").read_text())["device"] == "cpu"


def test_training_beats_untrained(synth: Path, tmp_path: Path) -> None:
    lr = ("--set", "train.lr=0.01")
    assert main(train_args(synth, tmp_path / "untrained", *lr, epochs=0)) == 0
    assert main(train_args(synth, tmp_path / "trained", *lr, epochs=8)) == 0
    before = score(synth, tmp_path / "untrained", tmp_path)
    after = score(synth, tmp_path / "trained", tmp_path)
    assert after["acc"] > before["acc"] + 10 and after["f1@50"] > before["f1@50"] + 10, (
        before,
        after,
    )


def test_50salads_rate(synth: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """--dataset 50salads on the synthetic folder: sample rate 2 from the registry."""
    run = tmp_path / "salads"
    assert main(train_args(synth, run, dataset="50salads", epochs=1)) == 0
    assert "the registry says 50salads has 19" in caplog.text
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"]["sample_rate"] == 2
    npz = tmp_path / "salads.npz"
    assert (
        main(
            ["predict", "--run", str(run), "--data", str(synth), "--split", "1", "--out", str(npz)]
        )
        == 0
    )
    layout = DatasetLayout(synth)
    with np.load(npz) as archive:
        meta = json.loads(str(archive["__meta__"]))
        assert meta["sample_rate"] == 2
        for video in meta["videos"]:
            t_len = np.load(layout.feature_path(video), mmap_mode="r").shape[1]
            final = archive[f"{video}/final"]
            assert final.shape[1] == 2 * math.ceil(t_len / 2) == meta["frames"][video]
            assert np.array_equal(final[:, 0::2], final[:, 1::2])  # every prediction repeated x2
    load_weights(run / "model.pt", build_model(config, torch.device("cpu")))  # loads strictly
    out = tmp_path / "salads.json"
    assert (
        main(
            [
                "evaluate",
                "--data",
                str(synth),
                "--dataset",
                "50salads",
                "--split",
                "1",
                "--predictions",
                str(npz),
                "--out",
                str(out),
            ]
        )
        == 0
    )
