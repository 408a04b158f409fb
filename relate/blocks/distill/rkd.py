"""Distance-wise relational KD (Park et al.) over the frames of each video (D10 of
docs/decisions.md; release ``relate/losses.py``).

Shape legend: B batch, F feature width, T frames, N valid frames of one video.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from relate.blocks.distill.common import check_pair, frame_mask
from relate.blocks.distill.table import EPS_RELEASE


def _mean_dist(x: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """Mean of the positive entries of cdist(x, x) for x (N, F); 0 when there are none."""
    n = x.shape[0]
    if chunk is None or chunk >= n:
        d = torch.cdist(x, x)
        total, count = d.sum(), (d > 0).sum()
    else:
        total = x.new_zeros(())
        count = torch.zeros((), dtype=torch.long, device=x.device)
        for i in range(0, n, chunk):
            total = total + checkpoint(
                lambda a, b: torch.cdist(a, b).sum(), x[i : i + chunk], x, use_reentrant=False
            )
            with torch.no_grad():
                count = count + (torch.cdist(x[i : i + chunk], x) > 0).sum()
    return total / count.clamp_min(1).to(x.dtype)


def _rkd_one(xs: torch.Tensor, xt: torch.Tensor, kind: str, eps: float, chunk: int | None):
    """RKD distance loss for one video; xs, xt are (N, F_s), (N, F_t)."""
    n = xs.shape[0]
    mu_s = _mean_dist(xs, chunk) + eps
    with torch.no_grad():
        mu_t = _mean_dist(xt, chunk) + eps
    elem = F.mse_loss if kind == "mse" else F.smooth_l1_loss  # smooth_l1 β = 1 = Huber δ = 1

    def block(a: torch.Tensor, b: torch.Tensor, mu: torch.Tensor, ta: torch.Tensor):
        ds = torch.cdist(a, b) / mu
        with torch.no_grad():
            dt = torch.cdist(ta, xt) / mu_t
        return elem(ds, dt, reduction="sum")

    if chunk is None or chunk >= n:
        return block(xs, xs, mu_s, xt) / (n * n)
    total = xs.new_zeros(())
    for i in range(0, n, chunk):
        total = total + checkpoint(
            block, xs[i : i + chunk], xs, mu_s, xt[i : i + chunk], use_reentrant=False
        )
    return total / (n * n)


def rkd_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
    loss: str = "mse",
    eps: float = EPS_RELEASE,
    chunk_size: int | None = None,
    max_frames: int | None = None,
) -> torch.Tensor:
    """Distance-wise relational KD over the frames of each video (Park et al.; D10).

    Per video with N valid frames x_1..x_N: D_ij = ‖x_i − x_j‖₂, μ = mean of the D_ij > 0,
    ψ = D / (μ + eps) for student and (detached) teacher separately, and
    L_video = (1/N²) Σ_ij ℓ(ψ^S_ij − ψ^T_ij), ℓ = squared error (release) or Huber δ=1 (Park).
    The result is the mean of L_video over the B videos. Scale-invariant in either input; the
    widths F may differ.

    Memory: the full N×N matrices are O(N²) (0.4 GB per float32 matrix at N = 10k).
    ``chunk_size`` computes them in row blocks under activation checkpointing (peak O(chunk·N),
    about 2× the compute); ``max_frames`` keeps ``max_frames`` evenly spaced valid frames
    (deterministic; default all frames as released).

    Args:
        student_features: (B, F_s, T).
        teacher_features: (B, F_t, T); detached here.
        mask: (B, 1, T) or (B, T).
        loss: ``"mse"`` (release) or ``"huber"`` (Park et al.).
        eps: added to μ (release 1e-6).
        chunk_size: row-block size, or None for the full matrix.
        max_frames: cap on frames per video, or None.

    Returns:
        Scalar loss. With N ≤ 1 (e.g. T = 1) there are no pairs and a video contributes 0.
    """
    if loss not in ("mse", "huber"):
        raise ValueError(f"unknown RKD loss {loss!r}; use 'mse' or 'huber'")
    check_pair(student_features, teacher_features, same_width=False)
    b, _, t = student_features.shape
    m = frame_mask(mask, b, t, student_features) > 0
    teacher = teacher_features.detach()
    losses = []
    for i in range(b):
        idx = m[i].nonzero().squeeze(1)
        if max_frames is not None and idx.numel() > max_frames:
            pick = torch.linspace(0, idx.numel() - 1, max_frames, device=idx.device).round().long()
            idx = idx[pick]
        xs = student_features[i][:, idx].transpose(0, 1)  # (N, F_s)
        xt = teacher[i][:, idx].transpose(0, 1)  # (N, F_t)
        if idx.numel() < 2:
            losses.append(xs.sum() * 0.0)  # keeps the graph, no NaN
        else:
            losses.append(_rkd_one(xs, xt, loss, eps, chunk_size))
    return torch.stack(losses).mean()
