"""Tests for relate.blocks.distill: KD, RKD, GCR, MARS, stage pairing and the modality bridge."""

from __future__ import annotations

import math

import pytest
import torch

from relate.blocks.distill import (
    DISTILL_LOSSES,
    LOSSES,
    ModalityBridge,
    bridge_loss,
    gcr_loss,
    kd_loss,
    mars_loss,
    rkd_loss,
    stagewise,
)
from relate.segmenters.base import SegmenterOutput

FEATURE_LOSSES = [n for n, e in LOSSES.items() if e.tensor == "features"]
ALL = list(LOSSES)
EPS = 1e-6


def _rand(*shape, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=dtype)


# --- minimum at student == teacher, positive otherwise --------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_zero_when_equal_positive_otherwise(name):
    fn = DISTILL_LOSSES[name]
    x = _rand(2, 4, 7)
    assert fn(x, x.clone()).item() == pytest.approx(0.0, abs=1e-6)
    y = _rand(2, 4, 7, seed=1)
    assert fn(x, y).item() > 1e-4


# --- hand-computed values (T = 3) ------------------------------------------------------------


def _kd_frame_value():
    # teacher at τ=2 -> (3/4, 1/4); student logits 0 -> (1/2, 1/2)
    return 0.75 * math.log(1.5) + 0.25 * math.log(0.5)


def _kd_inputs():
    a = 2 * math.log(3)
    teacher = torch.tensor([[[a, a, 0.0], [0.0, 0.0, a]]])  # (1, 2, 3)
    return torch.zeros(1, 2, 3), teacher


def test_kd_hand_value_release_and_textbook():
    s, t = _kd_inputs()
    k = _kd_frame_value()
    assert kd_loss(s, t, 2.0).item() == pytest.approx(3 * k, rel=1e-5)  # summed over frames
    assert kd_loss(s, t, 2.0, form="textbook").item() == pytest.approx(4 * k, rel=1e-5)
    # explicit overrides
    assert kd_loss(s, t, 2.0, reduction="mean_frames").item() == pytest.approx(k, rel=1e-5)
    assert kd_loss(s, t, 2.0, tau2=True).item() == pytest.approx(12 * k, rel=1e-5)


def test_kd_release_divides_by_batch():
    s, t = _kd_inputs()
    two = kd_loss(torch.cat([s, s]), torch.cat([t, t]), 2.0)
    assert two.item() == pytest.approx(3 * _kd_frame_value(), rel=1e-5)


def _rkd_psi(points):
    n = len(points)
    d = [[math.dist(p, q) for q in points] for p in points]
    pos = [v for row in d for v in row if v > 0]
    mu = sum(pos) / len(pos) + EPS
    return [[v / mu for v in row] for row in d], n


def test_rkd_hand_value():
    ps = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
    pt = [(0.0, 0.0), (1.0, 0.0), (2.0, 0.0)]
    (a, n), (b, _) = _rkd_psi(ps), _rkd_psi(pt)
    mse = sum((a[i][j] - b[i][j]) ** 2 for i in range(n) for j in range(n)) / n**2
    hub = (
        sum(
            0.5 * (a[i][j] - b[i][j]) ** 2
            if abs(a[i][j] - b[i][j]) < 1
            else abs(a[i][j] - b[i][j]) - 0.5
            for i in range(n)
            for j in range(n)
        )
        / n**2
    )
    s = torch.tensor(ps).T.unsqueeze(0)  # (1, F=2, T=3)
    t = torch.tensor(pt).T.unsqueeze(0)
    assert rkd_loss(s, t).item() == pytest.approx(mse, rel=1e-5)
    assert rkd_loss(s, t, loss="huber").item() == pytest.approx(hub, rel=1e-5)


def test_rkd_scale_invariant_and_width_free():
    s, t = _rand(1, 4, 9), _rand(1, 6, 9, seed=1)
    base = rkd_loss(s, t).item()
    assert rkd_loss(3.0 * s, 0.5 * t).item() == pytest.approx(base, rel=1e-4)
    assert rkd_loss(s, 2.0 * s).item() == pytest.approx(0.0, abs=1e-6)


def test_rkd_chunked_matches_full_value_and_grad():
    s1 = _rand(2, 4, 23, dtype=torch.float64).requires_grad_(True)
    s2 = s1.detach().clone().requires_grad_(True)
    t = _rand(2, 5, 23, seed=3, dtype=torch.float64)
    full, chunked = rkd_loss(s1, t), rkd_loss(s2, t, chunk_size=5)
    assert chunked.item() == pytest.approx(full.item(), rel=1e-10)
    full.backward()
    chunked.backward()
    torch.testing.assert_close(s1.grad, s2.grad)


