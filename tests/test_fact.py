"""FACT segmenter: parameter counts, shapes, loss pieces, inference rule, derived configs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from relate.data.registry import datasets_with
from relate.segmenters import build, defaults
from relate.segmenters.fact import FACTConfig, build_fact, fact_config, transcript_stats
from relate.segmenters.fact_blocks import BlockOutput
from relate.segmenters.fact_loss import (
    TERMS,
    block_loss,
    match_tokens,
    smooth_loss,
    soft_iou,
    video_targets,
)
from tests.conftest import real_labels_dir

SMALL = dict(  # a few-thousand-parameter FACT with every block type
    blocks="iuU",
    hid_dim=32,
    f_dim=16,
    a_dim=16,
    a_ffdim=32,
    a_nhead=4,
    a_layers=2,
    f_layers=4,
    u_f_layers=4,
    ntoken=8,
    average_transcript_len=3.0,
    bg_class=(4,),
)
C = 5
D = 24
CONFIGS = {name: fact_config(name) for name in datasets_with("fact")}
"""FACT's settings on every dataset whose registry row gives them."""
GTEA, BREAKFAST = CONFIGS["gtea"], CONFIGS["breakfast"]
FIFTY_SALADS, SYNTHETIC = CONFIGS["50salads"], CONFIGS["synthetic"]


def small(seed: int = 0, **kw) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_fact(D, C, "gtea", **{**SMALL, **kw})


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------- parameter counts
@pytest.mark.parametrize(
    "dataset, in_dim, classes, expected",
    [
        ("gtea", 2048, 11, 10_418_176),
        ("gtea", 1024, 11, 10_287_104),
        ("breakfast", 2048, 48, 119_458_304),
        ("breakfast", 1024, 48, 118_934_016),
    ],
)
def test_parameter_counts(dataset, in_dim, classes, expected):
    with torch.device("meta"):
        model = build("fact", in_dim, classes, dataset)
    assert n_params(model) == expected


def test_parameter_count_independent_of_classes():
    with torch.device("meta"):
        counts = {n_params(build_fact(2048, c, "gtea", bg_class=())) for c in (5, 11, 19, 48)}
    assert counts == {10_418_176}


# ----------------------------------------------------------------------- shapes
@pytest.mark.parametrize("length", [1, 2, 7, 1500])
def test_forward_loss_backward_shapes(length):
    model = small().train()
    x = torch.randn(1, D, length)
    out = model(x)
    assert len(out.logits) == len(out.features) == 3
    for logits, feats in zip(out.logits, out.features):
        assert logits.shape == (1, C, length) and feats.shape == (1, SMALL["f_dim"], length)
        assert torch.isfinite(logits).all() and torch.isfinite(feats).all()
    assert out.extras["token_logits"][-1].shape == (1, SMALL["ntoken"], C + 1)
    assert out.extras["a2f_attn"][0] is None
    assert out.extras["a2f_attn"][-1].shape == (1, length, SMALL["ntoken"])
    target = torch.randint(0, C, (1, length))
    losses = model.loss(out, target)
    assert all(torch.isfinite(v) for v in losses.values())
    losses["total"].backward()
    assert model.action_query.grad is not None and torch.isfinite(model.action_query.grad).all()
    model.eval()
    with torch.no_grad():
        probs = model.probabilities(model(x))
    assert probs.shape == (1, C, length)
    torch.testing.assert_close(probs.sum(1), torch.ones(1, length))


def test_block_string_override_sets_number_of_stages():
    model = small(blocks="iuUUu")
    out = model.eval()(torch.randn(1, D, 9))
    assert len(out.logits) == 5 and len(model.blocks) == 5
    with pytest.raises(ValueError, match="blocks"):
        small(blocks="i")
    with pytest.raises(KeyError, match="unknown FACT config keys"):
        build_fact(D, C, "gtea", depth=3)
    with pytest.raises(KeyError, match="no FACT config"):
        build_fact(D, C, "nope")


