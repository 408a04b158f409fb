"""Both sides with the same weights: our ``RelateModel`` plus teacher, and the release's four
segmenters plus AFT, and the release's forward wiring and training loss.

Shape legend: B batch (1), C classes, T frames, S stages, d feature width (64).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from relate.errors import RelateError
from relate.tools.parity.constants import (
    RELEASE_BACKBONES,
    RELEASE_CHANNEL_MASK_RATE,
    RELEASE_GAMMA,
    RELEASE_R,
    RELEASE_TEMPERATURE,
)
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.mapping import check_mapping, key_mapping

logger = logging.getLogger(__name__)


@dataclass
class ModelPair:
    """Our model and teacher, the release's modules (``rgb``, ``flow``, ``joint``,
    ``teacher``, ``aft``) and the checked mapping from our keys to the release's."""

    segmenter: str
    spec: Any
    ours: nn.Module
    teacher: nn.Module
    theirs: dict[str, nn.Module]
    mapping: dict[str, str]

    def to(self, dtype: torch.dtype) -> ModelPair:
        """A deep copy of both sides in ``dtype`` (the originals are left as they are)."""
        pair = copy.deepcopy(self)
        for module in (pair.ours, pair.teacher, *pair.theirs.values()):
            module.to(dtype)
        return pair

    def set_mode(self, train: bool) -> None:
        """Train or eval mode on both sides; the teachers always stay in eval mode."""
        self.ours.train(train)
        for name, module in self.theirs.items():
            module.train(train and name != "teacher")
        self.teacher.eval()

    def zero_grad(self) -> None:
        """Drop the gradients of both sides."""
        for module in (self.ours, *self.theirs.values()):
            module.zero_grad(set_to_none=True)