def test_rkd_max_frames_subsamples():
    s, t = _rand(1, 3, 50), _rand(1, 3, 50, seed=1)
    idx = torch.linspace(0, 49, 10).round().long()
    assert rkd_loss(s, t, max_frames=10).item() == pytest.approx(
        rkd_loss(s[:, :, idx], t[:, :, idx]).item(), rel=1e-6
    )


def test_gcr_hand_value():
    s = torch.tensor([[[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]])  # cov_01 = 2/(2+eps)
    t = torch.tensor([[[0.0, 1.0, 2.0], [0.0, -1.0, -2.0]]])  # cov_01 = -2/(2+eps)
    c = 2 / (2 + EPS)
    assert gcr_loss(s, t).item() == pytest.approx((2 * c) ** 2, rel=1e-6)
    # with the diagonal: variances equal (both c), so the mean over 3 entries is 4c²/3
    assert gcr_loss(s, t, include_diag=True).item() == pytest.approx(4 * c**2 / 3, rel=1e-6)


def test_gcr_translation_invariant_and_frame_matrix():
    s, t = _rand(1, 4, 10), _rand(1, 4, 10, seed=1)
    assert gcr_loss(s + 5.0, t).item() == pytest.approx(gcr_loss(s, t).item(), rel=1e-4)
    assert gcr_loss(s, s, matrix="frame").item() == pytest.approx(0.0, abs=1e-8)
    assert gcr_loss(s, t, matrix="frame").item() > 0


def test_mars_hand_value():
    s = torch.zeros(1, 2, 3)
    t = torch.tensor([[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]])
    assert mars_loss(s, t).item() == pytest.approx(14 / 6)
    assert mars_loss(s, torch.ones(1, 2, 3)).item() == pytest.approx(1.0)


# --- temperature ------------------------------------------------------------------------------


def test_kd_temperature_behaviour():
    s, t = _kd_inputs()
    release = [kd_loss(s, t, tau).item() for tau in (1.0, 2.0, 4.0, 8.0)]
    assert all(a > b for a, b in zip(release, release[1:]))  # softer targets, smaller KL
    for tau in (1.0, 2.0, 4.0):
        mean = kd_loss(s, t, tau, reduction="mean_frames").item()
        assert kd_loss(s, t, tau, form="textbook").item() == pytest.approx(tau**2 * mean, rel=1e-6)
    # τ²·KL → ½ Var_c(Δlogit) as τ → ∞ (Hinton's logit-matching limit); here Δ = (2 ln 3, 0)
    big = kd_loss(s.double(), t.double(), 200.0, form="textbook").item()
    assert big == pytest.approx(0.5 * math.log(3) ** 2, rel=1e-2)
    with pytest.raises(ValueError):
        kd_loss(s, t, 0.0)


# --- masks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_mask_excludes_padding(name):
    fn = DISTILL_LOSSES[name]
    s, t = _rand(1, 3, 6), _rand(1, 3, 6, seed=1)
    s_pad = torch.cat([s, 100 * _rand(1, 3, 4, seed=2)], dim=2)
    t_pad = torch.cat([t, -50 * _rand(1, 3, 4, seed=3)], dim=2)
    mask = torch.zeros(1, 1, 10)
    mask[..., :6] = 1
    ref = fn(s, t).item()
    assert fn(s_pad, t_pad, mask=mask).item() == pytest.approx(ref, rel=1e-5)
    assert fn(s_pad, t_pad, mask=mask[:, 0]).item() == pytest.approx(ref, rel=1e-5)


def test_kd_mask_hand_value():
    s, t = _kd_inputs()
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert kd_loss(s, t, 2.0, mask=mask).item() == pytest.approx(2 * _kd_frame_value(), rel=1e-5)


def test_mask_shape_checked():
    with pytest.raises(ValueError):
        mars_loss(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), mask=torch.ones(1, 4))


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_no_gradient_to_teacher(name):
    s = _rand(1, 3, 8).requires_grad_(True)
    t = _rand(1, 3, 8, seed=1).requires_grad_(True)
    DISTILL_LOSSES[name](s, t).backward()
    assert t.grad is None
    assert s.grad is not None and torch.isfinite(s.grad).all()


