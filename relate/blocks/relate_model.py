"""The RELATE model: RGB branch, flow branch, fusion and joint segmenter (docs/relate_model.md).

Written from the paper and the authors' release; the release's departures from the paper are
D1-D25 of docs/decisions.md. Built only from this suite's own blocks
(``relate.segmenters``, ``relate.blocks.fusion``, ``relate.blocks.distill``); no upstream code is
copied.

Shape legend: B batch, C classes, D = 1024 RGB-I3D rows, d branch feature width, T frames.

As released (the defaults of :class:`RelateSpec`):

    x_rgb (B, 1024, T) --> RGB segmenter  (3 stages) --> logits_s, features_s
    x_rgb (B, 1024, T) --> flow segmenter (3 stages) --> logits_s, features_s
                           (its input is bridge(x_rgb) when ``bridge != "none"``)
    fusion(features[-1] of both, anchors = argmax of stage 1 of each branch) --> (B, d_out, T)
    joint segmenter (3 stages) on the fused features

    L = L_RGB + L_OF + L_J + gamma * L_CMKD (+ bridge MSE when ``bridge == "joint"``)

The teacher (the ``flow`` variant at the same depth, run on the flow rows) is **not** part of
this module: the trainer runs it frozen under ``torch.no_grad()`` and passes its output to
:meth:`RelateModel.loss`, so the optimiser never sees its parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from relate import segmenters
from relate.blocks.distill.bridge import ModalityBridge, bridge_loss
from relate.blocks.fusion import anchor_labels, build_fusion
from relate.blocks.relate_spec import (
    AGAS,
    BRIDGE_PADDINGS,
    BRIDGES,
    RELEASE_DEPTH,
    RGB_DIM,
    SEGMENTER_NAMES,
    TEACHER_ARCHS,
    TRUNK_NAMES,
    RelateSpec,
)
from relate.segmenters.base import Segmenter, SegmenterOutput

__all__ = [
    "AGAS",
    "BRIDGES",
    "BRIDGE_PADDINGS",
    "RELEASE_DEPTH",
    "RGB_DIM",
    "SEGMENTER_NAMES",
    "TEACHER_ARCHS",
    "TRUNK_NAMES",
    "RelateModel",
    "RelateOutput",
    "RelateSpec",
    "build_teacher",
    "count_parameters",
]


@dataclass
class RelateOutput:
    """A RELATE forward pass.

    Attributes:
        rgb, flow, joint: the three segmenters' outputs (per-stage logits and features).
        fused: (B, d_out, T) fusion output, the joint segmenter's input.
        anchors_rgb, anchors_flow: (B, T) anchor labels (argmax of ``anchor_stage``).
        pseudo_flow: (B, 1024, T) bridge output, or None without a bridge.
    """

    rgb: SegmenterOutput
    flow: SegmenterOutput
    joint: SegmenterOutput
    fused: torch.Tensor
    anchors_rgb: torch.Tensor
    anchors_flow: torch.Tensor
    pseudo_flow: torch.Tensor | None = None


class RelateModel(nn.Module):
    """RGB and flow branches, fusion and joint segmenter (see module doc). The teacher and a
    pre-trained bridge's weights come from the trainer."""

    def __init__(self, spec: RelateSpec) -> None:
        super().__init__()
        self.spec = spec
        over = spec.segmenter_overrides()

        def seg(in_dim: int) -> Segmenter:
            return segmenters.build(spec.segmenter, in_dim, spec.num_classes, spec.dataset, **over)

        self.rgb = seg(spec.in_dim)
        self.flow = seg(spec.in_dim)
        self.fusion = build_fusion(spec.fusion, spec.feature_dim(), **spec.fusion_kwargs())
        self.joint = seg(int(self.fusion.out_dim))
        self.bridge: ModalityBridge | None = None
        if spec.bridge != "none":
            self.bridge = ModalityBridge(spec.in_dim, hidden=spec.bridge_hidden)
            if spec.bridge == "pretrained":
                self.bridge.freeze()

    def forward(self, x_rgb: torch.Tensor, mask: torch.Tensor | None = None) -> RelateOutput:
        """x_rgb: (B, 1024, T) RGB I3D rows; mask: (B, 1, T), 1 on valid frames (None = all)."""
        if x_rgb.dim() != 3 or x_rgb.shape[1] != self.spec.in_dim:
            raise ValueError(f"x_rgb must be (B, {self.spec.in_dim}, T), got {tuple(x_rgb.shape)}")
        pseudo = None
        flow_in = x_rgb
        if self.bridge is not None:
            pseudo = self.bridge(x_rgb)
            flow_in = pseudo
        out_rgb = self.rgb(x_rgb, mask)
        out_flow = self.flow(flow_in, mask)
        lab_rgb = anchor_labels(out_rgb.logits, self.spec.anchor_stage)
        lab_flow = anchor_labels(out_flow.logits, self.spec.anchor_stage)
        fused = self.fusion(out_rgb.features[-1], out_flow.features[-1], lab_rgb, lab_flow, mask)
        out_joint = self.joint(fused, mask)
        return RelateOutput(out_rgb, out_flow, out_joint, fused, lab_rgb, lab_flow, pseudo)

    def distill_loss(
        self, output: RelateOutput, teacher_output: SegmenterOutput, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """L_CMKD of the flow branch against the teacher (teacher detached; stage pairing and
        loss form from the spec)."""
        return self.spec.distill_settings().loss(output.flow, teacher_output, mask)

    def loss(
        self,
        output: RelateOutput,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        teacher_output: SegmenterOutput | None = None,
        x_flow: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Named terms and ``total`` = rgb + flow + joint + gamma * cmkd (+ bridge).

        target: (B, T) class ids (-100 ignored). teacher_output: the frozen teacher's output
        on the flow rows (required when gamma > 0). x_flow: (B, 1024, T) flow rows, required
        for ``bridge="joint"``. ``cmkd`` and ``bridge`` are reported unweighted.
        """
        terms = {
            "rgb": self.rgb.loss(output.rgb, target, mask)["total"],
            "flow": self.flow.loss(output.flow, target, mask)["total"],
            "joint": self.joint.loss(output.joint, target, mask)["total"],
        }
        zero = terms["rgb"].new_zeros(())
        if teacher_output is not None:
            terms["cmkd"] = self.distill_loss(output, teacher_output, mask)
        elif self.spec.gamma > 0:
            raise ValueError("teacher_output is required when gamma > 0 (run the frozen teacher)")
        else:
            terms["cmkd"] = zero
        if self.spec.bridge == "joint":
            if x_flow is None or output.pseudo_flow is None:
                raise ValueError("bridge='joint' needs x_flow (the flow I3D rows) for its MSE")
            terms["bridge"] = bridge_loss(
                output.pseudo_flow, x_flow, mask, padding=self.spec.bridge_mse_padding
            )
        else:
            terms["bridge"] = zero
        terms["total"] = (
            terms["rgb"]
            + terms["flow"]
            + terms["joint"]
            + self.spec.gamma * terms["cmkd"]
            + self.spec.bridge_weight * terms["bridge"]
        )
        return terms

    def probabilities(self, output: RelateOutput) -> dict[str, torch.Tensor]:
        """(B, C, T) frame probabilities of each head's final prediction."""
        return {
            "rgb": self.rgb.probabilities(output.rgb),
            "flow": self.flow.probabilities(output.flow),
            "joint": self.joint.probabilities(output.joint),
        }


def build_teacher(spec: RelateSpec) -> Segmenter:
    """An (untrained) teacher on the flow rows: the flow branch's architecture, or the
    segmenter's official depth for ``teacher_arch="baseline"``. The trainer loads its weights,
    calls ``.eval().requires_grad_(False)`` and runs it under ``torch.no_grad()``."""
    return segmenters.build(
        spec.segmenter, spec.in_dim, spec.num_classes, spec.dataset, **spec.teacher_overrides()
    )


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (of those with ``requires_grad`` if ``trainable_only``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
