"""Action-gated attention: runs, anchors, the cheap-form identity, options, masks, shapes."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from relate.blocks.fusion import (
    ActionGatedAttention,
    action_anchors,
    action_gate,
    anchor_labels,
    gate_logits,
    masked_instance_norm,
    segment_means,
    segments_from_labels,
)


def randn(seed: int, *shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def randint(seed: int, high: int, *shape: int) -> torch.Tensor:
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def make(seed: int = 0, dim: int = 8, **options) -> ActionGatedAttention:
    torch.manual_seed(seed)  # nn.Conv1d initialises from the global generator
    return ActionGatedAttention(dim, **options)


def python_runs(labels: list[int]) -> list[tuple[int, int, int]]:
    """(start, end, label) of each maximal run, end exclusive: the plain-Python reference."""
    runs: list[tuple[int, int, int]] = []
    for t, label in enumerate(labels):
        if runs and runs[-1][2] == label:
            runs[-1] = (runs[-1][0], t + 1, label)
        else:
            runs.append((t, t + 1, label))
    return runs


def reference_output(module: ActionGatedAttention, z: torch.Tensor, labels: list[int], anchor: str):
    """Eq. 1 for one unmasked video (1, d, T), written out with explicit loops."""
    weight = {n: getattr(module, n).weight[:, :, 0] for n in "qkv"}
    bias = {n: getattr(module, n).bias for n in "qkv"}
    x = masked_instance_norm(z)[0] if module.input_norm == "instance" else z[0]
    q, k, v = (weight[n] @ x + bias[n][:, None] for n in "qkv")  # (d, T) each
    d, frames = q.shape
    anchors = [q[:, s:e].mean(1) for s, e, _ in python_runs(labels)]
    out = torch.empty_like(q)
    for t in range(frames):
        if anchor == "sum_all":
            pre = sum(k[:, t] * a / math.sqrt(d) for a in anchors)
        else:
            (own,) = [i for i, (s, e, _) in enumerate(python_runs(labels)) if s <= t < e]
            pre = k[:, t] * anchors[own] / math.sqrt(d)
        out[:, t] = torch.sigmoid(pre) * v[:, t]
    return out.unsqueeze(0)


@pytest.fixture
def one_thread():
    """The literal O(T S d) loop is many small ops: one thread is faster on a shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------------------- runs
def test_runs_by_hand_keep_background():
    seg = segments_from_labels(torch.tensor([[2, 2, 0, 0, 0, 2, 1]]))  # 0 = background: kept
    assert seg.index.tolist() == [[0, 0, 1, 1, 1, 2, 3]]
    assert seg.count.tolist() == [4]
    assert seg.start.tolist() == [[0, 2, 5, 6]]
    assert seg.length.tolist() == [[2, 3, 1, 1]]
    assert seg.label.tolist() == [[2, 0, 2, 1]]


def test_runs_batch_with_padding():
    labels = torch.tensor([[1, 1, 3, 3, 3, 3], [0, 1, 0, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]]).view(2, 1, 6)
    seg = segments_from_labels(labels, mask)
    assert seg.count.tolist() == [2, 3]  # padding does not extend video 2's last run
    assert seg.index.tolist() == [[0, 0, 1, 1, 1, 1], [0, 1, 2, -1, -1, -1]]
    assert seg.start.tolist() == [[0, 2, -1], [0, 1, 2]]
    assert seg.length.tolist() == [[2, 4, 0], [1, 1, 1]]
    assert seg.label.tolist() == [[1, 3, -1], [0, 1, 0]]


