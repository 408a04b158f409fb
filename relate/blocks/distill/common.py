"""Helpers every distillation loss shares: the frame mask and the shape check.

Shape legend: B batch, C classes, F feature width, T frames. A ``mask`` is (B, 1, T) or (B, T)
with 1 on valid frames and 0 on padding; ``None`` means every frame is valid.
"""

from __future__ import annotations

import torch


def frame_mask(mask: torch.Tensor | None, b: int, t: int, ref: torch.Tensor) -> torch.Tensor:
    """(B, T) float mask in ``ref``'s dtype/device; accepts (B, 1, T), (B, T) or None."""
    if mask is None:
        return torch.ones(b, t, dtype=ref.dtype, device=ref.device)
    if mask.dim() == 3:
        if mask.shape[1] != 1:
            raise ValueError(f"mask must be (B, 1, T) or (B, T), got {tuple(mask.shape)}")
        mask = mask[:, 0]
    if tuple(mask.shape) != (b, t):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match (B, T) = {(b, t)}")
    return mask.to(dtype=ref.dtype, device=ref.device)


def check_pair(student: torch.Tensor, teacher: torch.Tensor, same_width: bool = True) -> None:
    if student.dim() != 3 or teacher.dim() != 3:
        raise ValueError("student and teacher must be (B, C|F, T) tensors")
    s, t = student.shape, teacher.shape
    if s[0] != t[0] or s[2] != t[2] or (same_width and s[1] != t[1]):
        raise ValueError(f"student {tuple(s)} and teacher {tuple(t)} shapes are incompatible")
