"""`relate train --variant relate` and `relate predict` / `evaluate` on a RELATE run (tiny)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from relate.cli import main
from relate.data.synthetic import SynthConfig, generate_dataset
from relate.runs.checkpoint import load_checkpoint


class Stop(BaseException):
    """Simulated kill after an epoch's checkpoint is written."""


TINY_TEACHER = ["--set", "num_stages=2", "--set", "num_layers=3", "--set", "num_f_maps=8"]
TINY_RELATE = [
    "--option",
    "depth=2",
    "--option",
    "num_layers=3",
    "--option",
    "segmenter.num_f_maps=8",
]


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data") / "synthetic"
    generate_dataset(
        root, SynthConfig(n_videos=6, min_frames=120, max_frames=160, n_splits=2), seed=0
    )
    return root


def base_args(data: Path, out: Path, variant: str, epochs: int, seed: int = 0) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dataset",
        "synthetic",
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
    ]


def relate_args(data: Path, out: Path, teacher: Path, epochs: int = 2) -> list[str]:
    return [*base_args(data, out, "relate", epochs), "--teacher", str(teacher), *TINY_RELATE]


@pytest.fixture(scope="module")
def teacher(synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "flow"
    assert main([*base_args(synth, out, "flow", 1), *TINY_TEACHER]) == 0
    return out


@pytest.fixture(scope="module")
def relate_run(synth: Path, teacher: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "relate"
    assert main(relate_args(synth, out, teacher)) == 0
    return out


def test_relate_run_folder(relate_run: Path, teacher: Path) -> None:
    config = json.loads((relate_run / "config.json").read_text())
    assert config["variant"]["name"] == "relate"
    assert config["training"]["lr"] == 1e-3 and config["training"]["weight_decay"] == 1e-5
    assert config["training"]["batch_size"] == 1 and config["training"]["epochs"] == 2
    assert config["relate"]["teacher"]["path"] == str(teacher.resolve())
    assert len(config["relate"]["teacher"]["sha256"]) == 64
    assert config["relate"]["spec"]["depth"] == 2
    log = [json.loads(x) for x in (relate_run / "log.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in log] == [1, 2]
    for line in log:
        assert {"rgb", "flow", "joint", "cmkd", "bridge", "total"} <= set(line["loss"])
        assert line["loss"]["cmkd"] > 0
    state = torch.load(relate_run / "model.pt", weights_only=True)
    assert state and all(k.split(".")[0] in ("rgb", "flow", "fusion", "joint") for k in state)
    assert not (relate_run / "checkpoint.pt").exists()


def test_release_schedule_default(synth: Path, teacher: Path, tmp_path: Path) -> None:
    from relate.runs import train as train_module

    plan = train_module.plan_run(
        train_module.TrainRequest(
            data=synth,
            dataset="synthetic",
            split=1,
            segmenter="mstcn",
            variant="relate",
            seed=0,
            out=tmp_path / "r",
            teacher=teacher,
            relate_options={"depth": "2", "num_layers": "3", "segmenter.num_f_maps": "8"},
        )
    )
    assert plan.training.epochs == 100 and plan.training.lr == 1e-3


def test_teacher_frozen_and_not_in_checkpoint(
    synth: Path, teacher: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relate.runs import engine
    from relate.runs import train as train_module

    seen = {}
    real = train_module.TrainEpoch.__call__

    def spy(self, epoch, bar):
        teacher = self.frozen
        seen["teacher_grad"] = [p.requires_grad for p in teacher.parameters()]
        seen["training"] = teacher.training
        opt_ids = {id(p) for g in self.optimizer.param_groups for p in g["params"]}
        seen["overlap"] = opt_ids & {id(p) for p in teacher.parameters()}
        seen["teacher_before"] = [p.detach().clone() for p in teacher.parameters()]
        return real(self, epoch, bar)

    def stop(out, history):
        raise Stop

    monkeypatch.setattr(train_module.TrainEpoch, "__call__", spy)
    monkeypatch.setattr(engine, "write_log", stop)
    out = tmp_path / "r"
    with pytest.raises(Stop):
        main(relate_args(synth, out, teacher))
    assert seen["teacher_grad"] and not any(seen["teacher_grad"])
    assert seen["training"] is False and not seen["overlap"]
    state = load_checkpoint(out / "checkpoint.pt")
    assert all(k.split(".")[0] in ("rgb", "flow", "fusion", "joint") for k in state["model"])


def test_resume_and_determinism(
    synth: Path, teacher: Path, relate_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    out = tmp_path / "r"
    from relate.runs import engine

    real = engine.write_log

    def stop(o, history):
        real(o, history)
        raise Stop

    monkeypatch.setattr(engine, "write_log", stop)
    with pytest.raises(Stop):
        main(relate_args(synth, out, teacher))
    monkeypatch.setattr(engine, "write_log", real)
    assert (out / "checkpoint.pt").exists() and not (out / "model.pt").exists()
    assert main(relate_args(synth, out, teacher)) == 0  # resumes after epoch 1
    a = torch.load(out / "model.pt", weights_only=True)
    b = torch.load(relate_run / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a different --epochs is a different configuration: refused, as for the baselines
    assert main(relate_args(synth, out, teacher, 3)) == 2


def _one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_wrong_teacher_refused(synth: Path, teacher: Path, tmp_path: Path, capsys) -> None:
    rgb = tmp_path / "rgb"
    assert main([*base_args(synth, rgb, "rgb", 0), *TINY_TEACHER]) == 0
    capsys.readouterr()
    err = _one_line_error(capsys, relate_args(synth, tmp_path / "a", rgb))
    assert "variant 'rgb'" in err and str(rgb / "config.json") in err
    err = _one_line_error(
        capsys,
        [
            *relate_args(synth, tmp_path / "b", teacher)[:-6],
            "--option",
            "depth=3",
            "--option",
            "num_layers=3",
            "--option",
            "segmenter.num_f_maps=8",
        ],
    )
    assert "depth 3" in err and "num_stages" in err
    err = _one_line_error(capsys, base_args(synth, tmp_path / "c", "relate", 1))
    assert "--teacher" in err
    # a changed teacher is refused on resume / rerun
    relate_out = tmp_path / "d"
    teacher_copy = tmp_path / "teacher"
    teacher_copy.mkdir()
    for name in ("config.json", "model.pt"):
        (teacher_copy / name).write_bytes((teacher / name).read_bytes())
    assert main(relate_args(synth, relate_out, teacher_copy, 0)) == 0
    state = torch.load(teacher_copy / "model.pt", weights_only=True)
    torch.save({k: v + 1 for k, v in state.items()}, teacher_copy / "model.pt")
    capsys.readouterr()
    err = _one_line_error(capsys, relate_args(synth, relate_out, teacher_copy, 0))
    assert "sha256" in err


def test_predict_and_evaluate(synth: Path, relate_run: Path, tmp_path: Path) -> None:
    npz = tmp_path / "p.npz"
    assert (
        main(
            [
                "predict",
                "--run",
                str(relate_run),
                "--data",
                str(synth),
                "--split",
                "1",
                "--out",
                str(npz),
            ]
        )
        == 0
    )
    with np.load(npz) as f:
        meta = json.loads(str(f["__meta__"]))
        assert meta["heads"] == ["rgb", "flow", "joint", "joint_refined", "final"]
        assert meta["refine"]["delta"] == 0.7 and "pr_confidence" in meta["refine"]["options"]
        video = meta["videos"][0]
        assert np.array_equal(f[f"{video}/final"], f[f"{video}/joint_refined"])
        for head in meta["heads"]:
            assert np.allclose(f[f"{video}/{head}"].sum(0), 1, atol=1e-4)
    for head in ("joint", "final"):
        out = tmp_path / f"{head}.json"
        assert (
            main(
                [
                    "evaluate",
                    "--data",
                    str(synth),
                    "--dataset",
                    "synthetic",
                    "--split",
                    "1",
                    "--predictions",
                    str(npz),
                    "--head",
                    head,
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        assert "metrics" in json.loads(out.read_text())


def test_teacher_with_explicit_default_override_is_accepted(synth: Path, tmp_path: Path) -> None:
    # The teacher spells out MS-TCN's default dropout; the architecture is the flow branch's,
    # so it is accepted although its recorded overrides differ from the spec's.
    explicit = tmp_path / "explicit"
    assert (
        main([*base_args(synth, explicit, "flow", 0), *TINY_TEACHER, "--set", "dropout=0.5"]) == 0
    )
    assert main(relate_args(synth, tmp_path / "r", explicit, 0)) == 0