run_lists = st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(videos=st.lists(st.tuples(run_lists, st.integers(0, 4)), min_size=1, max_size=3))
def test_runs_and_anchors_match_python(videos):
    """Any batch of run-length videos with trailing padding: runs and anchors as in Python."""
    frames = [[label for label, n in runs for _ in range(n)] for runs, _ in videos]
    lengths = [len(f) + pad for f, (_, pad) in zip(frames, videos)]
    total = max(lengths)
    labels = torch.tensor([f + [9] * (total - len(f)) for f in frames])  # pad label 9
    mask = torch.tensor([[1] * len(f) + [0] * (total - len(f)) for f in frames]).unsqueeze(1)
    q = randn(len(frames), len(frames), 3, total, dtype=torch.float64)
    seg = segments_from_labels(labels, mask)
    anchors = action_anchors(q, labels, mask)
    assert anchors.shape == (len(frames), 3, int(seg.count.max()))
    for b, f in enumerate(frames):
        runs = python_runs(f)
        assert seg.count[b] == len(runs)
        assert seg.start[b, : len(runs)].tolist() == [s for s, _, _ in runs]
        assert seg.length[b, : len(runs)].tolist() == [e - s for s, e, _ in runs]
        assert seg.label[b, : len(runs)].tolist() == [c for _, _, c in runs]
        assert (seg.label[b][seg.index[b, : len(f)]] == labels[b, : len(f)]).all()  # round trip
        for i, (s, e, _) in enumerate(runs):
            torch.testing.assert_close(anchors[b, :, i], q[b, :, s:e].mean(1))
        assert (anchors[b, :, len(runs) :] == 0).all()


# ---------------------------------------------------------------------------------- anchors
Q_TINY = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 10.0], [0.0, 0.0, 6.0, 0.0, -2.0]]])  # (1, 2, 5)
LABELS_TINY = torch.tensor([[3, 3, 0, 0, 1]])  # runs [0, 2), [2, 4), [4, 5)
K_TINY = torch.tensor([[[1.0] * 5, [2.0] * 5]])


def test_anchors_by_hand():
    expected = torch.tensor([[[1.5, 3.5, 10.0], [0.0, 3.0, -2.0]]])
    torch.testing.assert_close(action_anchors(Q_TINY, LABELS_TINY), expected)


def test_gate_by_hand_sum_all_and_own_segment():
    seg = segments_from_labels(LABELS_TINY)
    anchors = segment_means(Q_TINY, seg)
    r = math.sqrt(2)
    sum_all = gate_logits(K_TINY, anchors, seg)  # sum of anchors = (15, 1), same for every frame
    torch.testing.assert_close(sum_all, torch.tensor([[[15 / r] * 5, [2 / r] * 5]]))
    own = gate_logits(K_TINY, anchors, seg, anchor="own_segment")
    expected = torch.tensor([[[1.5, 1.5, 3.5, 3.5, 10.0], [0.0, 0.0, 6.0, 6.0, -4.0]]]) / r
    torch.testing.assert_close(own, expected)
    assert not torch.allclose(sum_all, own)
    torch.testing.assert_close(action_gate(K_TINY, anchors, seg), torch.sigmoid(sum_all))


def test_own_segment_equals_sum_all_for_one_run():
    labels = torch.zeros(1, 5, dtype=torch.long)
    seg = segments_from_labels(labels)
    anchors = segment_means(Q_TINY, seg)
    torch.testing.assert_close(
        gate_logits(K_TINY, anchors, seg), gate_logits(K_TINY, anchors, seg, anchor="own_segment")
    )


