"""MARS feature MSE (Crasto et al.) between student and teacher features.

Shape legend: B batch, F feature width, T frames.
"""

from __future__ import annotations

import torch

from relate.blocks.distill.common import check_pair, frame_mask


def mars_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """MARS feature MSE (Crasto et al.): (1/(N·F)) Σ_t ‖z^S_t − sg z^T_t‖² over the N valid frames.

    Args:
        student_features: (B, F, T).
        teacher_features: (B, F, T); detached here.
        mask: (B, 1, T) or (B, T).

    Returns:
        Scalar mean over all valid (frame, channel) entries of the batch (``nn.MSELoss`` when no
        frame is padded). The weight α = 50 (:data:`MARS_ALPHA`) is applied by the caller.
    """
    check_pair(student_features, teacher_features)
    b, f, t = student_features.shape
    m = frame_mask(mask, b, t, student_features).unsqueeze(1)  # (B, 1, T)
    sq = (student_features - teacher_features.detach()).pow(2) * m
    return sq.sum() / (m.sum() * f).clamp_min(1.0)