def test_rkd_chunked_no_gradient_to_teacher():
    s = _rand(1, 3, 8).requires_grad_(True)
    t = _rand(1, 3, 8, seed=1).requires_grad_(True)
    rkd_loss(s, t, chunk_size=3).backward()
    assert t.grad is None


# --- dtype and T = 1 --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_float64_float32_agree(name):
    s, t = _rand(2, 5, 12, dtype=torch.float64), _rand(2, 5, 12, seed=1, dtype=torch.float64)
    fn = DISTILL_LOSSES[name]
    assert fn(s.float(), t.float()).item() == pytest.approx(fn(s, t).item(), rel=1e-4)


@pytest.mark.parametrize("name", ALL)
def test_single_frame_no_nan(name):
    s = _rand(1, 4, 1).requires_grad_(True)
    t = _rand(1, 4, 1, seed=1)
    loss = DISTILL_LOSSES[name](s, t)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()
    if name in ("rkd", "gcr"):  # no pair / zero covariance: defined as 0
        assert loss.item() == 0.0
    else:  # kd, mars: the ordinary one-frame value
        assert loss.item() > 0


def test_identical_frames_rkd_finite_grad():
    s = torch.ones(1, 3, 5, requires_grad=True)
    loss = rkd_loss(s, _rand(1, 3, 5))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(s.grad).all()


# --- stagewise --------------------------------------------------------------------------------


def _out(n, seed):
    return SegmenterOutput(
        logits=[_rand(1, 4, 6, seed=seed + i) for i in range(n)],
        features=[_rand(1, 5, 6, seed=seed + 10 + i) for i in range(n)],
    )


def test_stagewise_sums_pairs():
    st, te = _out(3, 0), _out(3, 100)
    expect = sum(kd_loss(st.logits[i], te.logits[i], 2.0).item() for i in range(3))
    assert stagewise(kd_loss, st, te, temperature=2.0).item() == pytest.approx(expect, rel=1e-6)
    mean = stagewise(kd_loss, st, te, reduction="mean", temperature=2.0).item()
    assert mean == pytest.approx(expect / 3, rel=1e-6)
    last = stagewise(gcr_loss, st, te, stages="last", field="features").item()
    assert last == pytest.approx(gcr_loss(st.features[-1], te.features[-1]).item())
    one = stagewise(mars_loss, st, te, stages=[-2], field="features").item()
    assert one == pytest.approx(mars_loss(st.features[1], te.features[1]).item())


def test_stagewise_depth_mismatch_raises():
    with pytest.raises(ValueError, match="stages"):
        stagewise(kd_loss, _out(3, 0), _out(4, 100))
    # the D8 option (docs/decisions.md) pairs the last stages of a deeper teacher
    st, te = _out(3, 0), _out(4, 100)
    val = stagewise(kd_loss, st, te, pairing="last_aligned").item()
    expect = sum(kd_loss(st.logits[i], te.logits[i + 1]).item() for i in range(3))
    assert val == pytest.approx(expect, rel=1e-6)
    with pytest.raises(ValueError):
        stagewise(kd_loss, _out(4, 0), _out(3, 100), pairing="last_aligned")
    with pytest.raises(ValueError):
        stagewise(kd_loss, st, _out(3, 1), stages=[3])
    with pytest.raises(ValueError):
        stagewise(kd_loss, st, _out(3, 1), field="extras")


# --- modality bridge --------------------------------------------------------------------------


def test_bridge_shape_and_parameter_count():
    bridge = ModalityBridge()
    assert sum(p.numel() for p in bridge.parameters()) == 525_568
    out = bridge(torch.randn(2, 1024, 7))
    assert out.shape == (2, 1024, 7)
    small = ModalityBridge(in_dim=8, hidden=4)
    assert sum(p.numel() for p in small.parameters()) == 2 * 8 * 4 + 4 + 8
    small.freeze()
    assert not small.training and not any(p.requires_grad for p in small.parameters())


def test_bridge_loss_padding_options():
    pred, flow = torch.zeros(1, 2, 4), torch.ones(1, 2, 4)
    flow[..., 3] = 0.0
    pred[..., 3] = 10.0  # a padded frame with a large error
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    assert bridge_loss(pred, flow, mask).item() == pytest.approx(1.0)
    assert bridge_loss(pred, flow, mask, padding="include").item() == pytest.approx(
        (6 * 1 + 2 * 100) / 8
    )
    flow.requires_grad_(True)
    bridge_loss(pred.requires_grad_(True), flow).backward()
    assert flow.grad is None
