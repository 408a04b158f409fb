"""The recipes of docs/extending.md, followed from here: a toy segmenter, a toy distillation loss
and a toy dataset, each registered for one test (nothing in the package edited), trained one
epoch, predicted and evaluated through the CLI; and the contract every table entry meets.

The toy segmenter's "module" is this file (``build_toy``, ``training_defaults``,
``feature_width``); its entry is :data:`TOY`. The toy loss is :func:`toy_loss` and
:data:`TOY_LOSS`; the toy dataset is :data:`TOY_DATASET`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from relate import segmenters
from relate.blocks import distill
from relate.blocks.distill import LOSSES, Knob, LossEntry
from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher
from relate.blocks.students import StudentModel, StudentSpec, build_student_teacher
from relate.cli import main
from relate.data import registry
from relate.data.registry import DATASETS, DatasetInfo, get_dataset, recipe_dataset
from relate.segmenters import TABLE, SegmenterEntry, StageMap, TrainingDefaults
from relate.segmenters.base import Segmenter, SegmenterOutput, full_mask
from relate.segmenters.losses import segmentation_loss

C = 11

# --- the toy segmenter: its module (these three functions) and its table entry ------------------


class ToySegmenter(Segmenter):
    """Stage 1 maps the (B, D, T) input, each later stage softmax(previous logits), through
    ``num_layers`` 1x1 convs of width F = ``width`` to (B, C, T) logits."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        num_stages: int = 2,
        num_layers: int = 1,
        width: int = 8,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes

        def stage(d: int) -> nn.ModuleDict:
            convs = [nn.Conv1d(d if i == 0 else width, width, 1) for i in range(num_layers)]
            out = nn.Conv1d(width, num_classes, 1)
            return nn.ModuleDict({"body": nn.ModuleList(convs), "out": out})

        self.stages = nn.ModuleList(
            stage(in_dim if s == 0 else num_classes) for s in range(num_stages)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x: (B, D, T); mask: (B, 1, T). One (B, C, T) logit and (B, F, T) feature per stage."""
        mask = full_mask(x, mask)
        logits, features = [], []
        for stage in self.stages:
            h = x if not logits else F.softmax(logits[-1], dim=1) * mask
            for conv in stage["body"]:
                h = F.relu(conv(h)) * mask
            features.append(h)
            logits.append(stage["out"](h) * mask)
        return SegmenterOutput(logits=logits, features=features)

    def loss(
        self, output: SegmenterOutput, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The MS-TCN loss on every stage."""
        return segmentation_loss(output.logits, target, mask)


def build_toy(in_dim: int, num_classes: int, dataset: str, **overrides: Any) -> ToySegmenter:
    get_dataset(dataset)
    return ToySegmenter(in_dim, num_classes, **overrides)


def training_defaults(dataset: str) -> TrainingDefaults:
    get_dataset(dataset)
    return TrainingDefaults(epochs=1, lr=2e-3)


def feature_width(dataset: str, **overrides: Any) -> int:
    return int(overrides.get("width", 8))


TOY = SegmenterEntry(
    "toy",
    __name__,
    "Toy",
    StageMap(
        depth=lambda d: {"num_stages": d},
        layers=lambda n: {"num_layers": n},
        count=lambda model: len(model.stages),
    ),
)

# --- the toy loss: its function and its table entry --------------------------------------------


def toy_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float = 1.0,
) -> torch.Tensor:
    """scale x mean |student - teacher| over valid (frame, channel) entries; (B, F, T) each."""
    m = torch.ones_like(student[:, :1]) if mask is None else mask.reshape(student.shape[0], 1, -1)
    diff = (student - teacher.detach()).abs() * m
    return scale * diff.sum() / (m.sum() * student.shape[1]).clamp_min(1.0)


TOY_LOSS = LossEntry(
    "toyl1",
    f"{__name__}:toy_loss",
    "features",
    "last",
    {"scale": Knob(1.0, "positive", description="toy loss scale")},
    title="toy L1 on the last stage's features",
)

# --- the toy dataset: its registry row ----------------------------------------------------------

TOY_DATASET = DatasetInfo(
    "toyset", 15.0, 1, 2, C, ("background",), "background", synthetic=True, relate_lr=1e-3
)


@pytest.fixture
def toy_segmenter() -> Iterator[None]:
    with segmenters.registered(TOY):
        yield
    assert "toy" not in segmenters.SEGMENTERS


@pytest.fixture
def toy_loss_entry() -> Iterator[None]:
    with distill.registered(TOY_LOSS):
        yield
    assert "toyl1" not in LOSSES


@pytest.fixture
def toy_dataset() -> Iterator[None]:
    with registry.registered(TOY_DATASET):
        yield
    assert "toyset" not in DATASETS


