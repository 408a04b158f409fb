"""Per-frame logit KD (Hinton et al.), in the release's form by default (D9 of
docs/decisions.md; release ``relate/losses.py`` L46-53).

Shape legend: B batch, C classes, T frames.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from relate.blocks.distill.common import check_pair, frame_mask
from relate.blocks.distill.table import KD_TEMPERATURE

# KD presets. "release" reproduces losses.py L46-53 (D9 default); "textbook" is the
# methodologically cleaner Hinton form (D9 option: kd_reduction=mean_frames, kd_tau2=true).
KD_FORMS: Mapping[str, tuple[str, bool]] = {
    "release": ("sum_frames", False),
    "textbook": ("mean_frames", True),
}


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = KD_TEMPERATURE,
    mask: torch.Tensor | None = None,
    form: str = "release",
    reduction: str | None = None,
    tau2: bool | None = None,
) -> torch.Tensor:
    """Per-frame logit KD, KL(teacher ‖ student) at temperature τ (Hinton et al.; release: D9).

    L = κ · R_t Σ_c q_tc (log q_tc − log p_tc), q = softmax(teacher/τ), p = softmax(student/τ),
    softmax over classes (dim 1).

    Args:
        student_logits: (B, C, T).
        teacher_logits: (B, C, T); detached here.
        temperature: τ (release 2).
        mask: (B, 1, T) or (B, T); padded frames contribute nothing.
        form: ``"release"`` (R = sum over valid frames, divided by B as ``batchmean`` does;
            κ = 1) or ``"textbook"`` (R = mean over all valid frames of the batch; κ = τ²).
        reduction: overrides the form's reduction: ``"sum_frames"`` or ``"mean_frames"``.
        tau2: overrides the form's τ² factor.

    Returns:
        Scalar loss; 0 iff student and teacher distributions agree on every valid frame.
    """
    if form not in KD_FORMS:
        raise ValueError(f"unknown KD form {form!r}; known: {sorted(KD_FORMS)}")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    check_pair(student_logits, teacher_logits)
    red, scale = KD_FORMS[form]
    red = red if reduction is None else reduction
    scale = scale if tau2 is None else tau2
    b, _, t = student_logits.shape
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    log_q = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = (log_q.exp() * (log_q - log_p)).sum(dim=1)  # (B, T)
    m = frame_mask(mask, b, t, kl)
    total = (kl * m).sum()
    if red == "sum_frames":
        loss = total / b
    elif red == "mean_frames":
        loss = total / m.sum().clamp_min(1.0)
    else:
        raise ValueError(f"unknown KD reduction {reduction!r}; use 'sum_frames' or 'mean_frames'")
    return loss * temperature**2 if scale else loss