# ----------------------------------------------------------------- cheap form == literal sum
@pytest.mark.parametrize("anchor", ["sum_all", "own_segment"])
def test_cheap_equals_literal_small_batch(anchor):
    labels = torch.stack([randint(1, 3, 40), torch.tensor([0] * 25 + [1] * 15)])
    mask = torch.ones(2, 1, 40)
    mask[1, :, 33:] = 0
    seg = segments_from_labels(labels, mask)
    q, k = randn(2, 2, 16, 40, dtype=torch.float64), randn(3, 2, 16, 40, dtype=torch.float64)
    anchors = segment_means(q, seg)
    cheap = gate_logits(k, anchors, seg, anchor=anchor)
    literal = gate_logits(k, anchors, seg, anchor=anchor, form="literal")
    torch.testing.assert_close(cheap, literal, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("anchor, dim", [("sum_all", 64), ("own_segment", 16)])
def test_cheap_equals_literal_thousands_of_runs(anchor, dim, one_thread):
    """T = 6000 with random binary labels: about 3000 runs in one video."""
    labels = randint(4, 2, 1, 6000)
    seg = segments_from_labels(labels)
    assert seg.count.item() > 2500
    q64 = randn(5, 1, dim, 6000, dtype=torch.float64)
    k64 = randn(6, 1, dim, 6000, dtype=torch.float64)
    anchors64 = segment_means(q64, seg)
    literal64 = gate_logits(k64, anchors64, seg, anchor=anchor, form="literal")
    # float64 checks the algebra: equal up to rounding.
    cheap64 = gate_logits(k64, anchors64, seg, anchor=anchor)
    torch.testing.assert_close(cheap64, literal64, rtol=1e-12, atol=1e-10)
    # float32, the default dtype: within float32 rounding of the float64 literal sum. Measured
    # max error about 1e-5 (cheap) and 1.3e-4 (literal, 3000 sequential adds) at |logit| ~ 55.
    q32, k32 = q64.float(), k64.float()
    anchors32 = segment_means(q32, seg)
    cheap32 = gate_logits(k32, anchors32, seg, anchor=anchor)
    literal32 = gate_logits(k32, anchors32, seg, anchor=anchor, form="literal")
    tol = dict(rtol=1e-5, atol=5e-4)
    torch.testing.assert_close(cheap32.double(), literal64, **tol)
    torch.testing.assert_close(literal32.double(), literal64, **tol)
    torch.testing.assert_close(cheap32, literal32, **tol)
    # ... and the tolerance would catch a real error: one run's anchor left out.
    dropped = anchors64.clone()
    dropped[:, :, -1] = 0
    wrong = gate_logits(k64, dropped, seg, anchor=anchor)
    assert (wrong - literal64).abs().max() > 100 * tol["atol"]


def test_module_literal_form_equals_cheap_form():
    z, labels = randn(7, 2, 8, 30, dtype=torch.float64), randint(8, 4, 2, 30)
    for anchor in ("sum_all", "own_segment"):
        cheap = make(anchor=anchor).double()(z, labels)
        literal = make(anchor=anchor, form="literal").double()(z, labels)
        torch.testing.assert_close(cheap, literal, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------------- module
@pytest.mark.parametrize("anchor", ["sum_all", "own_segment"])
@pytest.mark.parametrize("input_norm", ["instance", "none"])
def test_module_matches_eq1_written_out(anchor, input_norm):
    module = make(anchor=anchor, input_norm=input_norm).double()
    z = randn(9, 1, 8, 11, dtype=torch.float64)
    labels = [5, 5, 0, 0, 0, 2, 5, 5, 5, 1, 1]
    out = module(z, torch.tensor([labels]))
    torch.testing.assert_close(out, reference_output(module, z, labels, anchor))


def test_options_give_different_outputs():
    z, labels = randn(10, 1, 8, 20), randint(11, 3, 1, 20)
    sum_all, own = make(anchor="sum_all")(z, labels), make(anchor="own_segment")(z, labels)
    assert not torch.allclose(sum_all, own)


@pytest.mark.parametrize("input_norm", ["instance", "none"])
def test_masked_frames_change_nothing_valid(input_norm):
    module = make(input_norm=input_norm)
    z, labels = randn(12, 2, 8, 16), randint(13, 3, 2, 16)
    mask = torch.ones(2, 1, 16)
    mask[1, :, 10:] = 0
    out = module(z, labels, mask)
    z2, labels2 = z.clone(), labels.clone()
    z2[1, :, 10:] = 1e3 * randn(14, 8, 6)  # garbage in the padding ...
    labels2[1, 10:] = labels2[1, 9]  # ... and a label that would extend the last run
    q, _, _ = module.project(z, mask)
    q2, _, _ = module.project(z2, mask)
    torch.testing.assert_close(action_anchors(q2, labels2, mask), action_anchors(q, labels, mask))
    torch.testing.assert_close(module(z2, labels2, mask), out)
    assert (out[1, :, 10:] == 0).all()
    alone = module(z[1:, :, :10], labels[1:, :10])  # padded in a batch == alone
    torch.testing.assert_close(out[1:, :, :10], alone, rtol=1e-5, atol=1e-6)


def test_nan_in_padding_stays_out():
    module = make()
    z, labels = randn(15, 1, 8, 12), randint(16, 3, 1, 12)
    mask = torch.ones(1, 1, 12)
    mask[..., 9:] = 0
    z[..., 9:] = float("nan")
    out = module(z, labels, mask)
    assert torch.isfinite(out).all() and (out[..., 9:] == 0).all()


def test_all_masked_video_in_batch():
    module = make()
    mask = torch.ones(2, 1, 10)
    mask[1] = 0
    out = module(randn(17, 2, 8, 10), randint(18, 3, 2, 10), mask)
    assert torch.isfinite(out).all() and (out[1] == 0).all()


def test_output_shape_default_width():
    module = ActionGatedAttention()  # d = 64, as released
    out = module(randn(19, 3, 64, 37), randint(20, 5, 3, 37), torch.ones(3, 1, 37))
    assert out.shape == (3, 64, 37) and torch.isfinite(out).all()


def test_gradients_reach_every_projection():
    module = make()
    z = randn(21, 2, 8, 25).requires_grad_()
    out = module(z, randint(22, 3, 2, 25))
    (out * randn(23, *out.shape)).sum().backward()
    for name, param in module.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    assert torch.isfinite(z.grad).all()


def test_single_frame():
    z, labels = randn(24, 1, 8, 1), torch.zeros(1, 1, dtype=torch.long)
    plain = make(input_norm="none")
    q, k, v = plain.project(z)
    expected = torch.sigmoid(k * q / math.sqrt(8)) * v  # one run; its anchor is q_0
    torch.testing.assert_close(plain(z, labels), expected)
    normed = make(input_norm="instance")  # a single frame normalises to 0: only biases remain
    bq, bk, bv = (getattr(normed, n).bias.view(1, 8, 1) for n in "qkv")
    torch.testing.assert_close(normed(z, labels), torch.sigmoid(bk * bq / math.sqrt(8)) * bv)


def test_batch_of_two_with_different_runs_equals_one_by_one():
    module = make()
    z = randn(25, 2, 8, 50)
    labels = torch.stack([randint(26, 2, 50), torch.tensor([0] * 20 + [3] * 30)])
    assert segments_from_labels(labels).count[1] == 2
    batched = module(z, labels)
    for b in range(2):
        torch.testing.assert_close(batched[b : b + 1], module(z[b : b + 1], labels[b : b + 1]))


def test_deterministic():
    z, labels = randn(27, 2, 8, 40), randint(28, 4, 2, 40)
    a, b = make(seed=3), make(seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert torch.equal(a(z, labels), b(z, labels))
    assert torch.equal(a(z, labels), a(z, labels))


def test_parameter_count_as_released():
    """Release doc §2.3: Q, K, V are 1x1 convs d -> d with bias: 3 * 4,160 = 12,480 per
    modality at d = 64, 24,960 for RGB and flow together."""
    module = ActionGatedAttention(64)
    assert sum(p.numel() for p in module.parameters()) == 12_480
    assert all(isinstance(getattr(module, n), torch.nn.Conv1d) for n in "qkv")
    assert all(getattr(module, n).bias is not None for n in "qkv")
    assert 2 * sum(p.numel() for p in module.parameters()) == 24_960


# ------------------------------------------------------------------------------- helpers
def test_masked_instance_norm_equals_torch_without_mask():
    x = randn(29, 2, 8, 33)
    torch.testing.assert_close(masked_instance_norm(x), torch.nn.InstanceNorm1d(8)(x))
    mask = torch.ones(2, 1, 33)
    mask[0, :, 20:] = 0
    torch.testing.assert_close(
        masked_instance_norm(x, mask)[:1, :, :20], masked_instance_norm(x[:1, :, :20])
    )


def test_anchor_labels_pick_the_stage():
    logits = [torch.zeros(1, 3, 4) for _ in range(3)]
    for s, c in enumerate((0, 1, 2)):
        logits[s][:, c] = 1.0
    assert anchor_labels(logits).tolist() == [[1] * 4]  # release: stage index 1
    assert anchor_labels(logits, "last").tolist() == [[2] * 4]
    with pytest.raises(IndexError):
        anchor_labels(logits[:1])  # one stage has no index 1 (the release crashes too)


def test_bad_options_and_shapes_raise():
    with pytest.raises(ValueError):
        ActionGatedAttention(8, anchor="mean")
    with pytest.raises(ValueError):
        ActionGatedAttention(8, form="fast")
    with pytest.raises(ValueError):
        ActionGatedAttention(8, input_norm="layer")
    module = make()
    with pytest.raises(ValueError):
        module(randn(30, 1, 8, 5), torch.zeros(1, 4, dtype=torch.long))
    with pytest.raises(ValueError):
        module(randn(30, 1, 8, 5), torch.zeros(1, 5, dtype=torch.long), torch.ones(1, 5))
