"""Every option of relate.blocks.presets.OPTIONS changes the computation: none is silently ignored.

The test is driven by the registry: an option added there without a case here fails
``test_every_option_has_a_case``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from relate.blocks.distill.table import named_knobs
from relate.blocks.presets import OPTIONS, expand_options, preset_options
from relate.blocks.refine import refine_prediction
from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher
from relate.blocks.students import StudentModel, StudentSpec, build_student_teacher

C = 11
T = 60


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(1, 1024, T, generator=g),
        torch.randn(1, 1024, T, generator=g),
        torch.randint(0, C, (1, T), generator=g),
    )


def relate_result(**kw: Any) -> dict[str, torch.Tensor]:
    """Joint logits and loss terms of a tiny RELATE model (fixed seeds) under ``kw``."""
    return _relate_result(tuple(sorted(kw.items())))


@functools.cache
def _relate_result(items: tuple[tuple[str, Any], ...]) -> dict[str, torch.Tensor]:
    kw = dict(items)
    options = {"num_layers": 3, **kw}
    spec = RelateSpec.from_options("mstcn", "gtea", C, **options)
    torch.manual_seed(0)
    model = RelateModel(spec).eval()
    torch.manual_seed(1)
    teacher = build_teacher(spec).eval()
    x, x_flow, y = _data()
    with torch.no_grad():
        out = model(x)
        terms = model.loss(out, y, None, teacher_output=teacher(x_flow), x_flow=x_flow)
    return {"joint": out.joint.logits[-1], "flow": out.flow.logits[-1], **terms}


def student_result(method: str = "kd", **kw: Any) -> dict[str, torch.Tensor]:
    return _student_result(method, tuple(sorted(kw.items())))


@functools.cache
def _student_result(method: str, items: tuple[tuple[str, Any], ...]) -> dict[str, torch.Tensor]:
    kw = dict(items)
    spec = StudentSpec.from_options(method, "mstcn", "gtea", C, **{"segmenter.num_layers": 2, **kw})
    torch.manual_seed(0)
    model = StudentModel(spec).eval()
    torch.manual_seed(1)
    teacher = build_student_teacher(spec).eval()
    x, x_flow, y = _data()
    with torch.no_grad():
        out = model(x)
        terms = model.loss(out, y, None, teacher_output=teacher(x_flow))
    return {"last": out.logits[-1], **terms}


def differs(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return any(a[k].shape != b[k].shape or not torch.allclose(a[k], b[k]) for k in set(a) & set(b))


def relate_changes(**kw: Any) -> bool:
    return differs(relate_result(), relate_result(**kw))


def students_change(**kw: Any) -> bool:
    methods = {  # a knob of the loss table changes its own loss's students
        **{option: loss for option, (loss, _) in named_knobs().items()},
        "weight": "mars",
        "single_branch_depth": "kd",
        "segmenter.num_f_maps": "kd",
    }
    method = methods[next(iter(kw))]
    return differs(student_result(method), student_result(method, **kw))


def pr_changes(name: str, value: str) -> bool:
    rng = np.random.default_rng(0)
    heads = [rng.dirichlet(np.full(4, 0.3), size=3000) for _ in range(3)]
    return not np.array_equal(refine_prediction(*heads), refine_prediction(*heads, **{name: value}))


def plan_changes(option: str, value: str) -> bool:
    from relate.runs.methods.distilled import distilled_training

    if option == "schedule":
        return distilled_training("gtea", "mstcn", value, None, {}) != distilled_training(
            "gtea", "mstcn", "release", None, {}
        )
    from relate.blocks.param_budget import resolve_options

    return resolve_options("mstcn", "gtea", C, {option: value}) != resolve_options(
        "mstcn", "gtea", C, {}
    )


CASES: dict[str, Callable[[], bool]] = {
    "depth": lambda: relate_changes(depth=2),
    "num_layers": lambda: relate_changes(num_layers=2),
    "param_budget": lambda: plan_changes("param_budget", "match_total"),
    "anchor_stage": lambda: relate_changes(anchor_stage="last"),
    "trunk": lambda: relate_changes(trunk="paper"),
    "fusion.<k>": lambda: relate_changes(**{"fusion.window": 4}),
    "aga": lambda: relate_changes(aga="none"),
    "fusion": lambda: relate_changes(fusion="naive"),
    "distill": lambda: relate_changes(distill="gcr"),
    "gamma": lambda: relate_changes(gamma=1.0),
    "weight": lambda: students_change(weight=1.0),
    "temperature": lambda: relate_changes(temperature=4.0) and students_change(temperature=4.0),
    "kd_reduction": lambda: (
        relate_changes(kd_reduction="mean_frames") and students_change(kd_reduction="mean_frames")
    ),
    "kd_tau2": lambda: relate_changes(kd_tau2=True) and students_change(kd_tau2=True),
    "kd_stages": lambda: relate_changes(kd_stages="last") and students_change(kd_stages="last"),
    "rkd_loss": lambda: (
        differs(relate_result(distill="rkd"), relate_result(distill="rkd", rkd_loss="huber"))
        and students_change(rkd_loss="huber")
    ),
    "gcr_matrix": lambda: (
        differs(relate_result(distill="gcr"), relate_result(distill="gcr", gcr_matrix="frame"))
        and students_change(gcr_matrix="frame")
    ),
    "teacher_arch": lambda: _teacher_arch_changes(),
    "bridge": lambda: relate_changes(bridge="joint"),
    "bridge_hidden": lambda: differs(
        relate_result(bridge="joint"), relate_result(bridge="joint", bridge_hidden=16)
    ),
    "bridge_weight": lambda: differs(
        relate_result(bridge="joint"), relate_result(bridge="joint", bridge_weight=2.0)
    ),
    "bridge_mse_padding": lambda: _bridge_padding_changes(),
    "single_branch_depth": lambda: students_change(single_branch_depth="relate"),
    "segmenter.<k>": lambda: (
        relate_changes(**{"segmenter.num_f_maps": 16})
        and students_change(**{"segmenter.num_f_maps": 16})
    ),
    "schedule": lambda: plan_changes("schedule", "segmenter_official"),
    "pr_confidence": lambda: pr_changes("pr_confidence", "raw"),
    "pr_mstar": lambda: pr_changes("pr_mstar", "unimodal"),
    "pr_t0": lambda: _pr_t0_changes(),
    "pr_rows": lambda: pr_changes("pr_rows", "minmax_release"),
    "pr_delta": lambda: _pr_delta_changes(),
}


def _teacher_arch_changes() -> bool:
    spec = RelateSpec.from_options("mstcn", "gtea", C, num_layers=2, teacher_arch="baseline")
    deeper = build_teacher(spec)
    same = build_teacher(RelateSpec.from_options("mstcn", "gtea", C, num_layers=2))
    return len(deeper.stages) != len(same.stages) and (
        spec.distill_settings().pairing == "last_aligned"
    )


def _bridge_padding_changes() -> bool:
    from relate.blocks.distill import bridge_loss

    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 8, 10, generator=g), torch.randn(2, 8, 10, generator=g)
    mask = torch.ones(2, 1, 10)
    mask[1, :, 6:] = 0
    return not torch.allclose(
        bridge_loss(a, b, mask, "exclude"), bridge_loss(a, b, mask, "include")
    )


def _pr_t0_changes() -> bool:
    # frame 0 low-confidence joint; the release wraps to the RGB head's last frame
    p_rgb = np.array([[0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
    p_flow = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    p_joint = np.array([[0.5, 0.5], [0.9, 0.1], [0.9, 0.1]])
    keep = refine_prediction(p_rgb, p_flow, p_joint, pr_t0="keep")
    wrap = refine_prediction(p_rgb, p_flow, p_joint, pr_t0="wrap_release")
    return not np.array_equal(keep, wrap)


def _pr_delta_changes() -> bool:
    rng = np.random.default_rng(1)
    heads = [rng.dirichlet(np.full(4, 0.3), size=3000) for _ in range(3)]
    return not np.array_equal(
        refine_prediction(*heads, delta=0.7), refine_prediction(*heads, delta=0.4)
    )


def test_every_option_has_a_case() -> None:
    assert set(CASES) == {o.name for o in OPTIONS}


@pytest.mark.parametrize("name", sorted(CASES))
def test_option_changes_computation(name: str) -> None:
    assert CASES[name](), f"option {name} did not change anything"


def test_paper_literal_preset() -> None:
    assert preset_options("paper_literal", "relate") == {
        "param_budget": "match_total",
        "anchor_stage": "last",
        "trunk": "paper",
        "bridge": "pretrained",
        "pr_confidence": "raw",
        "pr_mstar": "unimodal",
    }
    assert (
        preset_options("paper_literal", "kd") == {}
    )  # the paper is silent (D9, docs/decisions.md)
    assert preset_options("release", "relate") == {}
    expanded = expand_options("relate", "paper_literal", {"fusion": "naive", "num_layers": 4})
    assert "trunk" not in expanded.model and "param_budget" not in expanded.model
    assert expanded.pr == {"pr_confidence": "raw", "pr_mstar": "unimodal"}
    assert expand_options("relate", None, {"pr_t0": "wrap_release"}).pr == {"pr_t0": "wrap_release"}
    with pytest.raises(ValueError, match="relate only"):
        expand_options("kd", None, {"pr_mstar": "unimodal"})
    with pytest.raises(ValueError, match="unknown preset"):
        expand_options("relate", "paper", {})


def test_docs_options_md_is_current() -> None:
    from pathlib import Path

    from relate.commands.options_table import HEADER, render

    doc = Path(__file__).resolve().parents[1] / "docs" / "options.md"
    assert doc.read_text(encoding="utf-8") == HEADER + "\n" + render(), (
        "regenerate with: relate options --out docs/options.md"
    )