def flat_state(modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """``{"<prefix>.<key>": tensor}`` over the state_dicts of ``modules``."""
    return {f"{prefix}.{k}": v for prefix, m in modules.items() for k, v in m.state_dict().items()}


def flat_parameters(modules: Mapping[str, nn.Module]) -> dict[str, nn.Parameter]:
    """``{"<prefix>.<name>": parameter}`` over ``modules``."""
    return {f"{prefix}.{k}": p for prefix, m in modules.items() for k, p in m.named_parameters()}


def _our_state(ours: nn.Module, teacher: nn.Module) -> dict[str, torch.Tensor]:
    """Our model's keys as they are (``rgb.``, ``flow.``, ``fusion.``, ``joint.``) plus the
    teacher's under ``teacher.``."""
    state = dict(ours.state_dict())
    state.update({f"teacher.{k}": v for k, v in teacher.state_dict().items()})
    return state


def build_pair(
    release: ReleaseModules,
    segmenter: str,
    dataset: str = "gtea",
    num_classes: int = 11,
    seed: int = 0,
    options: Mapping[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> ModelPair:
    """Build ours (``RelateSpec.from_options`` defaults plus ``options``) and the release's
    RGB, flow, joint, teacher segmenters and AFT at the same depth and width, then copy our
    (seeded, default-initialised) weights into the release's through the checked mapping.

    Raises:
        RelateError: unknown segmenter, bad options, a pipeline other than the release's.
        KeyMappingError: the mapping is not a shape-preserving bijection.
    """
    from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher

    if segmenter not in RELEASE_BACKBONES:
        raise RelateError(
            f"the release has no {segmenter!r} backbone; "
            f"parity covers {', '.join(RELEASE_BACKBONES)}"
        )
    try:
        spec = RelateSpec.from_options(segmenter, dataset, num_classes, **dict(options or {}))
        torch.manual_seed(seed)
        ours = RelateModel(spec)
        teacher = build_teacher(spec)
    except (KeyError, ValueError, TypeError) as error:
        raise RelateError(
            f"RELATE options for {segmenter}: {error.args[0] if error.args else error}"
        ) from None
    if spec.fusion != "aft" or spec.bridge != "none":
        raise RelateError(
            "parity compares the release's default pipeline: fusion must be "
            f"'aft' and bridge 'none' (got {spec.fusion!r}, {spec.bridge!r})"
        )
    seg = release.segmenters
    args = (
        RELEASE_BACKBONES[segmenter],
        spec.depth - 1,
        spec.num_layers or 10,
        RELEASE_R,
        RELEASE_R,
        spec.feature_dim(),
    )
    tail = (num_classes, RELEASE_CHANNEL_MASK_RATE, "cpu")
    theirs: dict[str, nn.Module] = {
        "rgb": seg.RGBSegmenter(*args, spec.in_dim, *tail),
        "flow": seg.FlowSegmenter(*args, spec.in_dim, *tail),
        "joint": seg.JointSegmenter(*args, int(ours.fusion.out_dim), *tail),
        "teacher": seg.RefSegmenter(*args, spec.in_dim, *tail),
        "aft": release.alignment_fusion.AlignmentFusionTransformer(spec.feature_dim(), "cpu"),
    }
    our_state = _our_state(ours, teacher)
    their_state = flat_state(theirs)
    mapping = key_mapping(our_state, segmenter)
    check_mapping(
        mapping,
        {k: v.shape for k, v in our_state.items()},
        {k: v.shape for k, v in their_state.items()},
    )
    copied = {mapping[k]: v.detach().clone() for k, v in our_state.items()}
    for prefix, module in theirs.items():
        module.load_state_dict(
            {k[len(prefix) + 1 :]: v for k, v in copied.items() if k.startswith(prefix + ".")},
            strict=True,
        )
    for module in (ours, teacher, *theirs.values()):
        module.to(dtype)
    logger.info(
        "%s: copied %d tensors (%d parameters) into the release's modules",
        segmenter,
        len(copied),
        sum(v.numel() for v in copied.values()),
    )
    return ModelPair(
        segmenter, spec, ours, teacher, theirs, {k: v for k, v in mapping.items() if v is not None}
    )


def release_forward(pair: ModelPair, x_rgb: torch.Tensor, x_flow: torch.Tensor) -> dict[str, Any]:
    """The release's train.py/predict.py wiring: branches, AFT on last-stage features with
    stage-1 anchors, joint segmenter, teacher (no grad).

    Args:
        x_rgb, x_flow: (1, 1024, T) inputs; the flow input feeds only the teacher.

    Returns:
        ``mask`` (1, C, T) ones; ``p_*`` / ``f_*``: per-stage (1, C, T) logits and (1, d, T)
        features of ``rgb``, ``flow``, ``joint``, ``ref`` (teacher); ``fused`` (1, d, T).
    """
    t = pair.theirs
    mask = x_rgb.new_ones(1, pair.spec.num_classes, x_rgb.shape[-1])
    with torch.no_grad():
        p_ref, f_ref = t["teacher"](x_flow, mask)
    p_rgb, f_rgb = t["rgb"](x_rgb, mask)
    p_flow, f_flow = t["flow"](x_rgb, mask)
    fused = t["aft"](f_rgb[-1], f_flow[-1], p_rgb[1], p_flow[1], mask)
    p_joint, f_joint = t["joint"](fused, mask)
    return dict(
        mask=mask,
        p_rgb=p_rgb,
        f_rgb=f_rgb,
        p_flow=p_flow,
        f_flow=f_flow,
        fused=fused,
        p_joint=p_joint,
        f_joint=f_joint,
        p_ref=p_ref,
        f_ref=f_ref,
    )


def release_loss(
    release: ReleaseModules, pair: ModelPair, out: Mapping[str, Any], target: torch.Tensor
) -> torch.Tensor:
    """The release's training loss with KD, a scalar:
    seg(RGB) + seg(OF) + seg(J) + 0.5 * sum_s KD_s; ``target`` is (1, T) class ids."""
    losses, c = release.losses, pair.spec.num_classes
    loss = losses.segmentation_loss(out["p_rgb"], c, target, out["mask"])
    loss = loss + losses.segmentation_loss(out["p_flow"], c, target, out["mask"])
    loss = loss + losses.segmentation_loss(out["p_joint"], c, target, out["mask"])
    kd = sum(
        losses.logit_distillation_loss(out["p_flow"][i], out["p_ref"][i], RELEASE_TEMPERATURE)
        for i in range(len(out["p_flow"]))
    )
    return loss + RELEASE_GAMMA * kd
