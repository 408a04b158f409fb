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

import ast
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from relate import segmenters
from relate.blocks.distill import (
    CMKD_GAMMA,
    KD_TEMPERATURE,
    DistillSettings,
    ModalityBridge,
    bridge_loss,
)
from relate.blocks.fusion import FUSIONS, anchor_labels, build_fusion
from relate.segmenters.base import Segmenter, SegmenterOutput

SEGMENTER_NAMES: tuple[str, ...] = ("mstcn", "asformer", "fact")
DISTILLS: tuple[str, ...] = ("kd", "rkd", "gcr")
AGAS: tuple[str, ...] = ("both", "rgb", "flow", "none")
TRUNK_NAMES: tuple[str, ...] = ("release", "paper")
BRIDGES: tuple[str, ...] = ("none", "pretrained", "joint")
TEACHER_ARCHS: tuple[str, ...] = ("same_as_branch", "baseline")
BRIDGE_PADDINGS: tuple[str, ...] = ("exclude", "include")
RELEASE_CHANNEL_MASK_RATE = 0.3  # release: every dataset, every ASFormer role (D12)
RELEASE_DEPTH = 3  # release: --num-stages 3 for every role (D1)
RGB_DIM = 1024


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


@dataclass(frozen=True)
class RelateSpec:
    """Everything that defines a RELATE model; defaults follow the authors' release.

    Attributes:
        segmenter: backbone of all three segmenters (and of the teacher): mstcn, asformer, fact.
        dataset: dataset name (selects the segmenter's per-dataset settings).
        num_classes: C.
        depth: stages per segmenter (release 3): MS-TCN ``num_stages``; ASFormer encoder +
            ``depth - 1`` decoders; FACT blocks ``"i" + "u" * (depth - 2) + "U"``.
        num_layers: layers per stage (None = the segmenter's default, 10 for MS-TCN/ASFormer;
            FACT: ``f_layers`` and ``u_f_layers``).
        distill: CMKD loss: ``kd`` (logits, every stage), ``rkd`` / ``gcr`` (last-stage features).
        aga: which modalities the AFT gates (``fusion="aft"`` only).
        fusion: the fusion module (Table 3).
        trunk: fusion trunk preset (``release`` or ``paper``); not valid with ``naive``.
        anchor_stage: stage whose argmax gives each branch's anchors (release 1; ``"last"``).
        gamma: weight of L_CMKD (release 0.5).
        temperature: KD temperature (release 2).
        bridge: ``none`` (release default: flow branch gets raw RGB), ``pretrained`` (frozen
            bridge; weights loaded by the trainer) or ``joint`` (trained with an MSE term).
        bridge_hidden: the bridge's hidden width (release 256).
        bridge_weight: weight of the bridge MSE under ``bridge="joint"`` (1).
        bridge_mse_padding: ``exclude`` padded frames from the bridge MSE or ``include`` them
            (the release's ``nn.MSELoss``); equal at batch size 1.
        kd_reduction, kd_tau2, kd_stages, rkd_loss, gcr_matrix: the CMKD loss's form
            (:class:`relate.blocks.distill.DistillSettings`; D9, D10).
        teacher_arch: ``same_as_branch`` (release: the teacher has the flow branch's depth,
            stages paired by index) or ``baseline`` (the segmenter's official depth, stages
            paired from the last; D8).
        in_dim: input width (RGB I3D rows, 1024).
        fusion_options: extra keyword options for ``build_fusion`` (window, variant, ...).
        segmenter_options: extra keyword overrides for ``segmenters.build``.
    """

    segmenter: str
    dataset: str
    num_classes: int
    depth: int = RELEASE_DEPTH
    num_layers: int | None = None
    distill: str = "kd"
    aga: str = "both"
    fusion: str = "aft"
    trunk: str = "release"
    anchor_stage: int | str = 1
    gamma: float = CMKD_GAMMA
    temperature: float = KD_TEMPERATURE
    bridge: str = "none"
    bridge_hidden: int = 256
    bridge_weight: float = 1.0
    bridge_mse_padding: str = "exclude"
    kd_reduction: str = "sum_frames"
    kd_tau2: bool = False
    kd_stages: str = "default"
    rkd_loss: str = "mse"
    gcr_matrix: str = "channel"
    teacher_arch: str = "same_as_branch"
    in_dim: int = RGB_DIM
    fusion_options: Mapping[str, Any] = field(default_factory=dict)
    segmenter_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("segmenter", self.segmenter, SEGMENTER_NAMES)
        _choice("distill", self.distill, DISTILLS)
        _choice("aga", self.aga, AGAS)
        _choice("fusion", self.fusion, tuple(FUSIONS))
        _choice("trunk", self.trunk, TRUNK_NAMES)
        _choice("bridge", self.bridge, BRIDGES)
        _choice("teacher_arch", self.teacher_arch, TEACHER_ARCHS)
        _choice("bridge_mse_padding", self.bridge_mse_padding, BRIDGE_PADDINGS)
        self.distill_settings()  # validates the CMKD loss options
        for name in ("num_classes", "depth", "in_dim", "bridge_hidden"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.num_layers is not None and (
            isinstance(self.num_layers, bool)
            or not isinstance(self.num_layers, int)
            or self.num_layers < 1
        ):
            raise ValueError(f"num_layers must be a positive int or None, got {self.num_layers!r}")
        if self.anchor_stage != "last":
            if isinstance(self.anchor_stage, bool) or not isinstance(self.anchor_stage, int):
                raise ValueError(
                    f"anchor_stage must be an int or 'last', got {self.anchor_stage!r}"
                )
            if not 0 <= self.anchor_stage < self.depth:
                raise ValueError(
                    f"anchor_stage {self.anchor_stage} does not exist with depth {self.depth} "
                    f"(stages 0..{self.depth - 1}); the release's stage 1 needs depth >= 2"
                )
        if not (self.gamma >= 0):
            raise ValueError(f"gamma must be >= 0, got {self.gamma!r}")
        if not (self.bridge_weight >= 0):
            raise ValueError(f"bridge_weight must be >= 0, got {self.bridge_weight!r}")
        if self.aga != "both" and self.fusion != "aft":
            raise ValueError(f"aga={self.aga!r} applies only to fusion='aft', not {self.fusion!r}")
        if self.trunk != "release" and self.fusion == "naive":
            raise ValueError("fusion='naive' has no trunk; trunk must stay 'release' (unused)")
        reserved = {"aga", "trunk"} & set(self.fusion_options)
        if reserved:
            raise ValueError(f"set {sorted(reserved)} through the spec fields, not fusion_options")
        if self.fusion == "naive" and self.fusion_options:
            raise ValueError(f"fusion='naive' takes no options, got {sorted(self.fusion_options)}")
        if self.segmenter == "fact" and self.depth < 2:
            raise ValueError("FACT RELATE needs depth >= 2 (an input block and update blocks)")
        # frozen dataclass: store plain-dict copies so callers' dicts cannot change the spec
        object.__setattr__(self, "fusion_options", dict(self.fusion_options))
        object.__setattr__(self, "segmenter_options", dict(self.segmenter_options))

    # ------------------------------------------------------------------ derived settings
    def segmenter_overrides(self) -> dict[str, Any]:
        """Keyword overrides for ``segmenters.build`` that give ``depth`` and ``num_layers``."""
        over: dict[str, Any] = {}
        if self.segmenter == "mstcn":
            over["num_stages"] = self.depth
            if self.num_layers is not None:
                over["num_layers"] = self.num_layers
        elif self.segmenter == "asformer":
            over["num_decoders"] = self.depth - 1
            if self.num_layers is not None:
                over["num_layers"] = self.num_layers
            # D12: the release masks 30% of the input channels on every dataset (official
            # ASFormer: 0.5 on GTEA); segmenter.channel_mask_rate=... overrides it
            if "channel_mask_rate" not in self.segmenter_options:
                over["channel_mask_rate"] = RELEASE_CHANNEL_MASK_RATE
        else:  # fact: stage = block
            over["blocks"] = "i" + "u" * (self.depth - 2) + "U"
            if self.num_layers is not None:
                over["f_layers"] = over["u_f_layers"] = self.num_layers
        clash = set(over) & set(self.segmenter_options)
        if clash:
            raise ValueError(f"set {sorted(clash)} through depth/num_layers, not segmenter_options")
        over.update(self.segmenter_options)
        return over

    def distill_settings(self) -> DistillSettings:
        """The CMKD loss this spec asks for (raises ValueError on an invalid option)."""
        return DistillSettings(
            self.distill,
            temperature=self.temperature,
            kd_reduction=self.kd_reduction,
            kd_tau2=self.kd_tau2,
            stages=self.kd_stages if self.distill == "kd" else "default",
            pairing="last_aligned" if self.teacher_arch == "baseline" else "same_index",
            rkd_loss=self.rkd_loss,
            gcr_matrix=self.gcr_matrix,
        )

    def teacher_overrides(self) -> dict[str, Any]:
        """``segmenters.build`` overrides of the teacher: the flow branch's, or only the
        width options (``segmenter_options``) for ``teacher_arch="baseline"``."""
        if self.teacher_arch == "baseline":
            return dict(self.segmenter_options)
        return self.segmenter_overrides()

    def feature_dim(self) -> int:
        """d: width of each stage's features (MS-TCN/ASFormer ``num_f_maps``, FACT ``f_dim``)."""
        if self.segmenter == "fact":
            from relate.data.registry import recipe_dataset
            from relate.segmenters.fact import CONFIGS

            dataset = recipe_dataset(self.dataset)
            if dataset not in CONFIGS:
                raise KeyError(f"no FACT config for {self.dataset!r}; known: {', '.join(CONFIGS)}")
            return int(self.segmenter_options.get("f_dim", CONFIGS[dataset].f_dim))
        return int(self.segmenter_options.get("num_f_maps", 64))

    def fusion_kwargs(self) -> dict[str, Any]:
        """Keyword options for ``build_fusion``."""
        if self.fusion == "naive":
            return {}
        kw: dict[str, Any] = {"trunk": self.trunk}
        if self.fusion == "aft":
            kw["aga"] = self.aga
        kw.update(self.fusion_options)
        return kw

    @classmethod
    def from_options(
        cls, segmenter: str, dataset: str, num_classes: int, **options: Any
    ) -> RelateSpec:
        """Spec from CLI-style ``key=value`` options (values may be strings).

        ``fusion.<key>=v`` goes to ``fusion_options`` and ``segmenter.<key>=v`` to
        ``segmenter_options``; string values are parsed as Python literals where possible
        (``3`` -> int, ``0.5`` -> float, ``True``), else kept as strings.
        """
        known = [
            f.name
            for f in dataclasses.fields(cls)
            if f.name
            not in ("segmenter", "dataset", "num_classes", "fusion_options", "segmenter_options")
        ]
        kwargs: dict[str, Any] = {}
        fusion_options: dict[str, Any] = {}
        segmenter_options: dict[str, Any] = {}
        for key, value in options.items():
            value = _parse(value)
            if key.startswith("fusion."):
                fusion_options[key[len("fusion.") :]] = value
            elif key.startswith("segmenter."):
                segmenter_options[key[len("segmenter.") :]] = value
            elif key in known:
                kwargs[key] = value
            else:
                raise ValueError(
                    f"unknown RELATE option {key!r}; known: {', '.join(known)}, "
                    "fusion.<option>, segmenter.<option>"
                )
        if "anchor_stage" in kwargs and kwargs["anchor_stage"] != "last":
            kwargs["anchor_stage"] = _as_int("anchor_stage", kwargs["anchor_stage"])
        for name in ("depth", "num_layers", "in_dim", "bridge_hidden"):
            if name in kwargs and kwargs[name] is not None:
                kwargs[name] = _as_int(name, kwargs[name])
        for name in ("gamma", "temperature", "bridge_weight"):
            if name in kwargs:
                try:
                    kwargs[name] = float(kwargs[name])
                except (TypeError, ValueError):
                    raise ValueError(f"{name} must be a number, got {kwargs[name]!r}") from None
        return cls(
            segmenter,
            dataset,
            int(num_classes),
            fusion_options=fusion_options,
            segmenter_options=segmenter_options,
            **kwargs,
        )


def _parse(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return value


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