def test_eval_is_deterministic_and_padding_does_not_leak():
    model = small().eval()
    x = torch.randn(2, D, 40)
    mask = torch.ones(2, 1, 40)
    mask[1, :, 25:] = 0
    with torch.no_grad():
        a, b = model(x, mask), model(x, mask)
        alone = model(x[1:, :, :25])
        for la, lb in zip(a.logits, b.logits):
            assert torch.equal(la, lb)
        torch.testing.assert_close(a.logits[-1][1:, :, :25], alone.logits[-1])
        assert torch.equal(a.logits[-1][1, :, 25:], torch.zeros(C, 15))
        torch.testing.assert_close(model.probabilities(a)[1:, :, :25], model.probabilities(alone))
    target = torch.randint(0, C, (2, 40))
    target[1, 25:] = -100
    assert torch.isfinite(model.loss(a, target, mask)["total"])


def test_time_mask_spans():
    model = small(tm_t=1000, tm_p=0.1).train()
    torch.manual_seed(3)
    masked = model._time_mask(torch.ones(200, 4))
    zero_frames = (masked == 0).all(1)
    assert (masked[~zero_frames] == 1).all()
    assert 0 < int(zero_frames.sum()) <= 5 * 20


# ----------------------------------------------------------------------- loss pieces
def test_hungarian_picks_optimal_not_greedy_assignment():
    # Transcript [0, 1]; tokens 0 and 1 both like class 0; greedy would give token 0 -> seg 0.
    targets = video_targets(torch.tensor([0, 0, 1, 1]), num_classes=2)
    prob = torch.tensor([[0.90, 0.80, 0.0], [0.85, 0.10, 0.0], [0.0, 0.0, 1.0]])
    attn = torch.full((4, 3), 1 / 3)
    tokens, segs = match_tokens(prob, attn, targets, pc=1.0, a2fc=0.0)
    assert dict(zip(tokens.tolist(), segs.tolist())) == {0: 1, 1: 0}
    # With the softIoU term only, the token attending to a segment's frames wins it.
    attn = torch.tensor([[0.0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0]])
    tokens, segs = match_tokens(prob, attn, targets, pc=0.0, a2fc=1.0)
    assert dict(zip(tokens.tolist(), segs.tolist())) == {2: 0, 0: 1}


def test_soft_iou_equals_official_formula():
    g = torch.Generator().manual_seed(0)
    attn = torch.softmax(torch.randn(30, 6, generator=g), dim=1)
    labels = torch.tensor([0] * 8 + [2] * 5 + [-100] * 3 + [1] * 14)
    onehot = video_targets(labels, 3).seg_onehot  # (30, 3)
    overlap = torch.einsum("ta,ts->as", attn, onehot)
    union = torch.clamp(attn[:, :, None] + onehot[:, None, :], max=1.0).sum(0)
    torch.testing.assert_close(soft_iou(attn, onehot), overlap / union)


def test_video_targets_with_ignored_frames():
    t = video_targets(torch.tensor([1, 1, -100, -100, 1, 0, 0]), num_classes=2)
    assert t.transcript.tolist() == [1, 1, 0]
    assert t.seg_onehot.sum(0).tolist() == [2, 1, 2] and t.seg_onehot[2:4].sum() == 0
    assert t.class_onehot.sum().item() == 5


def test_null_weight_auto_values():
    assert round(GTEA.null_weight(11), 4) == 0.2013
    assert round(BREAKFAST.null_weight(48), 4) == 0.0235
    assert dataclasses.replace(GTEA, nullw=0.7).null_weight(11) == 0.7
    with torch.device("meta"):
        assert build_fact(2048, 11, "gtea").null_weight == pytest.approx(60 / (27.1 * 11))


