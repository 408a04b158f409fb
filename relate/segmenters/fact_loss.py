"""FACT's training loss for one video: matching, token/frame/attention CE, smoothing.

References: official code ZijiaLewisLu/CVPR2024-FACT at
dba2399511e6b1b9f8f4fa696641d9793714e775 (MIT), ``models/loss.py`` and
``models/blocks.py`` (``compute_loss``), read for the formulas only. Written from scratch;
see docs/fact.md for the deviations (ignored frames, segment weights indexed by match).

Shapes (one video): L labelled-or-not frames, M tokens, C classes, S ground-truth segments,
P predicted segments (TDU blocks), n matched pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

from relate.segmenters.fact_blocks import BlockOutput

IGNORE = -100

TERMS = ("frame", "segment", "token", "a2f", "f2a", "smooth")
"""Named loss terms; their sum is the total (each already carries its per-block factor)."""


@dataclass(frozen=True)
class VideoTargets:
    """Ground truth of one video in the forms the loss needs.

    Attributes:
        transcript: (S,) class of each ground-truth segment (runs of equal labels; ignored
            frames belong to no segment).
        seg_onehot: (L, S) frame-in-segment indicator (zero rows for ignored frames).
        class_onehot: (L, C) frame class indicator (zero rows for ignored frames).
    """

    transcript: torch.Tensor
    seg_onehot: torch.Tensor
    class_onehot: torch.Tensor


def video_targets(labels: torch.Tensor, num_classes: int) -> VideoTargets:
    """Build :class:`VideoTargets` from per-frame labels (L,) with ``IGNORE`` = no label."""
    length = labels.shape[0]
    device = labels.device
    start = torch.ones(length, dtype=torch.bool, device=device)
    start[1:] = labels[1:] != labels[:-1]
    seg_id = start.long().cumsum(0) - 1  # run index of every frame (ignored runs included)
    run_label = labels[start]
    keep = run_label != IGNORE
    new_id = keep.long().cumsum(0) - 1  # renumber the labelled runs 0..S-1
    valid = labels != IGNORE
    seg_onehot = torch.zeros(length, int(keep.sum()), device=device)
    rows = torch.nonzero(valid).squeeze(1)
    seg_onehot[rows, new_id[seg_id[rows]]] = 1.0
    class_onehot = torch.zeros(length, num_classes, device=device)
    class_onehot[rows, labels[rows]] = 1.0
    return VideoTargets(run_label[keep], seg_onehot, class_onehot)


def soft_iou(a2f_attn: torch.Tensor, seg_onehot: torch.Tensor) -> torch.Tensor:
    """softIoU(token a, segment s) = overlap / sum_t min(attn[t, a] + onehot[t, s], 1).

    Because onehot is 0/1 and attn lies in [0, 1] the union equals
    |s| + sum_t attn[t, a] - overlap, computed here without the (L, M, S) tensor.
    Returns (M, S); 0/0 gives 0.
    """
    overlap = a2f_attn.t() @ seg_onehot  # (M, S)
    union = seg_onehot.sum(0)[None, :] + a2f_attn.sum(0)[:, None] - overlap
    return torch.nan_to_num(overlap / union, nan=0.0)


def match_tokens(
    token_prob: torch.Tensor, a2f_attn: torch.Tensor, targets: VideoTargets, pc: float, a2fc: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One-to-one Hungarian matching of tokens to ground-truth segments.

    cost[a, s] = -pc * token_prob[a, class(s)] - a2fc * softIoU(a, s); token_prob (M, C+1)
    is the softmax over C classes + null, a2f_attn (L, M). Returns (token ids, segment ids).
    """
    with torch.no_grad():
        cost = -pc * token_prob[:, targets.transcript] - a2fc * soft_iou(
            a2f_attn, targets.seg_onehot
        )
    rows, cols = linear_sum_assignment(cost.double().cpu().numpy())
    device = token_prob.device
    return (
        torch.as_tensor(np.asarray(rows), dtype=torch.long, device=device),
        torch.as_tensor(np.asarray(cols), dtype=torch.long, device=device),
    )


