"""Prediction-refinement (PR) rows: our ``refine_prediction`` with the release's options
against the release's ``refine_joint_prediction`` on the same (T, C) probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from relate.tools.parity.constants import RELEASE_DELTA
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.rows import ParityRow, count_row, tensor_row


def synthetic_pr_cases(
    seed: int, frames: int, num_classes: int
) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Two (T, C) float32 probability triples (RGB, OF, J): sharp random heads, and the same
    with frame 0 built so that the release's t = 0 wrap fires (joint uniform and least
    confident, unimodal heads confident)."""
    gen = torch.Generator().manual_seed(seed + 7)

    def head(scale: float) -> torch.Tensor:
        return torch.softmax(scale * torch.randn(frames, num_classes, generator=gen), dim=1)

    sharp = (head(4.0), head(3.0), head(2.5))
    wrap = tuple(p.clone() for p in sharp)
    wrap[2][0] = 1.0 / num_classes
    for p in wrap[:2]:
        p[0] = torch.softmax(8.0 * F.one_hot(torch.tensor(1), num_classes).float(), dim=0)
    return {"synthetic sharp heads": sharp, "synthetic, t = 0 wrap fires": wrap}


def compare_refinement(
    release: ReleaseModules, segmenter: str, label: str, heads: Sequence[torch.Tensor]
) -> list[ParityRow]:
    """Our ``refine_prediction`` with ``RELEASE_PR_OPTIONS`` vs ``refine_joint_prediction`` on
    the same (T, C) probabilities: refined values and argmax labels."""
    from relate.blocks.refine import RELEASE_PR_OPTIONS, refine_prediction

    rgb, flow, joint = (h.float() for h in heads)
    theirs = release.refinement.refine_joint_prediction(rgb, flow, joint, RELEASE_DELTA)
    ours = refine_prediction(rgb, flow, joint, RELEASE_DELTA, **RELEASE_PR_OPTIONS)
    changed = int((theirs.argmax(1) != joint.argmax(1)).sum())
    rows_changed = int((theirs != joint).any(dim=1).sum())
    wrap = bool((theirs[0] != joint[0]).any())
    note = (
        f"release changed {rows_changed} rows, {changed} labels of T={joint.shape[0]}; "
        f"frame 0 {'replaced' if wrap else 'kept'}"
    )
    return [
        tensor_row(segmenter, f"PR refined values ({label})", ours, theirs, note),
        count_row(
            segmenter,
            f"PR labels: frames differing ({label})",
            int((ours.argmax(1) != theirs.argmax(1)).sum()),
        ),
    ]
