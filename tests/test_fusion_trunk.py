"""AFT trunk (relate/blocks/fusion/trunk.py) and the Table 3 fusions
(relate/blocks/fusion/baselines.py)."""

from __future__ import annotations

import pytest
import torch

import relate.blocks.fusion.action_gated_attention as aga_module
from relate.blocks.fusion import AlignmentFusion, build_fusion, release_aft_parameters

D = 16  # small width for speed; parameter counts are checked at d = 64

# (fusion name, options): every fusion x aga option, both trunks for the AFT
CONFIGS: list[tuple[str, dict]] = [
    *[("aft", {"aga": a}) for a in ("both", "rgb", "flow", "none")],
    ("aft", {"trunk": "paper"}),
    ("aft", {"aga": "rgb", "passthrough": "identity", "trunk": "paper"}),
    ("naive", {}),
    ("self_attention", {}),
    ("cross_attention", {}),
    ("cross_attention", {"variant": "cross_modal"}),
    ("local_attentive", {}),
    ("local_attentive", {"placement": "bypass"}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for n, o in CONFIGS]


def make(name: str, options: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_fusion(name, D, **dict(options)).eval()


def inputs(batch: int, frames: int, seed: int = 1, runs: int = 5):
    g = torch.Generator().manual_seed(seed)
    scale = torch.rand(batch, D, 1, generator=g) * 3 + 0.5
    shift = torch.randn(batch, D, 1, generator=g) * 2
    z_rgb = torch.randn(batch, D, frames, generator=g) * scale + shift
    z_flow = torch.randn(batch, D, frames, generator=g) * scale - shift
    labels = (torch.arange(frames) * runs // max(frames, 1)).expand(batch, frames) % 3
    return z_rgb, z_flow, labels.clone(), (labels.flip(-1) + 1) % 3


@pytest.mark.parametrize("frames", [1, 37, 1001])
@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_shapes_no_nan(name: str, options: dict, frames: int) -> None:
    model = make(name, options)
    z_rgb, z_flow, l_rgb, l_flow = inputs(2, frames)
    out = model(z_rgb, z_flow, l_rgb, l_flow, None)
    assert out.shape == (2, model.out_dim, frames)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_gradients_reach_both_modalities(name: str, options: dict) -> None:
    model = make(name, options).train()
    z_rgb, z_flow, l_rgb, l_flow = inputs(1, 50)
    z_rgb.requires_grad_(True)
    z_flow.requires_grad_(True)
    model(z_rgb, z_flow, l_rgb, l_flow).square().sum().backward()
    for z in (z_rgb, z_flow):
        assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_padding_is_zero_and_does_not_leak(name: str, options: dict) -> None:
    """Padded frames output 0; a padded video gives the same valid output as alone."""
    model = make(name, options)
    z_rgb, z_flow, l_rgb, l_flow = inputs(1, 40)
    alone = model(z_rgb, z_flow, l_rgb, l_flow)
    pad = 13
    big = [torch.cat([x, 100 * torch.randn(*x.shape[:-1], pad)], -1) for x in (z_rgb, z_flow)]
    labs = [torch.cat([x, torch.zeros(1, pad, dtype=x.dtype)], -1) for x in (l_rgb, l_flow)]
    mask = torch.ones(1, 1, 40 + pad)
    mask[..., 40:] = 0
    out = model(big[0], big[1], labs[0], labs[1], mask)
    assert (out[..., 40:] == 0).all()
    torch.testing.assert_close(out[..., :40], alone, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,options", CONFIGS, ids=IDS)
def test_eval_determinism(name: str, options: dict) -> None:
    model = make(name, options)
    args = inputs(2, 70)
    assert torch.equal(model(*args), model(*args))


def test_aga_none_equals_gate_replaced_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """aga="none" (passthrough "value") = the full AFT with A := 1, i.e. Z~ = V, same weights."""
    full, none = make("aft", {}), make("aft", {"aga": "none"})
    none.load_state_dict(full.state_dict())
    args = inputs(2, 45)
    gated = full(*args)
    monkeypatch.setattr(aga_module, "action_gate", lambda k, *a, **kw: torch.ones_like(k))
    torch.testing.assert_close(full(*args), none(*args), rtol=0, atol=0)
    assert not torch.allclose(gated, none(*args))


def test_single_modality_aga_gates_only_that_modality(monkeypatch: pytest.MonkeyPatch) -> None:
    full, rgb_only = make("aft", {}), make("aft", {"aga": "rgb"})
    rgb_only.load_state_dict(full.state_dict())
    args = inputs(1, 45)
    calls: list[int] = []
    original = aga_module.action_gate

    def counting(*a, **kw):
        calls.append(1)
        return original(*a, **kw)

    monkeypatch.setattr(aga_module, "action_gate", counting)
    rgb_only(*args)
    assert len(calls) == 1


def test_paper_trunk_long_video() -> None:
    """T = 6000 with the global attention: runs through SDPA (this code forms no T x T tensor)."""
    model = make("aft", {"trunk": "paper"})
    z_rgb, z_flow, l_rgb, l_flow = inputs(1, 6000, runs=300)
    mask = torch.ones(1, 1, 6000)
    mask[..., 5900:] = 0
    with torch.no_grad():
        out = model(z_rgb, z_flow, l_rgb, l_flow, mask)
    assert out.shape == (1, D, 6000) and torch.isfinite(out).all()
    assert (out[..., 5900:] == 0).all()


# option -> value differing from the default; each must change the output
OPTION_CHANGES: list[tuple[str, dict, dict]] = [
    ("aft", {}, {"trunk": "paper"}),
    ("aft", {}, {"input_norm": "layer"}),
    ("aft", {}, {"input_norm": "none"}),
    ("aft", {}, {"norm": "layer"}),
    ("aft", {}, {"attention": "global"}),
    ("aft", {}, {"window": 8}),
    ("aft", {}, {"window_mask": "sliding"}),
    ("aft", {}, {"ffn": "mlp"}),
    ("aft", {}, {"aga": "rgb"}),
    ("aft", {}, {"aga": "flow"}),
    ("aft", {}, {"aga": "none"}),
    ("aft", {}, {"anchor": "own_segment"}),
    ("aft", {"aga": "rgb"}, {"aga": "rgb", "passthrough": "identity"}),
    ("aft", {}, {"out_dim": D}),  # same width: must be a no-op (control)
    ("cross_attention", {}, {"variant": "cross_modal"}),
    ("local_attentive", {}, {"placement": "bypass"}),
    ("self_attention", {}, {"trunk": "paper"}),
]


@pytest.mark.parametrize("name,base,changed", OPTION_CHANGES)
def test_each_option_changes_output(name: str, base: dict, changed: dict) -> None:
    reference, other = make(name, base), make(name, changed)
    other.load_state_dict(
        {
            k: v
            for k, v in reference.state_dict().items()
            if k in other.state_dict() and other.state_dict()[k].shape == v.shape
        },
        strict=False,
    )
    args = inputs(2, 80, runs=7)
    a, b = reference(*args), other(*args)
    if changed == {"out_dim": D}:
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    else:
        assert a.shape != b.shape or not torch.allclose(a, b, atol=1e-6)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_parameter_counts() -> None:
    d = 64
    # docs/decisions.md (parameter counts): AFT = 16 d^2 + 12 d = 66,304
    # (AGA 24,960, attention 33,088, proj 8,256)
    assert release_aft_parameters(d) == 66_304
    aft = AlignmentFusion(d)
    assert count(aft) == 66_304
    assert count(aft.aga) == 24_960
    assert count(aft.trunk.attention) == 33_088
    assert count(aft.trunk.projection) == 8_256
    # the release's cross-attention has the AFT's count (§6.1)
    assert count(build_fusion("cross_attention", d)) == 66_304
    assert count(build_fusion("self_attention", d)) == 66_304
    assert count(build_fusion("naive", d)) == 0
    assert build_fusion("naive", d).out_dim == 128
    # LAF: 4 d^2 in the modulation
    assert count(build_fusion("local_attentive", d)) == 66_304 - 24_960 + 4 * d * d
    assert count(build_fusion("local_attentive", d, placement="bypass")) == 4 * d * d
    # paper trunk: + LayerNorm(2d) 256 + FFN (2d*4d + 4d) + (4d*2d + 2d) = 65,920
    assert count(AlignmentFusion(d, trunk="paper")) == 66_304 + 256 + 65_920
    # un-gated with identity passthrough drops that modality's AGA (12,480)
    assert count(AlignmentFusion(d, aga="rgb", passthrough="identity")) == 66_304 - 12_480
    assert count(AlignmentFusion(d, aga="none")) == 66_304  # value passthrough keeps V


def test_bad_options() -> None:
    for name, options in [
        ("aft", {"aga": "both_ways"}),
        ("aft", {"trunk": "x"}),
        ("aft", {"ffn": "x"}),
        ("cross_attention", {"variant": "x"}),
        ("local_attentive", {"placement": "x"}),
        ("naive", {"trunk": "paper"}),
        ("nope", {}),
    ]:
        with pytest.raises(ValueError):
            build_fusion(name, D, **options)
    with pytest.raises(ValueError):
        make("aft", {})(*inputs(1, 5)[:2])  # gated modalities need labels


def test_release_trunk_by_hand() -> None:
    """Release trunk = InstanceNorm1d per modality -> AGA -> concat -> InstanceNorm1d(2d) ->
    window attention layer -> 1x1 conv 2d -> d (no padding: torch's own InstanceNorm)."""
    from relate.blocks.fusion import ActionGatedAttention

    model = make("aft", {})
    z_rgb, z_flow, l_rgb, l_flow = inputs(1, 90)
    mask = torch.ones(1, 1, 90)
    gated = []
    for z, labels, aga in zip((z_rgb, z_flow), (l_rgb, l_flow), model.aga):
        ref = ActionGatedAttention(D)  # input_norm="instance"
        ref.load_state_dict(aga.state_dict())
        gated.append(ref(z, labels))
    x = torch.nn.InstanceNorm1d(2 * D)(torch.cat(gated, 1))
    x = model.trunk.attention(x, None, mask)
    expected = model.trunk.projection(x)
    torch.testing.assert_close(model(z_rgb, z_flow, l_rgb, l_flow), expected, rtol=1e-5, atol=1e-5)
