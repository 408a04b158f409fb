"""RelateModel / RelateSpec: forward, backward, loss terms, options, parameter counts."""

from __future__ import annotations

import math

import pytest
import torch

from relate.blocks.distill import relate_losses
from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher, count_parameters
from relate.segmenters import SEGMENTERS
from relate.segmenters.base import SegmenterOutput

C = 11
TINY = {"fact": {"segmenter_options": {"a_layers": 1}}}
"""Extra spec options that keep a segmenter small (default: none)."""


def tiny_spec(segmenter: str = "mstcn", **kw) -> RelateSpec:
    base = dict(num_layers=3, **TINY.get(segmenter, {}))
    base.update(kw)
    return RelateSpec(segmenter, "gtea", C, **base)


def run(model: RelateModel, t: int, b: int = 1, seed: int = 0, teacher_grad: bool = False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 1024, t, generator=g)
    x_flow = torch.randn(b, 1024, t, generator=g)
    y = torch.randint(0, C, (b, t), generator=g)
    teacher = build_teacher(model.spec).eval().requires_grad_(False)
    with torch.no_grad():
        t_out = teacher(x_flow)
    if teacher_grad:  # leaf tensors that would collect gradients if the loss reached them
        t_out = SegmenterOutput(
            [z.clone().requires_grad_(True) for z in t_out.logits],
            [z.clone().requires_grad_(True) for z in t_out.features],
        )
    out = model(x)
    loss = model.loss(out, y, None, teacher_output=t_out, x_flow=x_flow)
    return out, loss, t_out


@pytest.mark.parametrize("segmenter", list(SEGMENTERS))
@pytest.mark.parametrize("t", [1, 37, 300])
def test_forward_backward(segmenter: str, t: int) -> None:
    torch.manual_seed(0)
    model = RelateModel(tiny_spec(segmenter))
    out, loss, t_out = run(model, t, teacher_grad=True)
    assert set(loss) == {"rgb", "flow", "joint", "cmkd", "bridge", "total"}
    for name, value in loss.items():
        assert value.dim() == 0 and math.isfinite(float(value.detach())), (name, value)
    expected = loss["rgb"] + loss["flow"] + loss["joint"] + 0.5 * loss["cmkd"] + loss["bridge"]
    assert torch.allclose(loss["total"], expected)
    assert len(out.rgb.logits) == len(out.flow.logits) == len(out.joint.logits) == 3
    loss["total"].backward()
    for part in ("rgb", "flow", "fusion", "joint"):
        grads = [p.grad for p in getattr(model, part).parameters() if p.grad is not None]
        assert grads, f"no gradient reached {part}"
        assert any(float(g.abs().sum()) > 0 for g in grads), f"zero gradient in {part}"
    for z in t_out.logits + t_out.features:
        assert z.grad is None
    probs = model.probabilities(out)
    assert set(probs) == {"rgb", "flow", "joint"}
    for p in probs.values():
        assert p.shape == (1, C, t)
        assert torch.allclose(p.sum(1), torch.ones(1, t), atol=1e-5)


def test_padding_mask_batch_two() -> None:
    torch.manual_seed(0)
    model = RelateModel(tiny_spec("mstcn"))
    x = torch.randn(2, 1024, 20)
    mask = torch.ones(2, 1, 20)
    mask[1, :, 13:] = 0
    y = torch.randint(0, C, (2, 20))
    y[1, 13:] = -100
    teacher = build_teacher(model.spec).eval()
    with torch.no_grad():
        t_out = teacher(torch.randn(2, 1024, 20), mask)
    out = model(x, mask)
    loss = model.loss(out, y, mask, teacher_output=t_out)
    assert math.isfinite(float(loss["total"].detach()))
    assert float(out.fused[1, :, 13:].detach().abs().sum()) == 0.0


def _outputs(spec: RelateSpec, seed: int = 0):
    torch.manual_seed(seed)
    model = RelateModel(spec).eval()
    with torch.no_grad():
        out, loss, _ = run(model, 40)
    return out, loss


@pytest.mark.parametrize(
    "option,value",
    [
        ("aga", "none"),
        ("aga", "rgb"),
        ("aga", "flow"),
        ("fusion", "naive"),
        ("fusion", "self_attention"),
        ("fusion", "cross_attention"),
        ("fusion", "local_attentive"),
        ("trunk", "paper"),
        ("anchor_stage", "last"),
    ],
)
def test_options_change_outputs(option: str, value: object) -> None:
    base, _ = _outputs(tiny_spec())
    other, _ = _outputs(tiny_spec(**{option: value}))
    assert not torch.allclose(base.joint.logits[-1], other.joint.logits[-1])
    # the branches themselves are identical (same seed, same construction order)
    assert torch.allclose(base.rgb.logits[-1], other.rgb.logits[-1])