def test_input_block_loss_by_hand():
    # Uniform logits: frame CE = log C, token CE = log(C+1) whatever the weights, smooth = 0.
    length, m, c = 6, 4, 3
    out = BlockOutput(
        torch.zeros(length, 8),
        torch.zeros(m, 8),
        torch.zeros(length, c),
        torch.zeros(m, c + 1),
        torch.zeros(length, 2),
    )
    targets = video_targets(torch.tensor([0, 0, 1, 1, 1, 2]), c)
    match = match_tokens(
        torch.full((m, c + 1), 0.25), torch.full((length, m), 0.25), targets, 0.2, 1.0
    )
    weights = torch.tensor([1.0, 1.0, 1.0, 0.3])
    terms = block_loss(out, targets, match, weights, torch.ones(3), sw=5.0)
    assert set(terms) == set(TERMS)
    assert terms["frame"].item() == pytest.approx(math.log(c))
    assert terms["token"].item() == pytest.approx(math.log(c + 1))
    assert terms["smooth"].item() == 0.0 and terms["a2f"].item() == 0.0


def test_smooth_loss_clamps_and_has_no_stop_gradient():
    logits = torch.tensor([[0.0, 0.0], [30.0, 0.0]], requires_grad=True)
    value = smooth_loss(logits)
    assert value.item() == pytest.approx(16.0 * 0.5 + (math.log(2) ** 2) * 0.5, rel=1e-3)
    small_logits = torch.tensor([[0.0, 1.0], [0.5, 0.0]], requires_grad=True)
    smooth_loss(small_logits).backward()
    assert small_logits.grad[0].abs().sum() > 0  # frame t-1 receives gradient too
    assert smooth_loss(torch.zeros(1, 3)).item() == 0.0


def test_loss_terms_sum_to_total_and_average_blocks():
    model = small().train()
    out = model(torch.randn(1, D, 30))
    target = torch.tensor([[4] * 5 + [0] * 10 + [1] * 10 + [4] * 5])
    losses = model.loss(out, target)
    total = losses["total"]
    torch.testing.assert_close(total, sum(losses[k] for k in TERMS))
    torch.testing.assert_close(total, sum(losses[f"block{k}"] for k in range(3)))
    assert losses["segment"] > 0 and losses["a2f"] > 0 and losses["f2a"] > 0


# ----------------------------------------------------------------------- inference rule
def test_inference_fallback_and_mix():
    model = small().eval()
    with torch.no_grad():
        out = model(torch.randn(1, D, 12))
        last = out.extras["videos"][0][-1]
        frame_prob = torch.softmax(last.frame_logits, -1).t()[None]
        last.token_logits[:, -1] = 1e4  # every token predicts null -> frame branch only
        torch.testing.assert_close(model.probabilities(out), frame_prob)
        # One active token (class 2): every frame takes it.
        last.token_logits[3] = torch.tensor([0.0, 0.0, 9.0, 0.0, 0.0, 0.0])
        token_prob = torch.softmax(last.token_logits[3, :C], -1)
        expected = (1 - GTEA.mwt) * token_prob[None, :, None] + GTEA.mwt * frame_prob
        torch.testing.assert_close(model.probabilities(out), expected)


# ----------------------------------------------------------------------- configs
def test_official_config_values():
    assert (GTEA.blocks, GTEA.f, GTEA.f_dim, GTEA.a_dim, GTEA.dropout, GTEA.cmr) == (
        "iuU",
        "m",
        128,
        128,
        0.2,
        0.5,
    )
    assert (GTEA.tm_t, GTEA.tm_m, GTEA.tm_p, GTEA.bg_class) == (60, 5, 0.1, (10,))
    assert (BREAKFAST.blocks, BREAKFAST.f, BREAKFAST.f_dim, BREAKFAST.a_dim) == (
        "iuUU",
        "m2",
        512,
        512,
    )
    bf = BREAKFAST
    assert (bf.dropout, bf.cmr, bf.tm_t, bf.tm_p, bf.bg_class) == (0.0, 0.3, 30, 0.05, (0,))
    for cfg in CONFIGS.values():
        loss = (cfg.pc, cfg.a2fc, cfg.bgw, cfg.nullw, cfg.sw, cfg.mwt)
        assert loss == (0.2, 1.0, 1.0, None, 5.0, 0.1)
    g, b = defaults("fact", "gtea"), defaults("fact", "breakfast")
    assert (g.epochs, g.lr_decay_every, g.batch_size, g.lr) == (400, 250, 1, 1e-4)
    assert g.weight_decay == b.weight_decay == 0.0 and g.scheduler == "step_reset"
    assert (b.epochs, b.lr_decay_every, b.batch_size, b.scheduler, b.clip_grad_norm) == (
        150,
        80,
        4,
        "step_reset",
        10.0,
    )
    assert defaults("fact", "50salads") == g == defaults("fact", "synthetic")
    with pytest.raises(ValueError):
        FACTConfig(ntoken=30, average_transcript_len=32.9)


