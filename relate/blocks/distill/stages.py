"""Stage pairing: apply a per-tensor loss to student and teacher stages and combine (D8, D9 of
docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from relate.segmenters.base import SegmenterOutput

STAGE_CHOICES: tuple[str, ...] = ("default", "all", "last")
"""Values of a loss's stages knob: ``default`` (the loss's entry), every stage or the last."""
PAIRINGS: tuple[str, ...] = ("same_index", "last_aligned")


def stagewise(
    loss_fn: Callable[..., torch.Tensor],
    student: SegmenterOutput,
    teacher: SegmenterOutput,
    stages: str | Sequence[int] = "all",
    field: str = "logits",
    reduction: str = "sum",
    pairing: str = "same_index",
    **kw,
) -> torch.Tensor:
    """Apply ``loss_fn`` to student stage s and teacher stage s and combine (D8, D9).

    Args:
        loss_fn: one of :data:`DISTILL_LOSSES` (or any (student, teacher, **kw) loss).
        student: the student's output; ``field`` selects ``logits`` (B, C, T) or ``features``
            (B, F, T) per stage.
        teacher: the teacher's output.
        stages: ``"all"`` (release KD), ``"last"`` (release RKD/GCR, MARS) or student stage indices
            (negative allowed).
        field: ``"logits"`` or ``"features"``.
        reduction: ``"sum"`` over the selected stages (release) or ``"mean"``.
        pairing: ``"same_index"`` (release: depths must match) or ``"last_aligned"`` (D8 option:
            student stage s ↔ teacher stage s + S_T − S_S, for a deeper baseline teacher).
        **kw: passed to ``loss_fn`` (``mask``, ``temperature``, ...).

    Raises:
        ValueError: depth mismatch under ``same_index``, a shallower teacher, unknown options or
            stage indices out of range.
    """
    if field not in ("logits", "features"):
        raise ValueError(f"field must be 'logits' or 'features', got {field!r}")
    s_list, t_list = getattr(student, field), getattr(teacher, field)
    n_s, n_t = len(s_list), len(t_list)
    if n_s == 0:
        raise ValueError("student output has no stages")
    if pairing == "same_index":
        if n_s != n_t:
            raise ValueError(
                f"student has {n_s} stages but teacher has {n_t}; same_index pairing needs equal "
                "depths (use pairing='last_aligned' for a deeper teacher)"
            )
        offset = 0
    elif pairing == "last_aligned":
        if n_t < n_s:
            raise ValueError(f"teacher ({n_t} stages) is shallower than student ({n_s})")
        offset = n_t - n_s
    else:
        raise ValueError(f"unknown pairing {pairing!r}; use 'same_index' or 'last_aligned'")
    if stages == "all":
        idx = list(range(n_s))
    elif stages == "last":
        idx = [n_s - 1]
    elif isinstance(stages, str):
        raise ValueError(f"stages must be 'all', 'last' or indices, got {stages!r}")
    else:
        idx = []
        for s in stages:
            if not -n_s <= s < n_s:
                raise ValueError(f"stage index {s} out of range for {n_s} stages")
            idx.append(s % n_s)
    if not idx:
        raise ValueError("no stages selected")
    terms = [loss_fn(s_list[s], t_list[s + offset], **kw) for s in idx]
    total = torch.stack(terms).sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / len(terms)
    raise ValueError(f"unknown reduction {reduction!r}; use 'sum' or 'mean'")
