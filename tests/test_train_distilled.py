"""Distilled variants through the CLI: kd/rkd/gcr/mars students, RELATE with ASFormer and FACT,
presets, param_budget, the pre-trained bridge, PR options at predict time, kill and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import kill_after_first_checkpoint

from relate.cli import main
from relate.data.synthetic import SynthConfig, generate_dataset
from relate.runs.checkpoint import load_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[1]
TINY_SEG = ["--set", "num_layers=2", "--set", "num_f_maps=8"]
TINY_STUDENT = ["--option", "segmenter.num_layers=2", "--option", "segmenter.num_f_maps=8"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "synthetic"
    generate_dataset(
        root, SynthConfig(n_videos=6, min_frames=100, max_frames=120, n_splits=2), seed=0
    )
    return root


def args(
    data: Path,
    out: Path,
    variant: str,
    *extra: str,
    segmenter: str = "mstcn",
    epochs: int = 1,
    seed: int = 0,
) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dataset",
        "synthetic",
        "--split",
        "1",
        "--segmenter",
        segmenter,
        "--variant",
        variant,
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        *extra,
    ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def flow4(synth: Path, runs: Path) -> Path:
    """A flow teacher at the MS-TCN baseline depth (4 stages), tiny widths."""
    out = runs / "flow4"
    assert main(args(synth, out, "flow", *TINY_SEG)) == 0
    return out


@pytest.fixture(scope="module")
def flow3(synth: Path, runs: Path) -> Path:
    """A flow teacher at RELATE's depth (3 stages) with the release's width and 3 layers (the
    layer count param_budget=match_total picks for MS-TCN)."""
    out = runs / "flow3"
    assert main(args(synth, out, "flow", "--set", "num_stages=3", "--set", "num_layers=3")) == 0
    return out


@pytest.mark.parametrize("method", ["kd", "rkd", "gcr", "mars"])
def test_students_train_predict_evaluate(
    method: str, synth: Path, flow4: Path, runs: Path, tmp_path: Path
) -> None:
    out = runs / method
    assert main(args(synth, out, method, "--teacher", str(flow4), *TINY_STUDENT)) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["variant"]["name"] == method and config["student"]["spec"]["method"] == method
    assert config["training"]["lr"] == 1e-3 and config["training"]["weight_decay"] == 1e-5
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    weight = 50.0 if method == "mars" else 0.5
    terms = log[0]["loss"]
    assert terms["distill"] > 0
    assert terms["total"] == pytest.approx(terms["seg"] + weight * terms["distill"], rel=1e-5)
    state = torch.load(out / "model.pt", weights_only=True)
    assert all(k.startswith("segmenter.") for k in state)  # no teacher weights
    assert (
        sum(1 for k in state if k.endswith("conv_out.weight")) >= 4
    )  # baseline depth (D20, docs/decisions.md)
    npz = tmp_path / "p.npz"
    assert (
        main(
            ["predict", "--run", str(out), "--data", str(synth), "--split", "1", "--out", str(npz)]
        )
        == 0
    )
    with np.load(npz) as data:
        meta = json.loads(str(data["__meta__"]))
        assert "final" in meta["heads"] and "refine" not in meta
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                str(npz),
                "--data",
                str(synth),
                "--dataset",
                "synthetic",
                "--split",
                "1",
                "--out",
                str(tmp_path / "m.json"),
            ]
        )
        == 0
    )


def test_student_teacher_must_match(
    synth: Path, flow4: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(
        args(
            synth,
            tmp_path / "k",
            "kd",
            "--teacher",
            str(flow4),
            *TINY_STUDENT,
            "--option",
            "single_branch_depth=relate",
        )
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "flow4/config.json" in err and "another architecture" in err
    assert not (tmp_path / "k").exists()
    assert main(args(synth, tmp_path / "x", "kd", *TINY_STUDENT)) == 2
    assert "needs --teacher" in capsys.readouterr().err
    assert main(args(synth, tmp_path / "y", "rgb", "--preset", "paper_literal")) == 2
    assert (
        main(
            args(
                synth,
                tmp_path / "z",
                "kd",
                "--teacher",
                str(flow4),
                *TINY_STUDENT,
                "--option",
                "pr_mstar=unimodal",
            )
        )
        == 2
    )
    assert "relate only" in capsys.readouterr().err


@pytest.fixture(scope="module")
def bridge(synth: Path, runs: Path) -> Path:
    out = runs / "bridge"
    assert (
        main(
            [
                "train-bridge",
                "--data",
                str(synth),
                "--dataset",
                "synthetic",
                "--split",
                "1",
                "--seed",
                "0",
                "--out",
                str(out),
                "--epochs",
                "2",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    return out


def test_bridge_run_is_deterministic(synth: Path, bridge: Path, tmp_path: Path) -> None:
    again = tmp_path / "b"
    assert (
        main(
            [
                "train-bridge",
                "--data",
                str(synth),
                "--dataset",
                "synthetic",
                "--split",
                "1",
                "--seed",
                "0",
                "--out",
                str(again),
                "--epochs",
                "2",
                "--batch-size",
                "2",
            ]
        )
        == 0
    )
    assert (again / "model.pt").read_bytes() == (bridge / "model.pt").read_bytes()
    log = [json.loads(x) for x in (bridge / "log.jsonl").read_text().splitlines()]
    assert len(log) == 2 and log[1]["loss"]["mse"] < log[0]["loss"]["mse"]


def test_paper_literal_relate_run(
    synth: Path,
    flow3: Path,
    bridge: Path,
    runs: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    out = runs / "paper"
    base = args(synth, out, "relate", "--teacher", str(flow3), "--preset", "paper_literal")
    assert main(base) == 2  # bridge=pretrained needs --bridge
    assert "--bridge" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--bridge", str(bridge)]) == 0
    config = json.loads((out / "config.json").read_text())["relate"]
    assert config["preset"] == "paper_literal"
    assert config["spec"]["num_layers"] == 3  # param_budget=match_total (D1)
    assert config["spec"]["trunk"] == "paper" and config["spec"]["anchor_stage"] == "last"
    assert config["pr_options"] == {"pr_confidence": "raw", "pr_mstar": "unimodal"}
    assert config["run_options"]["param_budget"] == "match_total"
    # the frozen bridge is the pre-trained one, unchanged by training
    state = torch.load(out / "model.pt", weights_only=True)
    pre = torch.load(bridge / "model.pt", weights_only=True)
    for key, value in pre.items():
        assert torch.equal(state[f"bridge.{key}"], value)
    npz = tmp_path / "p.npz"
    assert (
        main(
            ["predict", "--run", str(out), "--data", str(synth), "--split", "1", "--out", str(npz)]
        )
        == 0
    )
    with np.load(npz) as data:
        meta = json.loads(str(data["__meta__"]))
    assert meta["refine"]["options"]["pr_confidence"] == "raw"
    assert meta["refine"]["options"]["pr_mstar"] == "unimodal"
    npz2 = tmp_path / "q.npz"
    assert (
        main(
            [
                "predict",
                "--run",
                str(out),
                "--data",
                str(synth),
                "--split",
                "1",
                "--out",
                str(npz2),
                "--pr-option",
                "pr_confidence=minmax_video",
                "--pr-option",
                "pr_delta=0.5",
            ]
        )
        == 0
    )
    with np.load(npz2) as data:
        meta2 = json.loads(str(data["__meta__"]))
    assert meta2["refine"] == {
        "delta": 0.5,
        "options": {**meta["refine"]["options"], "pr_confidence": "minmax_video"},
    }
    assert (
        main(
            [
                "predict",
                "--run",
                str(out),
                "--data",
                str(synth),
                "--split",
                "1",
                "--out",
                str(tmp_path / "r.npz"),
                "--pr-option",
                "pr_mstar=bogus",
            ]
        )
        == 2
    )
    assert "pr_mstar" in capsys.readouterr().err and not (tmp_path / "r.npz").exists()


def test_pr_option_refused_for_baselines(synth: Path, flow4: Path, tmp_path: Path) -> None:
    assert (
        main(
            [
                "predict",
                "--run",
                str(flow4),
                "--data",
                str(synth),
                "--split",
                "1",
                "--out",
                str(tmp_path / "p.npz"),
                "--pr-option",
                "pr_t0=keep",
            ]
        )
        == 2
    )


@pytest.mark.slow
@pytest.mark.parametrize("segmenter", ["asformer", "fact"])
def test_relate_with_asformer_and_fact(
    segmenter: str, synth: Path, runs: Path, tmp_path: Path
) -> None:
    if segmenter == "asformer":
        widths = ["segmenter.num_f_maps=8"]
    else:
        widths = ["segmenter.a_layers=1", "segmenter.f_dim=16", "segmenter.a_dim=16"]
    opts = []
    for item in ["depth=2", "num_layers=2", "anchor_stage=0", *widths]:
        opts += ["--option", item]
    teacher = runs / f"flow-{segmenter}"  # --teacher-for builds the matching architecture
    assert (
        main(args(synth, teacher, "flow", "--teacher-for", "relate", *opts, segmenter=segmenter))
        == 0
    )
    assert json.loads((teacher / "config.json").read_text())["teacher_for"]["variant"] == "relate"
    out = runs / f"relate-{segmenter}"
    assert (
        main(args(synth, out, "relate", "--teacher", str(teacher), *opts, segmenter=segmenter)) == 0
    )
    config = json.loads((out / "config.json").read_text())
    if segmenter == "fact":  # the release has no FACT: FACT keeps its own recipe (design §9)
        from relate.segmenters import defaults

        assert config["training"]["lr"] == defaults("fact", "synthetic").lr
    else:
        assert config["training"]["lr"] == 1e-3
    npz = tmp_path / "p.npz"
    assert (
        main(
            ["predict", "--run", str(out), "--data", str(synth), "--split", "1", "--out", str(npz)]
        )
        == 0
    )
    with np.load(npz) as data:
        meta = json.loads(str(data["__meta__"]))
    assert meta["heads"] == ["rgb", "flow", "joint", "joint_refined", "final"]
    for head in ("joint", "final"):
        assert (
            main(
                [
                    "evaluate",
                    "--predictions",
                    str(npz),
                    "--data",
                    str(synth),
                    "--dataset",
                    "synthetic",
                    "--split",
                    "1",
                    "--head",
                    head,
                    "--out",
                    str(tmp_path / f"{head}.json"),
                ]
            )
            == 0
        )


@pytest.mark.slow
def test_relate_resume_after_sigkill(synth: Path, flow3: Path, tmp_path: Path) -> None:
    extra = ["--teacher", str(flow3), "--option", "num_layers=3"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    def command(out: Path) -> list[str]:
        return [sys.executable, "-m", "relate", *args(synth, out, "relate", *extra, epochs=4)]

    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    whole = subprocess.Popen(command(tmp_path / "whole"), **quiet)
    run = tmp_path / "killed"
    kill_after_first_checkpoint(command(run), run, env, timeout=180)
    assert not (run / "model.pt").exists(), "the run finished before it could be killed"
    done = load_checkpoint(run / "checkpoint.pt")["epoch"]
    assert 1 <= done < 4
    assert whole.wait() == 0
    resumed = subprocess.run(command(run), env=env, check=True, capture_output=True, text=True)
    assert f"after epoch {done}" in resumed.stderr
    assert (run / "model.pt").read_bytes() == (tmp_path / "whole" / "model.pt").read_bytes()
    assert (run / "log.jsonl").read_text().count("\n") == 4
