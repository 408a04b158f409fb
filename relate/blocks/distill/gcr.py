"""Global contextual relation: MSE between channel covariances (D10 of docs/decisions.md;
release ``relate/losses.py``).

Shape legend: B batch, F feature width, T frames, N valid frames of one video.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from relate.blocks.distill.common import check_pair, frame_mask
from relate.blocks.distill.table import EPS_RELEASE


def _channel_cov(z: torch.Tensor, eps: float) -> torch.Tensor:
    """(F, F) covariance over time of z (F, N), divided by (N − 1 + eps) as released."""
    zc = z - z.mean(dim=1, keepdim=True)
    return zc @ zc.transpose(0, 1) / (z.shape[1] - 1 + eps)


def _frame_gram(z: torch.Tensor) -> torch.Tensor:
    """(N, N) frame Gram ⟨ẑ_i, ẑ_j⟩ / F with each frame centred over its channels."""
    zc = z - z.mean(dim=0, keepdim=True)
    return zc.transpose(0, 1) @ zc / z.shape[0]


def gcr_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
    matrix: str = "channel",
    include_diag: bool = False,
    eps: float = EPS_RELEASE,
) -> torch.Tensor:
    """Global contextual relation: MSE between channel covariances (D10).

    ``matrix="channel"`` (release): per video, Σ = Z̄ Z̄ᵀ / (N − 1 + eps) ∈ R^{F×F} with Z̄ the
    features centred over the N valid frames; L_video = mean over the strict upper triangle
    (F(F−1)/2 entries; the diagonal too if ``include_diag``) of (Σ^S − Σ^T)². ``matrix="frame"``
    (spec's alternative reading): G_ij = ⟨ẑ_i, ẑ_j⟩ / F, ẑ centred over channels,
    L_video = ‖G^S − G^T‖²_F / N² (O(N²) memory). Mean over the B videos.

    Args:
        student_features: (B, F, T).
        teacher_features: (B, F, T); detached here. Widths must match (use an adapter if not).
        mask: (B, 1, T) or (B, T).
        matrix: ``"channel"`` or ``"frame"``.
        include_diag: keep the variances (channel matrix only).
        eps: added to the N − 1 denominator (release 1e-6).

    Returns:
        Scalar loss. Translation-invariant over time. At N = 1 the covariance is 0 for both
        sides, so a video contributes 0 (no NaN); an empty video contributes 0.
    """
    if matrix not in ("channel", "frame"):
        raise ValueError(f"unknown GCR matrix {matrix!r}; use 'channel' or 'frame'")
    check_pair(student_features, teacher_features)
    b, f, t = student_features.shape
    m = frame_mask(mask, b, t, student_features) > 0
    teacher = teacher_features.detach()
    rows, cols = torch.triu_indices(f, f, offset=0 if include_diag else 1)
    losses = []
    for i in range(b):
        idx = m[i].nonzero().squeeze(1)
        zs, zt = student_features[i][:, idx], teacher[i][:, idx]  # (F, N)
        if idx.numel() == 0 or (matrix == "channel" and rows.numel() == 0):
            losses.append(zs.sum() * 0.0)
        elif matrix == "channel":
            cs, ct = _channel_cov(zs, eps), _channel_cov(zt, eps)
            losses.append(F.mse_loss(cs[rows, cols], ct[rows, cols]))
        else:
            losses.append(F.mse_loss(_frame_gram(zs), _frame_gram(zt)))
    return torch.stack(losses).mean()
