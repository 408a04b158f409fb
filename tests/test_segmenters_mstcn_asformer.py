"""Tests of MS-TCN, ASFormer and their shared loss (relate.segmenters.{mstcn,asformer,losses}).

Fidelity targets are the official parameter counts (docs/segmenters.md) and the official
loss; expected loss values are worked out by hand below.
Small models (few layers, small input) keep the file fast on 2 CPU cores.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from relate.data.registry import DATASETS
from relate.segmenters import build, defaults
from relate.segmenters.asformer import WindowAttention, build_window_mask, instance_norm
from relate.segmenters.losses import segmentation_loss, truncated_smoothing


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Small tensors run faster on one thread, and stay fast when the CPUs are shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


DATASET_CLASSES = {n: row.n_classes for n, row in DATASETS.items() if not row.synthetic}

# --- parameter counts --------------------------------------------------------------------

PARAMS = {  # (segmenter, input dim, classes) -> official count
    ("mstcn", 2048, 11): 796_780,
    ("mstcn", 2048, 19): 800_396,
    ("mstcn", 2048, 48): 813_504,
    ("mstcn", 1024, 11): 731_244,
    ("mstcn", 1024, 19): 734_860,
    ("mstcn", 1024, 48): 747_968,
    ("asformer", 2048, 11): 1_130_860,
    ("asformer", 2048, 19): 1_134_476,
    ("asformer", 2048, 48): 1_147_584,
    ("asformer", 1024, 11): 1_065_324,
    ("asformer", 1024, 19): 1_068_940,
    ("asformer", 1024, 48): 1_082_048,
}


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("name", "in_dim", "classes"), list(PARAMS))
def test_official_parameter_counts(name: str, in_dim: int, classes: int) -> None:
    dataset = {11: "gtea", 19: "50salads", 48: "breakfast"}[classes]
    assert n_params(build(name, in_dim, classes, dataset)) == PARAMS[name, in_dim, classes]


def test_release_depth_parameter_counts() -> None:
    # docs/decisions.md (parameter counts): 3 stages (MS-TCN) / encoder + 2 decoders
    # (ASFormer), 1024-d
    assert n_params(build("mstcn", 1024, 11, "gtea", num_stages=3)) == 564_641
    assert n_params(build("asformer", 1024, 11, "gtea", num_decoders=2)) == 815_201


# --- shapes ------------------------------------------------------------------------------


def small(name: str, **overrides: object) -> torch.nn.Module:
    """A reduced model (32-d input, 5 classes) with the official depths unless overridden."""
    return build(name, 32, 5, "gtea", **overrides)


@pytest.mark.parametrize(
    ("name", "stages", "length"),
    [
        ("mstcn", 4, 1),
        ("mstcn", 4, 37),
        ("mstcn", 4, 2500),
        ("asformer", 4, 1),
        ("asformer", 4, 2),
        ("asformer", 4, 37),
        ("asformer", 4, 1500),
    ],
)
def test_output_shapes(name: str, stages: int, length: int) -> None:
    model = small(name).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 32, length))
    assert len(out.logits) == len(out.features) == stages
    for logits, feature in zip(out.logits, out.features):
        assert logits.shape == (1, 5, length)
        assert feature.shape == (1, 64, length)
        assert torch.isfinite(logits).all() and torch.isfinite(feature).all()
    assert model.probabilities(out).shape == (1, 5, length)
    torch.testing.assert_close(model.probabilities(out).sum(1), torch.ones(1, length))


@functools.cache
def tiny_eval_model(name: str) -> torch.nn.Module:
    return build(name, 8, 3, "gtea", num_layers=7).eval()  # ASFormer blocks up to 64 frames


@settings(max_examples=20, deadline=None)
@given(length=st.integers(1, 70), batch=st.integers(1, 2))
def test_length_preserved_for_any_t(length: int, batch: int) -> None:
    for name in ("mstcn", "asformer"):
        model = tiny_eval_model(name)
        with torch.no_grad():
            out = model(torch.randn(batch, 8, length))
        assert all(x.shape == (batch, 3, length) for x in out.logits)
        assert all(torch.isfinite(x).all() for x in out.logits + out.features)


@pytest.mark.parametrize(
    ("name", "override", "stages"),
    [
        ("mstcn", {"num_stages": 3}, 3),
        ("mstcn", {"num_stages": 1}, 1),
        ("asformer", {"num_decoders": 2}, 3),
        ("asformer", {"num_decoders": 0}, 1),
    ],
)
def test_depth_overrides(name: str, override: dict[str, int], stages: int) -> None:
    model = small(name, num_layers=3, **override).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 32, 20))
    assert len(out.logits) == len(out.features) == stages


# --- train/eval behaviour ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["mstcn", "asformer"])
def test_eval_deterministic_train_uses_dropout(name: str) -> None:
    model = small(name, num_layers=4)
    x = torch.randn(1, 32, 40)
    model.eval()
    with torch.no_grad():
        a, b = model(x).logits[-1], model(x).logits[-1]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    model.train()
    with torch.no_grad():
        c, d = model(x).logits[-1], model(x).logits[-1]
    assert not torch.allclose(c, d)


def test_asformer_channel_masking_drops_whole_input_channels() -> None:
    model = small("asformer", num_layers=2)
    assert model.channel_mask_rate == 0.5  # GTEA
    model.train()
    x = torch.ones(1, 32, 10, 1)  # the (B, D, 1, T) view
    dropped = model.channel_dropout(x)
    per_channel = dropped[0, :, 0, :]  # (D, T)
    # each input channel is either zeroed at every frame or scaled by 1 / (1 - p) at every frame
    assert all(len(set(row.tolist())) == 1 for row in per_channel)
    assert set(per_channel[:, 0].tolist()) <= {0.0, 2.0}


@pytest.mark.parametrize("name", ["mstcn", "asformer"])
def test_batch_equals_single_videos_without_padding(name: str) -> None:
    model = small(name, num_layers=5).eval()
    x = torch.randn(2, 32, 45)
    with torch.no_grad():
        batched = model(x)
        singles = [model(x[i : i + 1]) for i in range(2)]
    for s in range(len(batched.logits)):
        for i in range(2):
            torch.testing.assert_close(batched.logits[s][i], singles[i].logits[s][0])
            torch.testing.assert_close(batched.features[s][i], singles[i].features[s][0])


@pytest.mark.parametrize("name", ["mstcn", "asformer"])
def test_padded_frames_are_zero(name: str) -> None:
    model = small(name, num_layers=5).eval()
    x = torch.randn(2, 32, 30)
    mask = torch.ones(2, 1, 30)
    mask[1, :, 21:] = 0
    x[1, :, 21:] = 0  # zero padding, as the official batch generators
    with torch.no_grad():
        out = model(x, mask)
    for logits, feature in zip(out.logits, out.features):
        assert torch.isfinite(logits).all()
        assert (logits[1, :, 21:] == 0).all() and (feature[1, :, 21:] == 0).all()


def test_mstcn_padding_leaks_only_through_the_input_bias() -> None:
    # Upstream masks after every residual layer, but not the stage's input 1x1 conv: the padded
    # frame next to the video holds that conv's bias, which layer 0 (dilation 1) reads at the
    # last valid frame, where an unpadded run reads the conv's zero padding. With 3 layers
    # (dilations 1, 2, 4) that difference reaches back 1 + 2 + 4 frames and no further.
    model = build("mstcn", 32, 5, "gtea", num_stages=1, num_layers=3).eval()
    length, padded = 25, 31
    x = torch.randn(1, 32, length)
    xp = torch.cat([x, torch.zeros(1, 32, padded - length)], dim=-1)
    mask = torch.cat([torch.ones(1, 1, length), torch.zeros(1, 1, padded - length)], dim=-1)
    with torch.no_grad():
        alone = model(x).logits[0]
        in_batch = model(xp, mask).logits[0][..., :length]
    torch.testing.assert_close(in_batch[..., : length - 7], alone[..., : length - 7])
    assert not torch.allclose(in_batch[..., -1], alone[..., -1])


# --- loss --------------------------------------------------------------------------------


def log_softmax2(a: float, b: float) -> tuple[float, float]:
    z = math.log(math.exp(a) + math.exp(b))
    return a - z, b - z


LOGITS = [[0.0, 1.0, 10.0], [0.0, 0.0, -10.0]]  # (C=2, T=3)
LSM = [log_softmax2(LOGITS[0][t], LOGITS[1][t]) for t in range(3)]  # per frame (class 0, 1)


def hand_smooth(pairs: list[int]) -> float:
    """Mean over C * (T-1) = 4 entries of the clamped squared differences at frames ``pairs``."""
    total = 0.0
    for t in pairs:
        for c in range(2):
            total += min((LSM[t][c] - LSM[t - 1][c]) ** 2, 16.0)
    return total / 4


def test_loss_by_hand() -> None:
    logits = torch.tensor([LOGITS], dtype=torch.float64)
    target = torch.tensor([[0, 1, 0]])
    ce = -(LSM[0][0] + LSM[1][1] + LSM[2][0]) / 3
    # frame 2 vs 1, class 1: (-20 - ln(1 + e^-20)) - (-ln(1 + e)) ~ -18.7, squared > 16: clamped
    assert (LSM[2][1] - LSM[1][1]) ** 2 > 16
    smooth = hand_smooth([1, 2])
    terms = segmentation_loss([logits], target)
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-12)
    assert terms["smooth"].item() == pytest.approx(smooth, rel=1e-12)
    assert terms["total"].item() == pytest.approx(ce + 0.15 * smooth, rel=1e-12)
    # two stages: every term is summed over stages
    two = segmentation_loss([logits, logits], target)
    assert two["total"].item() == pytest.approx(2 * (ce + 0.15 * smooth), rel=1e-12)


def test_loss_by_hand_with_mask_and_ignore() -> None:
    logits = torch.tensor([LOGITS], dtype=torch.float64)
    target = torch.tensor([[0, 1, -100]])
    mask = torch.tensor([[[1.0, 1.0, 0.0]]], dtype=torch.float64)
    ce = -(LSM[0][0] + LSM[1][1]) / 2  # frame 2 ignored
    smooth = hand_smooth([1])  # the pair ending at frame 2 is masked; still divided by 4
    terms = segmentation_loss([logits], target, mask)
    assert terms["ce"].item() == pytest.approx(ce, rel=1e-12)
    assert terms["smooth"].item() == pytest.approx(smooth, rel=1e-12)


def test_loss_single_frame_is_finite() -> None:
    logits = torch.randn(1, 4, 1, requires_grad=True)
    terms = segmentation_loss([logits, logits * 2], torch.tensor([[2]]), torch.ones(1, 1, 1))
    assert terms["smooth"].item() == 0.0
    assert all(torch.isfinite(v) for v in terms.values())
    terms["total"].backward()
    assert torch.isfinite(logits.grad).all()


def test_smoothing_gradient_skips_previous_frame() -> None:
    logits = torch.tensor([[[0.3, -0.2], [0.1, 0.5], [-0.4, 0.0]]], requires_grad=True)  # (1,3,2)
    truncated_smoothing(logits).backward()
    assert (logits.grad[..., 0] == 0).all()  # frame 0 only appears as the detached t-1 side
    assert (logits.grad[..., 1] != 0).any()


@pytest.mark.parametrize("name", ["mstcn", "asformer"])
def test_model_loss_backward(name: str) -> None:
    model = small(name, num_layers=3)
    out = model(torch.randn(1, 32, 12))
    terms = model.loss(out, torch.randint(0, 5, (1, 12)))
    assert set(terms) == {"ce", "smooth", "total"}
    terms["total"].backward()
    assert all(p.grad is not None for p in model.parameters())


# --- ASFormer window mask ----------------------------------------------------------------


def test_window_masks_by_hand() -> None:
    assert build_window_mask(1, "released").tolist() == [[1.0]]
    assert build_window_mask(1, "sliding").tolist() == [[1.0]]
    # bl = 2: keys are the block plus 1 frame each side (W = 4)
    assert build_window_mask(2, "released").tolist() == [[1, 1, 1, 0], [1, 1, 1, 0]]
    assert build_window_mask(2, "sliding").tolist() == [[1, 1, 0, 0], [0, 1, 1, 0]]


@pytest.mark.parametrize("block_len", [1, 2, 3, 4, 8, 64, 512])
def test_released_mask_is_the_row_agnostic_loop(block_len: int) -> None:
    # The upstream loop (ASFormer model.py; docs/segmenters.md): at step i it sets the
    # key columns i .. i+bl-1 on every query row. Rebuild that here and compare.
    width = block_len + 2 * (block_len // 2)
    expected = torch.zeros(block_len, width)
    for i in range(block_len):
        expected[:, i : i + block_len] = 1
    torch.testing.assert_close(build_window_mask(block_len, "released"), expected)
    if block_len % 2 == 0:  # all ones except the last key column
        assert expected[:, -1].sum() == 0 and expected[:, :-1].all()
    else:
        assert expected.all()


def dense_reference(layer: WindowAttention, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Frame-by-frame loop over each query's W key slots (zero keys outside the video)."""
    q, k, v = layer.query_conv(x)[0], layer.key_conv(x)[0], layer.value_conv(x)[0]  # (c, T)
    bl, half, length = layer.block_len, layer.block_len // 2, x.shape[-1]
    window = layer.window
    out = torch.zeros(v.shape[0], length, dtype=x.dtype)
    for t in range(length):
        start = (t // bl) * bl - half  # first key frame of t's extended block
        scores, weights, values = [], [], []
        for col in range(window.shape[1]):
            j = start + col
            inside = 0 <= j < length
            key = k[:, j] if inside else torch.zeros_like(k[:, 0])
            m = window[t % bl, col] * (mask[0, 0, j] if inside else 0.0)
            scores.append(q[:, t] @ key / math.sqrt(q.shape[0]) + math.log(m + 1e-6))
            weights.append(m)
            values.append(v[:, j] if inside else torch.zeros_like(v[:, 0]))
        attn = torch.softmax(torch.stack(scores), 0) * torch.tensor(weights, dtype=x.dtype)
        out[:, t] = sum(a * val for a, val in zip(attn, values))
    return layer.conv_out(torch.relu(out)[None]) * mask


@pytest.mark.parametrize("kind", ["released", "sliding"])
@pytest.mark.parametrize(("block_len", "length"), [(1, 5), (2, 7), (4, 13), (8, 8), (8, 3)])
def test_block_attention_matches_dense_loop(kind: str, block_len: int, length: int) -> None:
    torch.manual_seed(0)
    layer = WindowAttention(16, 2, 2, block_len, kind).double()
    x = torch.randn(1, 16, length, dtype=torch.float64)
    mask = torch.ones(1, 1, length, dtype=torch.float64)
    mask[..., -1] = 0
    with torch.no_grad():
        torch.testing.assert_close(layer(x, None, mask), dense_reference(layer, x, mask))


def perturbed_change(kind: str, query: int, key: int) -> float:
    """Largest change of ``query``'s attention output when frame ``key`` is perturbed (bl = 4)."""
    torch.manual_seed(1)
    layer = WindowAttention(16, 2, 2, 4, kind)
    x = torch.randn(1, 16, 16)
    y = x.clone()
    y[..., key] += 3 * torch.randn(16)
    mask = torch.ones(1, 1, 16)
    with torch.no_grad():
        return (layer(x, None, mask) - layer(y, None, mask))[..., query].abs().max().item()


def test_sliding_window_ignores_keys_outside_the_window() -> None:
    # bl = 4: query frame 4 opens block 1, whose keys are frames 2..9 (W = 8). Sliding: row 0
    # sees columns 0..3 = frames 2..5. Released: columns 0..6 = frames 2..8.
    # A masked key keeps a 1e-6 weight inside the softmax normaliser (as upstream), hence atol.
    assert perturbed_change("sliding", 4, 8) < 1e-5
    assert perturbed_change("released", 4, 8) > 1e-3  # inside the released window
    assert perturbed_change("sliding", 4, 5) > 1e-3  # inside the sliding window
    # frame 9 is the extended block's last column: masked in both
    assert perturbed_change("released", 4, 9) < 1e-5
    # frame 12 is outside the extended block: no influence at all
    assert perturbed_change("sliding", 4, 12) == 0.0
    assert perturbed_change("released", 4, 12) == 0.0


def test_released_and_sliding_models_differ() -> None:
    released = small("asformer", num_layers=5).eval()
    sliding = small("asformer", num_layers=5, window_mask="sliding").eval()
    sliding.load_state_dict(released.state_dict())  # same weights; the mask is not a parameter
    assert released.window_mask == "released" and sliding.window_mask == "sliding"
    x = torch.randn(1, 32, 50)
    with torch.no_grad():
        assert not torch.allclose(released(x).logits[-1], sliding(x).logits[-1])
    with pytest.raises(ValueError, match="window_mask"):
        small("asformer", window_mask="full")


def test_instance_norm_matches_torch_and_handles_one_frame() -> None:
    x = torch.randn(2, 8, 17)
    torch.testing.assert_close(instance_norm(x), torch.nn.InstanceNorm1d(8)(x))
    assert (instance_norm(torch.randn(1, 8, 1)) == 0).all()


# --- per-dataset settings ----------------------------------------------------------------


@pytest.mark.parametrize("dataset", [*DATASET_CLASSES, "synthetic"])
def test_training_defaults(dataset: str) -> None:
    mstcn = defaults("mstcn", dataset)
    assert (mstcn.epochs, mstcn.lr, mstcn.weight_decay, mstcn.batch_size, mstcn.scheduler) == (
        50,
        5e-4,
        0.0,
        1,
        "none",
    )
    asformer = defaults("asformer", dataset)
    lr = 1e-4 if dataset == "breakfast" else 5e-4
    assert (asformer.epochs, asformer.lr, asformer.weight_decay, asformer.batch_size) == (
        120,
        lr,
        1e-5,
        1,
    )
    assert (asformer.scheduler, asformer.plateau_factor, asformer.plateau_patience) == (
        "plateau",
        0.5,
        3,
    )


@pytest.mark.parametrize(
    ("dataset", "rate"), [("gtea", 0.5), ("synthetic", 0.5), ("50salads", 0.3), ("breakfast", 0.3)]
)
def test_asformer_channel_mask_rate(dataset: str, rate: float) -> None:
    assert build("asformer", 16, 3, dataset, num_layers=1).channel_mask_rate == rate
    override = build("asformer", 16, 3, dataset, num_layers=1, channel_mask_rate=0.0)
    assert override.channel_mask_rate == 0.0


def test_unknown_dataset_rejected() -> None:
    for name in ("mstcn", "asformer"):
        with pytest.raises(KeyError, match="unknown dataset"):
            build(name, 16, 3, "kinetics")
        with pytest.raises(KeyError, match="unknown dataset"):
            defaults(name, "kinetics")