def smooth_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean over (t >= 1, k) of min((log_softmax_t - log_softmax_{t-1})^2, 16), logits
    (L, K), softmax over K. Gradient flows into both frames (no stop-gradient). 0 if L < 2."""
    if logits.shape[0] < 2:
        return logits.sum() * 0.0
    logp = F.log_softmax(logits, dim=-1)
    return torch.clamp((logp[1:] - logp[:-1]) ** 2, max=16.0).mean()


def _zoom(onehot: torch.Tensor, seg_index: torch.Tensor, seg_lens: torch.Tensor) -> torch.Tensor:
    """(L, K) frame indicators -> (P, K) fraction of each predicted segment's frames."""
    pooled = torch.zeros(len(seg_lens), onehot.shape[1], device=onehot.device)
    return pooled.index_add(0, seg_index, onehot) / seg_lens[:, None]


def _weighted_ce(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, dim: int
) -> torch.Tensor:
    """sum(-log_softmax(logits, dim) * target * weight) / sum(target) (0 if no target)."""
    logp = F.log_softmax(logits, dim=dim)
    return (-logp * target * weight).sum() / target.sum().clamp_min(1e-12)


def _attn_loss(
    a2f_logits: torch.Tensor,
    f2a_logits: torch.Tensor,
    target: torch.Tensor,
    match: tuple[torch.Tensor, torch.Tensor],
    seg_weight: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-attention CE of matched pairs. a2f_logits (N, M), f2a_logits (M, N), target
    (N, S) with N frames or predicted segments. a2f: softmax over the matched tokens for
    each frame; f2a: softmax over frames for each matched token. Normalised by sum(target)."""
    aind, sind = match
    norm = target.sum().clamp_min(1e-12)
    if len(aind) == 0:
        return a2f_logits.sum() * 0.0, f2a_logits.sum() * 0.0
    tgt = target[:, sind] * seg_weight[sind]  # (N, n)
    a2f = (-F.log_softmax(a2f_logits[:, aind], dim=1) * tgt).sum() / norm
    f2a = (-F.log_softmax(f2a_logits.t()[:, aind], dim=0) * tgt).sum() / norm
    return a2f, f2a


def block_loss(
    out: BlockOutput,
    targets: VideoTargets,
    match: tuple[torch.Tensor, torch.Tensor],
    class_weight: torch.Tensor,
    seg_weight: torch.Tensor,
    sw: float,
) -> dict[str, torch.Tensor]:
    """The loss terms of one block (already scaled as the block combines them).

    Input block: frame + token + sw * smooth(frame). Update block: token + f2a + a2f + frame
    + sw * (smooth(a2f) + smooth(f2a) + smooth(frame)). TDU block: (frame + segment) / 2 +
    token + f2a + a2f + sw * smooth(frame). class_weight (C+1,): last = null; seg_weight (S,).
    """
    c = out.frame_logits.shape[1]
    zero = out.frame_logits.sum() * 0.0
    terms = dict.fromkeys(TERMS, zero)
    frame = _weighted_ce(out.frame_logits, targets.class_onehot, class_weight[:c], dim=1)
    labels = torch.full(
        (out.token_logits.shape[0],), c, dtype=torch.long, device=out.token_logits.device
    )
    labels[match[0]] = targets.transcript[match[1]]
    terms["token"] = F.cross_entropy(out.token_logits, labels, weight=class_weight)
    smooth_frame = smooth_loss(out.frame_logits)
    if out.a2f_logits is None:  # input block
        terms["frame"] = frame
        terms["smooth"] = sw * smooth_frame
    elif out.seg_index is None:  # update block
        terms["frame"] = frame
        terms["a2f"], terms["f2a"] = _attn_loss(
            out.a2f_logits, out.f2a_logits, targets.seg_onehot, match, seg_weight
        )
        smooth_attn = smooth_loss(out.a2f_logits) + smooth_loss(out.f2a_logits.t())
        terms["smooth"] = sw * (smooth_attn + smooth_frame)
    else:  # update block with temporal down/up-sampling
        zoom_cls = _zoom(targets.class_onehot, out.seg_index, out.seg_lens)
        segment = _weighted_ce(out.seg_logits, zoom_cls, class_weight[:c], dim=1)
        terms["frame"], terms["segment"] = frame / 2, segment / 2
        zoom_seg = _zoom(targets.seg_onehot, out.seg_index, out.seg_lens)
        terms["a2f"], terms["f2a"] = _attn_loss(
            out.a2f_logits, out.f2a_logits, zoom_seg, match, seg_weight
        )
        terms["smooth"] = sw * smooth_frame
    return terms