def synth(folder: Path) -> Path:
    args = ["synth", "--out", str(folder), "--videos", "4", "--splits", "2"]
    assert main([*args, "--min-frames", "120", "--max-frames", "140"]) == 0
    return folder


def train(data: Path, out: Path, dataset: str, segmenter: str, variant: str, *extra: str) -> Path:
    args = ["train", "--data", str(data), "--dataset", dataset, "--split", "1"]
    args += ["--segmenter", segmenter, "--variant", variant, "--seed", "0", "--out", str(out)]
    assert main([*args, "--epochs", "1", *extra]) == 0
    return out


def predict_and_evaluate(run: Path, data: Path, dataset: str, tmp: Path) -> dict[str, Any]:
    npz = tmp / f"{run.name}.npz"
    args = ["predict", "--run", str(run), "--data", str(data), "--split", "1", "--out", str(npz)]
    assert main(args) == 0
    out = tmp / f"{run.name}.json"
    args = ["evaluate", "--predictions", str(npz), "--data", str(data), "--dataset", dataset]
    assert main([*args, "--split", "1", "--out", str(out)]) == 0
    return json.loads(out.read_text())


def opts(*items: str) -> list[str]:
    return [x for item in items for x in ("--option", item)]


# --- the recipes, end to end --------------------------------------------------------------------


def test_a_new_segmenter_trains_predicts_and_evaluates(toy_segmenter: None, tmp_path: Path) -> None:
    data = synth(tmp_path / "synthetic")
    rgb = train(data, tmp_path / "rgb", "synthetic", "toy", "rgb", "--set", "width=4")
    state = torch.load(rgb / "model.pt", weights_only=True)
    assert state["stages.0.body.0.weight"].shape == (4, 1024, 1)
    assert set(predict_and_evaluate(rgb, data, "synthetic", tmp_path)["metrics"]) >= {"acc"}
    # RELATE on the toy: depth and widths come from the entry's stage map and feature_width
    relate = opts("depth=3", "num_layers=2", "anchor_stage=0", "segmenter.width=4")
    teacher = train(
        data, tmp_path / "flow", "synthetic", "toy", "flow", "--teacher-for", "relate", *relate
    )
    run = train(data, tmp_path / "relate", "synthetic", "toy", "relate", "--teacher",
                str(teacher), *relate)  # fmt: skip
    state = torch.load(run / "model.pt", weights_only=True)
    assert sum(k.startswith("joint.stages.") and k.endswith("out.weight") for k in state) == 3
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["lr"] == registry.relate_lr("synthetic")  # distill_schedule
    assert json.loads((rgb / "config.json").read_text())["training"]["lr"] == 2e-3
    result = predict_and_evaluate(run, data, "synthetic", tmp_path)
    assert 0 <= result["metrics"]["acc"] <= 100
    out = tmp_path / "params.md"
    assert main(["params", "--dataset", "gtea", "--segmenter", "toy", "--out", str(out)]) == 0
    assert "| relate " in out.read_text()


def test_a_new_loss_distills_relate_and_students(toy_loss_entry: None, tmp_path: Path) -> None:
    spec = RelateSpec.from_options(
        "mstcn", "gtea", C, num_layers=2, distill="toyl1", **{"distill.scale": "3"}
    )
    assert spec.distill_options == {"scale": 3} and spec.distill_settings().knobs == {"scale": 3}
    with pytest.raises(ValueError, match="distill.bogus"):
        RelateSpec.from_options("mstcn", "gtea", C, distill="toyl1", **{"distill.bogus": 1})
    with pytest.raises(ValueError, match="scale must be > 0"):
        RelateSpec.from_options("mstcn", "gtea", C, distill="toyl1", **{"distill.scale": 0})
    with pytest.raises(ValueError, match="kd takes no"):  # nested knobs belong to the loss used
        RelateSpec.from_options("mstcn", "gtea", C, **{"distill.scale": 2})
    torch.manual_seed(0)
    model, teacher = RelateModel(spec), build_teacher(spec).eval()
    x, y = torch.randn(1, 1024, 30), torch.randint(0, C, (1, 30))
    with torch.no_grad():
        t_out = teacher(torch.randn(1, 1024, 30))
    terms = model.loss(model(x), y, None, teacher_output=t_out)
    out = model(x)
    expected = toy_loss(out.flow.features[-1], t_out.features[-1], scale=3.0)
    torch.testing.assert_close(model.distill_loss(out, t_out, None), expected)
    assert float(terms["cmkd"].detach()) > 0
    student = StudentSpec.from_options("toyl1", "mstcn", "gtea", C, **{"segmenter.num_layers": 2})
    s_model = StudentModel(student)
    with torch.no_grad():
        t_out = build_student_teacher(student)(x)
    terms = s_model.loss(s_model(x), y, None, teacher_output=t_out)
    assert float(terms["distill"].detach()) > 0
    # through the CLI: RELATE with the toy CMKD loss
    data = synth(tmp_path / "synthetic")
    relate = opts("depth=2", "num_layers=2", "segmenter.num_f_maps=8", "distill=toyl1")
    relate += opts("distill.scale=2")
    teacher_run = train(
        data, tmp_path / "flow", "synthetic", "mstcn", "flow", "--teacher-for", "relate", *relate
    )
    run = train(data, tmp_path / "relate", "synthetic", "mstcn", "relate", "--teacher",
                str(teacher_run), *relate)  # fmt: skip
    log = json.loads((run / "log.jsonl").read_text().splitlines()[0])
    assert log["loss"]["cmkd"] > 0
    assert predict_and_evaluate(run, data, "synthetic", tmp_path)["metrics"]["acc"] >= 0


