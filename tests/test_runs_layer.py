"""The runs layer: method registry, stored specs read back, run ids, one config reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from relate.blocks.presets import PRESETS, expand_options
from relate.blocks.relate_model import RelateSpec
from relate.blocks.spec_options import spec_record
from relate.blocks.students import StudentSpec
from relate.cli import main
from relate.commands.train import DISTILLED_NAMES, VARIANT_NAMES
from relate.data.synthetic import SynthConfig, generate_dataset
from relate.runs.distilled_model_hooks import spec_from_json
from relate.runs.methods import DISTILLED, METHODS, TRAIN_VARIANTS, get_method
from relate.runs.methods.hooks import ModelHooks, TrainingHooks
from relate.runs.naming import RunId
from relate.segmenters import SEGMENTERS


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_has_its_hooks(name: str) -> None:
    method = METHODS[name]
    for attribute in [a for a in dir(TrainingHooks) if not a.startswith("_")]:
        if name != "bridge":
            assert callable(getattr(method.training(), attribute)), attribute
    if method.model_hooks is not None:
        for attribute in [a for a in dir(ModelHooks) if not a.startswith("_")]:
            assert callable(getattr(method.model(), attribute)), attribute
    assert method.sees.stop - method.sees.start <= method.input.in_dim
    assert method.teacher == (method.teacher_run is not None)


def test_cli_lists_the_registry() -> None:
    assert VARIANT_NAMES + DISTILLED_NAMES == TRAIN_VARIANTS
    assert set(DISTILLED) == {n for n in TRAIN_VARIANTS if get_method(n).teacher}


@pytest.mark.parametrize("segmenter", list(SEGMENTERS))
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("variant", DISTILLED)
def test_specs_survive_their_json(segmenter: str, preset: str, variant: str) -> None:
    """The spec stored in config.json rebuilds the identical spec (what predict reads)."""
    model = expand_options(variant, preset, {}).model
    for key in ("schedule", "param_budget"):
        model.pop(key, None)
    if variant == "relate":
        spec = RelateSpec.from_options(segmenter, "gtea", 11, **model)
        back = spec_from_json(RelateSpec, spec_record(spec))
    else:
        spec = StudentSpec.from_options(variant, segmenter, "gtea", 11, **model)
        back = spec_from_json(StudentSpec, spec_record(spec))
    assert back == spec
    assert json.dumps(spec_record(back), sort_keys=True) == json.dumps(
        spec_record(spec), sort_keys=True
    )


@pytest.mark.parametrize(
    "text",
    ["rgb", "relate-aga=none", "relate-aga=none+fusion=naive-paper_literal",
     "teacher-paper_literal", "kd-train.epochs=3", "bridge"],
)  # fmt: skip
def test_run_id_round_trip(text: str) -> None:
    run = RunId.parse(text)
    assert str(run) == text
    assert RunId.parse(str(RunId(run.variant, run.options, run.preset))) == run


TINY = ["--option", "depth=2", "--option", "num_layers=2", "--option", "segmenter.num_f_maps=8"]


def _train(data: Path, out: Path, variant: str, *extra: str) -> None:
    args = [
        "train", "--data", str(data), "--dataset", "synthetic", "--split", "1",
        "--segmenter", "mstcn", "--variant", variant, "--seed", "0", "--out", str(out),
        "--epochs", "1", *extra,
    ]  # fmt: skip
    assert main(args) == 0


def test_predict_rebuilds_the_model_from_the_stored_spec(tmp_path: Path, capsys) -> None:
    """Prediction reads ``relate.spec``: the options beside it are records only, and a stored
    spec that does not match the weights is refused."""
    data = tmp_path / "synthetic"
    generate_dataset(data, SynthConfig(n_videos=4, min_frames=120, max_frames=140, n_splits=2), 0)
    teacher, run = tmp_path / "flow", tmp_path / "relate"
    _train(data, teacher, "flow", "--teacher-for", "relate", *TINY)
    _train(data, run, "relate", "--teacher", str(teacher), *TINY)
    first = tmp_path / "a.npz"
    assert main(["predict", "--run", str(run), "--data", str(data), "--split", "1",
                 "--out", str(first)]) == 0  # fmt: skip

    config_path = run / "config.json"
    config = json.loads(config_path.read_text())
    config["relate"]["model_options"] = {"depth": "99"}  # not read back
    config_path.write_text(json.dumps(config))
    second = tmp_path / "b.npz"
    assert main(["predict", "--run", str(run), "--data", str(data), "--split", "1",
                 "--out", str(second)]) == 0  # fmt: skip
    with np.load(first) as a, np.load(second) as b:
        keys = [k for k in a.files if k != "__meta__"]
        assert keys and all(np.array_equal(a[k], b[k]) for k in keys)

    config["relate"]["spec"]["num_layers"] = 3  # another architecture than the weights
    config_path.write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["predict", "--run", str(run), "--data", str(data), "--split", "1",
                 "--out", str(tmp_path / "c.npz")]) == 2  # fmt: skip
    assert str(run / "model.pt") in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()
