"""Eval-mode rows: every head's logits, probabilities and features, the anchors, the AFT output
and (through ``cmkd``) the distillation losses.

Shape legend: C classes, T frames, d feature width.
"""

from __future__ import annotations

import torch

from relate.tools.parity.cmkd import compare_cmkd
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.pair import ModelPair, release_forward
from relate.tools.parity.rows import ParityRow, count_row, tensor_row


def compare_eval(
    release: ReleaseModules, pair: ModelPair, x_rgb: torch.Tensor, x_flow: torch.Tensor
) -> tuple[list[ParityRow], dict[str, torch.Tensor]]:
    """Eval-mode rows: logits of every stage of every head, last-stage features, anchors, the
    AFT output, the teacher, KD/RKD/GCR.

    Args:
        x_rgb, x_flow: (1, 1024, T) inputs (flow feeds only the teacher).

    Returns:
        The rows, and the release's last-stage (T, C) probabilities of each head (``rgb``,
        ``flow``, ``joint``) for the PR comparison.
    """
    name = pair.segmenter
    pair.set_mode(False)
    mask = x_rgb.new_ones(1, 1, x_rgb.shape[-1])
    with torch.no_grad():
        ours = pair.ours(x_rgb, mask)
        teacher = pair.teacher(x_flow, mask)
        theirs = release_forward(pair, x_rgb, x_flow)
    rows: list[ParityRow] = []
    heads = (
        ("p_RGB", ours.rgb, "p_rgb", "f_rgb"),
        ("p_OF", ours.flow, "p_flow", "f_flow"),
        ("p_J", ours.joint, "p_joint", "f_joint"),
        ("teacher", teacher, "p_ref", "f_ref"),
    )
    for label, out, logits_key, features_key in heads:
        for s, logits in enumerate(out.logits):
            rows.append(
                tensor_row(name, f"eval {label} logits, stage {s}", logits, theirs[logits_key][s])
            )
        rows.append(
            tensor_row(
                name,
                f"eval {label} probabilities, last stage",
                torch.softmax(out.logits[-1], 1),
                torch.softmax(theirs[logits_key][-1], 1),
            )
        )
        rows.append(
            tensor_row(
                name,
                f"eval {label} features, last stage",
                out.features[-1],
                theirs[features_key][-1],
            )
        )
    for label, ours_anchor, key in (
        ("RGB", ours.anchors_rgb, "p_rgb"),
        ("OF", ours.anchors_flow, "p_flow"),
    ):
        release_anchor = theirs[key][1].argmax(dim=1)  # (1, T)
        runs = int((release_anchor[:, 1:] != release_anchor[:, :-1]).sum()) + 1
        rows.append(
            count_row(
                name,
                f"eval anchors {label} (argmax of stage 1): frames differing",
                int((ours_anchor != release_anchor).sum()),
                f"release anchors: {runs} runs",
            )
        )
    rows.append(tensor_row(name, "eval AFT output (fused features)", ours.fused, theirs["fused"]))

    rows += compare_cmkd(release, pair, ours, teacher, theirs, mask)
    probabilities = {
        head: torch.softmax(theirs[key][-1], dim=1).squeeze(0).transpose(0, 1).contiguous()
        for head, key in (("rgb", "p_rgb"), ("flow", "p_flow"), ("joint", "p_joint"))
    }
    return rows, probabilities
