"""``relate parity`` (relate/tools/parity/): release loading errors, the key-mapping checker, and,
when RELATE_RELEASE_PATH points to a checkout of github.com/Hsj303/RELATE, the parity run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

import relate
from relate.cli import main
from relate.errors import DataError
from relate.tools import parity
from relate.tools.parity import KeyMappingError, check_mapping, key_mapping, release_key

RELEASE_PATH = os.environ.get("RELATE_RELEASE_PATH")
needs_release = pytest.mark.skipif(
    not RELEASE_PATH,
    reason="set RELATE_RELEASE_PATH to a checkout of github.com/Hsj303/RELATE to run parity",
)


# --------------------------------------------------------------------------- loading errors
def _fake_checkout(root: Path, layers_source: str = "") -> Path:
    """Every file the loader requires, with empty modules (and ``layers_source``)."""
    (root / "relate").mkdir(parents=True)
    (root / "scripts").mkdir()
    (root / "scripts" / "evaluate.py").write_text("")
    (root / "relate" / "__init__.py").write_text("")
    for name in parity.RELEASE_MODULES:
        (root / "relate" / f"{name}.py").write_text(layers_source if name == "layers" else "")
    return root


def test_cli_rejects_a_folder_that_is_not_the_release(tmp_path, capsys):
    assert main(["parity", "--release", str(tmp_path), "--no-evaluator"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(tmp_path) in err and "not a checkout of the RELATE release" in err
    assert "relate/alignment_fusion.py" in err


def test_cli_rejects_a_missing_path(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["parity", "--release", str(missing)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err and "no such directory" in err


def test_missing_third_party_package_is_named_and_state_restored(tmp_path):
    root = _fake_checkout(tmp_path / "rel", "import not_a_real_package_xyz\n")
    path_before, ours = list(sys.path), sys.modules["relate"]
    with pytest.raises(DataError, match="not_a_real_package_xyz") as info:
        parity.load_release(root)
    assert str(root) in str(info.value)
    assert sys.path == path_before
    assert sys.modules["relate"] is ours is relate  # our package is never displaced
    assert not [k for k in sys.modules if k.startswith("_relate_release_")]


def test_checkout_without_the_needed_classes_is_refused(tmp_path):
    root = _fake_checkout(tmp_path / "rel")
    with pytest.raises(DataError, match="relate/segmenters.py has no RGBSegmenter"):
        parity.load_release(root)


def test_broken_release_module_is_one_line(tmp_path):
    root = _fake_checkout(tmp_path / "rel", "def broken(:\n")
    with pytest.raises(DataError, match="SyntaxError") as info:
        parity.load_release(root)
    assert "\n" not in str(info.value)


def test_options_for_selects_per_segmenter():
    options = {"num_layers": 2, "asformer:segmenter.channel_mask_rate": 0.3}
    assert parity.options_for("mstcn", options) == {"num_layers": 2}
    assert parity.options_for("asformer", options) == {
        "num_layers": 2,
        "segmenter.channel_mask_rate": 0.3,
    }
    with pytest.raises(parity.RelateError, match="unknown segmenter prefix"):
        parity.options_for("mstcn", {"fact:x": 1})


def test_bad_out_suffix_and_segmenter(tmp_path, capsys):
    assert main(["parity", "--release", str(tmp_path), "--out", str(tmp_path / "x.txt")]) == 2
    assert ".md or .json" in capsys.readouterr().err
    with pytest.raises(parity.RelateError, match="fact"):
        parity.run_parity(tmp_path, segmenters=["fact"])


# --------------------------------------------------------------------------- key mapping
def test_check_mapping_accepts_a_bijection():
    ours = {"a.w": (2, 3), "b.w": (4,)}
    theirs = {"x.w": (2, 3), "y.w": (4,)}
    check_mapping({"a.w": "x.w", "b.w": "y.w"}, ours, theirs)


@pytest.mark.parametrize(
    ("mapping", "ours", "theirs", "message"),
    [
        ({"a": "x", "b": "x"}, {"a": (1,), "b": (1,)}, {"x": (1,), "y": (1,)}, "hit twice"),
        ({"a": "x"}, {"a": (1,), "b": (1,)}, {"x": (1,), "y": (1,)}, "not in the mapping"),
        ({"a": "x", "b": None}, {"a": (1,), "b": (1,)}, {"x": (1,), "y": (1,)}, "without a rule"),
        (
            {"a": "x", "b": "z"},
            {"a": (1,), "b": (1,)},
            {"x": (1,), "y": (1,)},
            "not in the release",
        ),
        ({"a": "x", "b": "y"}, {"a": (1,), "b": (2, 3)}, {"x": (1,), "y": (3, 2)}, "shape"),
    ],
)
def test_check_mapping_refuses(mapping, ours, theirs, message):
    with pytest.raises(KeyMappingError, match=message):
        check_mapping(mapping, ours, theirs)


def test_release_key_rules():
    assert release_key("rgb.stage1.layers.3.conv_dilated.weight", "mstcn") == (
        "rgb.stack.stage1.layers.3.conv_dilated.weight"
    )
    assert release_key("teacher.encoder.layers.3.feed_forward.weight", "asformer") == (
        "teacher.stack.encoder.layers.3.feed_forward.layer.0.weight"
    )
    assert release_key("fusion.aga.1.k.bias", "mstcn") == "aft.k_flow.bias"
    assert release_key("fusion.aga.0.q.weight", "asformer") == "aft.q_rgb.weight"
    assert release_key("fusion.trunk.attention.conv_out.bias", "mstcn") == (
        "aft.self_attention.conv_out.bias"
    )
    assert release_key("fusion.trunk.projection.weight", "mstcn") == "aft.conv_out.weight"
    assert release_key("fusion.trunk.ffn.inner.weight", "mstcn") is None


@pytest.mark.parametrize("segmenter", ["mstcn", "asformer"])
def test_every_key_of_our_release_default_model_has_a_distinct_target(segmenter):
    from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher

    spec = RelateSpec.from_options(segmenter, "gtea", 5, num_layers=2)
    state = dict(RelateModel(spec).state_dict())
    state.update({f"teacher.{k}": v for k, v in build_teacher(spec).state_dict().items()})
    mapping = key_mapping(state, segmenter)
    assert None not in mapping.values()
    assert len(set(mapping.values())) == len(mapping)
    assert sum(k.startswith("fusion.") for k in mapping) == 22  # the release AFT's tensors


def test_widened_row_keeps_its_note_and_rechecks():
    row = parity.tensor_row("m", "q", torch.tensor([1.0]), torch.tensor([1.0 + 2e-5]))
    wide = row.widened(2e-5, "why")
    assert not row.ok and wide.ok
    assert wide.tolerance == pytest.approx(row.tolerance + 2e-5)
    assert wide.note == f"{row.note}; why"


def _rkd(student: torch.Tensor, teacher: torch.Tensor) -> float:
    from relate.blocks.distill import rkd_loss

    return float(rkd_loss(student, teacher))


def test_rkd_allowance_is_zero_without_the_matrix_product_path():
    x = torch.randn(1, 8, 25, dtype=torch.float64)
    assert parity.rkd_self_distance_allowance(x, x, x + 1e-9, x) == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rkd_allowance_covers_a_rounding_level_change_of_the_features(dtype):
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(1, 64, 200, generator=gen).to(dtype)
    teacher = torch.randn(1, 64, 200, generator=gen).to(dtype)
    worst_gap, largest = -1.0, 0.0
    for k in range(5):  # features that differ by a few ulps, as the two sides' do
        bump = 1 + torch.finfo(dtype).eps * (k + 1) * torch.randn(
            student.shape, generator=gen, dtype=dtype
        )
        other_s, other_t = student * bump, teacher * bump
        diff = abs(_rkd(other_s, other_t) - _rkd(student, teacher))
        allowance = parity.rkd_self_distance_allowance(student, teacher, other_s, other_t)
        worst_gap, largest = max(worst_gap, diff - allowance), max(largest, diff)
    assert largest > 0  # the bump does move RKD through the self-distances
    assert worst_gap <= parity.TENSOR_TOLERANCE * 1e-2


def test_tensor_row_tolerance_scales_with_magnitude():
    small = parity.tensor_row("m", "q", torch.tensor([1.0]), torch.tensor([1.0 + 2e-5]))
    large = parity.tensor_row("m", "q", torch.tensor([100.0]), torch.tensor([100.0 + 2e-4]))
    assert not small.ok and large.ok
    assert not parity.tensor_row("m", "q", torch.zeros(2), torch.zeros(3)).ok


# --------------------------------------------------------------------------- with the release
@needs_release
@pytest.mark.slow
def test_parity_with_the_release_is_within_tolerance():
    report = parity.run_parity(
        RELEASE_PATH, frames=80, seed=3, options={"asformer:segmenter.channel_mask_rate": 0.3}
    )
    assert report.rows and report.ok, report.table()
    quantities = {row.quantity for row in report.rows}
    assert "eval AFT output (fused features)" in quantities
    assert any(q.startswith("train gradients") for q in quantities)
    assert any(q.startswith("scripts/evaluate.py printout") for q in quantities)


@needs_release
@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_asformer_train_mode_parity_with_spec_defaults(threads):
    # RelateSpec's ASFormer default channel mask is the release's 0.3 on every dataset (D12,
    # docs/decisions.md). The float32 gradients of this case differ by up to 6e-4 where a
    # ReLU kink is crossed by rounding, which thread counts change; the row compares float64.
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        report = parity.run_parity(RELEASE_PATH, ["asformer"], frames=80, seed=3, evaluator=False)
    finally:
        torch.set_num_threads(before)
    assert report.ok, report.table()
    gradients = [r for r in report.rows if r.quantity.startswith("train gradients")]
    assert gradients and "compared in float64" in gradients[0].note
    assert gradients[0].max_abs_diff < 1e-10


@needs_release
@pytest.mark.slow
def test_float64_parity_with_the_release_is_within_tolerance():
    # T = 40, seed 2: the end-to-end RKD differs by 2.6e-4 through cdist self-distances
    report = parity.run_parity(RELEASE_PATH, frames=40, seed=2, evaluator=False, dtype="float64")
    assert report.ok, report.table()
    rkd = [r for r in report.rows if r.quantity == "eval CMKD RKD vs teacher, end to end"]
    assert len(rkd) == 2 and all(r.tolerance > 0 for r in rkd)


@needs_release
def test_cli_writes_json(tmp_path, capsys):
    out = tmp_path / "parity.json"
    code = main(
        [
            "parity",
            "--release",
            RELEASE_PATH,
            "--segmenters",
            "mstcn",
            "--frames",
            "40",
            "--no-train",
            "--no-evaluator",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().out
    import json

    payload = json.loads(out.read_text())
    assert payload["ok"] and payload["rows"] and payload["release"]["path"]


def test_report_json_has_no_bare_infinity_and_failures_are_listed():
    import json

    rows = [
        parity.ParityRow("m", "shape clash", float("inf"), 0.0, False, "shape"),
        parity.ParityRow("m", "fine", 0.0, 1e-5, True),
    ]
    report = parity.ParityReport(rows, "/x", "unknown")
    payload = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert payload["ok"] is False and payload["rows"][0]["max_abs_diff"] == "inf"
    assert [r.quantity for r in report.failures] == ["shape clash"]
    assert "FAIL" in report.table() and "| fine" in report.table()