def test_registry_settings_are_the_official_and_derived_configs():
    """The registry rows give exactly the configs the official YAMLs and gen_config give."""
    assert GTEA == FACTConfig()
    assert BREAKFAST == FACTConfig(
        blocks="iuUU", f="m2", f_dim=512, a_dim=512, dropout=0.0, cmr=0.3, tm_t=30,
        tm_p=0.05, average_transcript_len=6.9, bg_class=(0,), eval_bg=True,
    )  # fmt: skip
    assert FIFTY_SALADS == dataclasses.replace(
        GTEA, ntoken=39, average_transcript_len=19.98, bg_class=(), eval_bg=True, sample_rate=2
    )
    assert SYNTHETIC == dataclasses.replace(GTEA, ntoken=21, average_transcript_len=9.9)
    for name in ("synthetic_gtea", "synthetic_50salads", "synthetic_breakfast"):
        assert fact_config(name) == CONFIGS[name.removeprefix("synthetic_")]
    with pytest.raises(KeyError, match="no FACT training defaults"):
        defaults("fact", "nope")


def _read_labels(folder):
    return [p.read_text().strip().split("\n") for p in sorted(folder.glob("*.txt"))]


def test_50salads_constants_from_real_labels():
    folder = real_labels_dir() / "50salads" / "groundTruth"
    if not folder.is_dir():
        pytest.skip(f"real 50Salads labels not found at {folder}")
    videos = _read_labels(folder)
    assert len(videos) == 50
    for labels in (videos, [v[::2] for v in videos]):  # 30 fps and sr=2 give the same counts
        stats = transcript_stats(labels)
        assert round(stats.average_transcript_len, 2) == FIFTY_SALADS.average_transcript_len
        assert stats.ntoken == FIFTY_SALADS.ntoken == 39 and stats.max_transcript_len == 26
    gtea = real_labels_dir() / "gtea" / "groundTruth"
    if gtea.is_dir():  # the recipe reproduces FACT's own GTEA value (32.9)
        assert round(transcript_stats(_read_labels(gtea)).average_transcript_len, 1) == 32.9


def _synthetic_segments(config, seed):
    """Video name -> labels exactly as generate_dataset draws them (without the features)."""
    from relate.data.synthetic import build_world, sample_segments, video_plan

    world_seq, *video_seqs = np.random.SeedSequence(seed).spawn(1 + config.n_videos)
    world = build_world(config, np.random.default_rng(world_seq))
    videos = {}
    for (name, _, activity), seq in zip(video_plan(config), video_seqs):
        segs = sample_segments(config, world, activity - 1, np.random.default_rng(seq))
        videos[name] = np.repeat([lab for lab, _ in segs], [n for _, n in segs])
    return videos


def test_synthetic_constants(tmp_path):
    from relate.data.synthetic import SynthConfig, generate_dataset

    stats = transcript_stats(_synthetic_segments(SynthConfig(), seed=0).values())
    assert round(stats.average_transcript_len, 2) == SYNTHETIC.average_transcript_len
    assert stats.ntoken == SYNTHETIC.ntoken
    # The shortcut above follows generate_dataset's random streams: check on a tiny dataset.
    tiny = SynthConfig(n_videos=4, min_frames=90, max_frames=120, smooth_frames=3)
    generate_dataset(tmp_path / "tiny", tiny, seed=5)
    for name, labels in _synthetic_segments(tiny, seed=5).items():
        written = (tmp_path / "tiny" / "groundTruth" / f"{name}.txt").read_text().split()
        assert transcript_stats([written]) == transcript_stats([labels])
        assert len(written) == len(labels)
