"""The cross-modal distillation rows: KD, RKD and GCR of the flow branch against the teacher.

Shape legend: C classes, T frames, S stages, d feature width.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from relate.tools.parity.constants import CDIST_MM_THRESHOLD, RELEASE_TEMPERATURE
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.pair import ModelPair
from relate.tools.parity.rows import ParityRow, tensor_row

RKD_EPS = 1e-6
"""The release's epsilon added to the mean distance in ``rkd_distance_loss``."""


def release_cmkd(
    release: ReleaseModules,
    student: Mapping[str, Sequence[torch.Tensor]],
    teacher: Mapping[str, Sequence[torch.Tensor]],
) -> dict[str, torch.Tensor]:
    """The release's KD (summed over stages, tau = 2), RKD and GCR (last-stage features), as
    train.py calls them; ``student``/``teacher`` hold per-stage (1, C, T) ``logits`` and
    (1, d, T) ``features``. Returns scalars."""
    losses = release.losses
    return {
        "kd": sum(
            losses.logit_distillation_loss(s, t, RELEASE_TEMPERATURE)
            for s, t in zip(student["logits"], teacher["logits"])
        ),
        "rkd": losses.rkd_distance_loss(student["features"][-1], teacher["features"][-1]),
        "gcr": losses.global_covariance_relation_loss(
            student["features"][-1], teacher["features"][-1]
        ),
    }


def our_cmkd(
    pair: ModelPair, student: Any, teacher: Any, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    """``RelateModel.distill_loss`` with ``distill`` set to each of kd, rkd, gcr in turn;
    ``student``/``teacher`` are ``SegmenterOutput`` s, ``mask`` is (1, 1, T)."""
    from relate.blocks.relate_model import RelateOutput

    base_spec = pair.ours.spec
    output = RelateOutput(
        student, student, student, student.features[-1], mask[:, 0].long(), mask[:, 0].long()
    )  # distill_loss reads output.flow only
    values = {}
    try:
        for loss_name in ("kd", "rkd", "gcr"):
            pair.ours.spec = dataclasses.replace(base_spec, distill=loss_name)
            with torch.no_grad():
                values[loss_name] = pair.ours.distill_loss(output, teacher, mask)
    finally:
        pair.ours.spec = base_spec
    return values


def _exact_distances(features: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """Pairwise distances of (1, d, T) features computed directly (no matrix product), in
    float64: a (T, T) matrix with exact zeros on its diagonal, its sum and its count of
    positive entries."""
    x = features.detach().squeeze(0).transpose(0, 1).double()  # (T, d)
    dist = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    return dist, float(dist.sum()), float((dist > 0).sum())


def _self_distances(features: torch.Tensor) -> torch.Tensor:
    """The (T,) self-distances that ``torch.cdist(x, x)`` returns for (1, d, T) features, as
    both sides' RKD call it: exact zeros for T <= 25, rounding noise (>= 0) above."""
    x = features.detach().squeeze(0).transpose(0, 1)  # (T, d)
    with torch.no_grad():
        return torch.cdist(x, x).diagonal().double()


def _rkd_given_diagonal(
    exact: tuple[torch.Tensor, float, float],
    student_diag: torch.Tensor,
    teacher_exact: tuple[torch.Tensor, float, float],
    teacher_diag: torch.Tensor,
) -> float:
    """The release's RKD formula on exact off-diagonal distances with the given (T,)
    self-distances: each matrix divided by (mean of its entries > 0) + eps, then the MSE."""
    scaled = []
    for (dist, total, count), diag in ((exact, student_diag), (teacher_exact, teacher_diag)):
        mean = (total + float(diag.sum())) / (count + float((diag > 0).sum())) + RKD_EPS
        scaled.append((dist + torch.diag(diag)) / mean)
    return float(((scaled[0] - scaled[1]) ** 2).mean())


def rkd_self_distance_allowance(
    release_student: torch.Tensor,
    release_teacher: torch.Tensor,
    our_student: torch.Tensor,
    our_teacher: torch.Tensor,
) -> float:
    """The part of the end-to-end RKD difference that comes from the self-distances.

    ``rkd_distance_loss`` (and ours, which follows it) divides each distance matrix by the
    mean of its entries > 0. When ``torch.cdist`` takes its matrix-product path (T > 25) the
    T self-distances are rounding noise, exactly 0 for some frames and positive for others,
    in any precision. Which ones are positive depends on the last bit of the features, so two
    sides whose (1, d, T) features differ only by rounding count a different number of them
    into that mean, which rescales every normalised distance by up to about 1/T.

    Returns |RKD(our self-distances) - RKD(the release's self-distances)|, both on the
    release's exact off-diagonal distances; 0 when cdist computes directly (T <= 25).
    """
    if release_student.shape[-1] <= CDIST_MM_THRESHOLD:
        return 0.0
    student = _exact_distances(release_student)
    teacher = _exact_distances(release_teacher)
    theirs = _rkd_given_diagonal(
        student, _self_distances(release_student), teacher, _self_distances(release_teacher)
    )
    ours = _rkd_given_diagonal(
        student, _self_distances(our_student), teacher, _self_distances(our_teacher)
    )
    return abs(ours - theirs)


def compare_cmkd(
    release: ReleaseModules,
    pair: ModelPair,
    ours: Any,
    teacher: Any,
    theirs: Mapping[str, Any],
    mask: torch.Tensor,
) -> list[ParityRow]:
    """KD, RKD and GCR of the flow branch against the teacher, two ways: our loss code on the
    release's own tensors (isolates the loss), and end to end (each side on its own model's
    tensors). End to end, RKD also allows :func:`rkd_self_distance_allowance`.

    Args:
        ours, teacher: our ``RelateOutput`` and teacher ``SegmenterOutput`` (eval mode).
        theirs: :func:`relate.tools.parity.pair.release_forward` output.
        mask: (1, 1, T) ones.
    """
    from relate.segmenters.base import SegmenterOutput

    name = pair.segmenter
    release_student = {"logits": list(theirs["p_flow"]), "features": list(theirs["f_flow"])}
    release_teacher = {"logits": list(theirs["p_ref"]), "features": list(theirs["f_ref"])}
    reference = release_cmkd(release, release_student, release_teacher)
    isolated = our_cmkd(
        pair, SegmenterOutput(**release_student), SegmenterOutput(**release_teacher), mask
    )
    end_to_end = our_cmkd(pair, ours.flow, teacher, mask)
    rows = []
    for loss_name, value in reference.items():
        label = loss_name.upper()
        rows.append(
            tensor_row(
                name,
                f"eval CMKD {label}, our loss on the release's tensors",
                isolated[loss_name],
                value,
            )
        )
        row = tensor_row(
            name, f"eval CMKD {label} vs teacher, end to end", end_to_end[loss_name], value
        )
        if loss_name == "rkd":
            allowance = rkd_self_distance_allowance(
                release_student["features"][-1],
                release_teacher["features"][-1],
                ours.flow.features[-1],
                teacher.features[-1],
            )
            row = row.widened(allowance, f"+ {allowance:.2g} from cdist self-distances")
        rows.append(row)
    return rows