@pytest.mark.parametrize("distill", [n for n in relate_losses() if n != "kd"])
def test_distill_changes_loss(distill: str) -> None:
    _, kd = _outputs(tiny_spec())
    _, other = _outputs(tiny_spec(distill=distill))
    assert torch.allclose(kd["rgb"], other["rgb"])
    assert not torch.allclose(kd["cmkd"], other["cmkd"])


def test_gamma_and_bridge() -> None:
    _, half = _outputs(tiny_spec())
    _, one = _outputs(tiny_spec(gamma=1.0))
    assert torch.allclose(one["total"] - half["total"], 0.5 * half["cmkd"], atol=1e-4)
    torch.manual_seed(0)
    joint = RelateModel(tiny_spec(bridge="joint"))
    out, loss, _ = run(joint, 25)
    assert out.pseudo_flow is not None and float(loss["bridge"].detach()) > 0
    loss["total"].backward()
    assert all(p.grad is not None for p in joint.bridge.parameters())
    torch.manual_seed(0)
    frozen = RelateModel(tiny_spec(bridge="pretrained"))
    out, loss, _ = run(frozen, 25)
    assert float(loss["bridge"].detach()) == 0.0
    assert count_parameters(frozen, trainable_only=True) == count_parameters(frozen) - 525_568


def test_loss_needs_teacher_and_flow() -> None:
    model = RelateModel(tiny_spec(bridge="joint"))
    out = model(torch.randn(1, 1024, 9))
    y = torch.zeros(1, 9, dtype=torch.long)
    with pytest.raises(ValueError, match="teacher_output"):
        model.loss(out, y)
    teacher = build_teacher(model.spec)
    with torch.no_grad():
        t_out = teacher(torch.randn(1, 1024, 9))
    with pytest.raises(ValueError, match="x_flow"):
        model.loss(out, y, teacher_output=t_out)
    assert math.isfinite(
        float(
            RelateModel(tiny_spec(gamma=0.0))
            .loss(RelateModel(tiny_spec(gamma=0.0))(torch.randn(1, 1024, 9)), y)["total"]
            .detach()
        )
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(distill="mse"),
        dict(aga="all"),
        dict(fusion="concat"),
        dict(trunk="x"),
        dict(bridge="yes"),
        dict(anchor_stage=3),
        dict(anchor_stage=1, depth=1),
        dict(depth=0),
        dict(gamma=-1.0),
        dict(aga="rgb", fusion="naive"),
        dict(trunk="paper", fusion="naive"),
        dict(fusion_options={"aga": "none"}),
        dict(fusion="naive", fusion_options={"window": 8}),
        dict(segmenter_options={"num_stages": 2}),
    ],
)
def test_invalid_options_raise(kw: dict) -> None:
    with pytest.raises(ValueError):
        RelateModel(RelateSpec("mstcn", "gtea", C, **kw))


def test_invalid_segmenter() -> None:
    with pytest.raises(ValueError, match="segmenter"):
        RelateSpec("tcn", "gtea", C)


def test_from_options() -> None:
    spec = RelateSpec.from_options(
        "asformer",
        "gtea",
        "11",
        distill="rkd",
        aga="flow",
        depth="4",
        gamma="0.25",
        anchor_stage="last",
        **{"fusion.window": "16", "segmenter.num_f_maps": "32"},
    )
    assert (spec.distill, spec.aga, spec.depth, spec.gamma, spec.anchor_stage) == (
        "rkd",
        "flow",
        4,
        0.25,
        "last",
    )
    assert spec.fusion_options == {"window": 16} and spec.feature_dim() == 32
    assert spec.segmenter_overrides()["num_decoders"] == 3
    with pytest.raises(ValueError, match="known: .*distill"):
        RelateSpec.from_options("mstcn", "gtea", 11, distil="kd")
    with pytest.raises(ValueError):
        RelateSpec.from_options("mstcn", "gtea", 11, depth="three")


def test_release_parameter_counts() -> None:
    """docs/decisions.md (parameter counts), C = 11: inference RGB + flow + AFT + joint."""
    for segmenter, total, seg, joint in [
        ("mstcn", 1_698_787, 564_641, 503_201),
        ("asformer", 2_450_467, 815_201, 753_761),
    ]:
        model = RelateModel(RelateSpec(segmenter, "gtea", C))
        assert count_parameters(model) == total
        assert count_parameters(model.rgb) == count_parameters(model.flow) == seg
        assert count_parameters(model.joint) == joint
        assert count_parameters(model.fusion) == 66_304
        assert count_parameters(build_teacher(model.spec)) == seg
    naive = RelateModel(RelateSpec("mstcn", "gtea", C, fusion="naive"))
    assert count_parameters(naive) == 1_636_579  # "inference, concat fusion"