def test_a_new_dataset_is_one_registry_row(toy_dataset: None, tmp_path: Path) -> None:
    assert registry.relate_lr("toyset") == 1e-3 and recipe_dataset("toyset") == "toyset"
    data = synth(tmp_path / "toyset")
    run = train(data, tmp_path / "rgb", "toyset", "mstcn", "rgb", "--set", "num_layers=2")
    assert json.loads((run / "config.json").read_text())["dataset"]["name"] == "toyset"
    assert predict_and_evaluate(run, data, "toyset", tmp_path)["background"] == ["background"]
    with pytest.raises(KeyError, match="no FACT config"):  # FACT needs the row's fact settings
        segmenters.build("fact", 1024, C, "toyset")


def test_registration_is_undone_and_refuses_clashes() -> None:
    with pytest.raises(ValueError, match="already registered"):
        with segmenters.registered(TABLE["mstcn"]):
            pass
    with pytest.raises(ValueError, match="already registered"):
        with distill.registered(LOSSES["kd"]):
            pass
    with pytest.raises(ValueError, match="already registered"):
        with registry.registered(DATASETS["gtea"]):
            pass
    assert list(segmenters.SEGMENTERS) == ["mstcn", "asformer", "fact"]
    with pytest.raises(KeyError, match="known: mstcn, asformer, fact"):
        segmenters.entry("toy")


# --- what every table entry promises ------------------------------------------------------------

SMALL = {"asformer": {"num_f_maps": 8}, "fact": {"a_layers": 1, "f_dim": 16, "a_dim": 16}}
"""Build keywords that keep a segmenter small (default: none)."""


@pytest.mark.parametrize("name", list(TABLE))
def test_segmenter_entry_contract(name: str) -> None:
    entry = segmenters.entry(name)
    assert entry.name == name and entry.title and entry.distill_schedule in ("release", "official")
    depth = entry.stages.min_depth + 1
    over = {**entry.depth_overrides(depth, 1), **SMALL.get(name, {})}
    torch.manual_seed(0)
    model = entry.build(16, C, "gtea", **over).eval()
    out = model(torch.randn(1, 16, 9))
    assert entry.stage_count(model) == len(out.logits) == len(out.features) == depth
    assert out.logits[-1].shape == (1, C, 9)
    assert out.features[-1].shape[1] == entry.feature_width("gtea", **over)
    for dataset in DATASETS:
        assert isinstance(segmenters.defaults(name, dataset), TrainingDefaults)
    with pytest.raises(ValueError, match="depth"):
        entry.depth_overrides(entry.stages.min_depth - 1)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_entry_contract(name: str) -> None:
    entry = LOSSES[name]
    fn = entry.load()
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 4, 7, generator=g).requires_grad_(True)
    t = torch.randn(2, 4, 7, generator=g).requires_grad_(True)
    assert float(fn(s, s.detach().clone()).detach()) == pytest.approx(0.0, abs=1e-6)
    loss = fn(s, t, mask=torch.ones(2, 1, 7))
    loss.backward()
    assert float(loss.detach()) > 0 and t.grad is None and s.grad is not None
    for knob_name, knob in entry.knobs.items():
        knob.check(entry.option_name(knob_name), knob.default)
        if knob.option:  # an option name of its own is a field of the specs that use the loss
            for spec, uses in ((RelateSpec, entry.relate), (StudentSpec, entry.student)):
                if uses:
                    assert knob.option in spec.__dataclass_fields__, (spec, knob.option)
    options = [e.option_name(k) for e in LOSSES.values() for k in e.knobs if e.knobs[k].option]
    assert len(options) == len(set(options))


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_row_contract(name: str) -> None:
    row = DATASETS[name]
    recipe = DATASETS[recipe_dataset(name)]
    assert row.n_classes >= 1 and row.n_splits >= 1 and row.sample_rate >= 1
    if row.stands_in_for:
        assert recipe.stands_in_for is None and not recipe.synthetic
        assert row.relate_lr is None and not row.segmenter_settings
    assert registry.relate_lr(name) == recipe.relate_lr > 0
    assert set(recipe.segmenter_settings) <= set(TABLE)
