"""The MS-TCN / ASFormer training loss: cross-entropy plus a truncated smoothing term.

Facts (MS-TCN ``model.py`` L58-59 and L76-79, ASFormer's loss; docs/segmenters.md): for every
stage's logits p,

    CE(p, y)  +  0.15 * mean_{b, c, t >= 1}[ min((lsm(p)_t - sg(lsm(p)_{t-1}))^2, 16) * mask_t ]

summed over stages, where lsm is log-softmax over classes and sg stops the gradient (only
the frame-t side is trained). CE ignores targets equal to -100. The mean runs over every
element of the (B, C, T-1) tensor, padded positions included (they are zero after masking).

Shape legend: B batch, C classes, T frames, S stages.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100
"""Target value skipped by the cross-entropy (padding)."""


def truncated_smoothing(
    logits: torch.Tensor, mask: torch.Tensor | None = None, clamp: float = 16.0
) -> torch.Tensor:
    """The unweighted smoothing term of one stage.

    Args:
        logits: (B, C, T) stage logits.
        mask: (B, 1, T) with 1 on valid frames, or None (all valid).
        clamp: upper bound on each squared log-probability difference (16, i.e. tau = 4).

    Returns:
        A scalar: mean over (B, C, T-1) of the clamped, masked squared differences; 0 when
        T = 1 (there is no consecutive pair).
    """
    if logits.shape[-1] < 2:
        return logits.sum() * 0.0  # keeps the graph and dtype; no pair of frames exists
    log_p = F.log_softmax(logits, dim=1)  # (B, C, T)
    log_p_prev = F.log_softmax(logits.detach(), dim=1)  # (B, C, T), no gradient
    diff2 = (log_p[:, :, 1:] - log_p_prev[:, :, :-1]) ** 2  # (B, C, T-1)
    diff2 = torch.clamp(diff2, min=0.0, max=clamp)
    if mask is not None:
        diff2 = diff2 * mask[:, 0:1, 1:].to(diff2.dtype)  # broadcast (B, 1, T-1) over C
    return diff2.mean()


def segmentation_loss(
    logits_per_stage: list[torch.Tensor],
    target: torch.Tensor,
    mask: torch.Tensor | None = None,
    smooth_weight: float = 0.15,
    clamp: float = 16.0,
) -> dict[str, torch.Tensor]:
    """CE + ``smooth_weight`` x truncated smoothing, summed over stages.

    Args:
        logits_per_stage: one (B, C, T) tensor per stage.
        target: (B, T) long class ids; -100 is ignored by the cross-entropy.
        mask: (B, 1, T) with 1 on valid frames, or None (all valid).
        smooth_weight: weight of the smoothing term (0.15 in both official codes).
        clamp: clamp of the squared difference (16).

    Returns:
        ``"ce"``: summed cross-entropy; ``"smooth"``: summed unweighted smoothing term;
        ``"total"``: ``ce + smooth_weight * smooth`` (what is back-propagated).
    """
    if not logits_per_stage:
        raise ValueError("segmentation_loss needs at least one stage of logits")
    ce = logits_per_stage[0].new_zeros(())
    smooth = logits_per_stage[0].new_zeros(())
    for logits in logits_per_stage:
        ce = ce + F.cross_entropy(logits, target, ignore_index=IGNORE_INDEX)  # (B, C, T) vs (B, T)
        smooth = smooth + truncated_smoothing(logits, mask, clamp)
    return {"ce": ce, "smooth": smooth, "total": ce + smooth_weight * smooth}
