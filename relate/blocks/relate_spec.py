"""The RELATE spec: everything that defines a RELATE model, with the release's defaults
(docs/relate_model.md; D-numbers are sections of docs/decisions.md), and its ``key=value``
options. :mod:`relate.blocks.relate_model` builds the model from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relate import segmenters
from relate.blocks.distill.settings import DistillSettings, check_option_knobs, spec_settings
from relate.blocks.distill.table import CMKD_GAMMA, KD_TEMPERATURE, NESTED_PREFIX, relate_losses
from relate.blocks.fusion import FUSIONS
from relate.blocks.spec_options import as_float, as_int, split_options

SEGMENTER_NAMES: tuple[str, ...] = tuple(segmenters.SEGMENTERS)
"""The segmenters of the table at import (validation reads the live table)."""
AGAS: tuple[str, ...] = ("both", "rgb", "flow", "none")
TRUNK_NAMES: tuple[str, ...] = ("release", "paper")
BRIDGES: tuple[str, ...] = ("none", "pretrained", "joint")
TEACHER_ARCHS: tuple[str, ...] = ("same_as_branch", "baseline")
BRIDGE_PADDINGS: tuple[str, ...] = ("exclude", "include")
_NOT_OPTIONS = (
    "segmenter", "dataset", "num_classes", "fusion_options", "segmenter_options",
    "distill_options",
)  # fmt: skip
_PREFIXES = ("fusion.", "segmenter.", NESTED_PREFIX)
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
        depth: stages per segmenter (release 3), mapped to build keywords by the segmenter's
            table entry (MS-TCN ``num_stages``; ASFormer encoder + ``depth - 1`` decoders;
            FACT blocks ``"i" + "u" * (depth - 2) + "U"``).
        num_layers: layers per stage (None = the segmenter's default, 10 for MS-TCN/ASFormer;
            FACT: ``f_layers`` and ``u_f_layers``).
        distill: CMKD loss, one of the loss table's RELATE losses: ``kd`` (logits, every
            stage), ``rkd`` / ``gcr`` (last-stage features).
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
        kd_reduction, kd_tau2, kd_stages, rkd_loss, gcr_matrix: the CMKD loss's knobs that
            have option names of their own (:mod:`relate.blocks.distill.table`; D9, D10).
        teacher_arch: ``same_as_branch`` (release: the teacher has the flow branch's depth,
            stages paired by index) or ``baseline`` (the segmenter's official depth, stages
            paired from the last; D8).
        in_dim: input width (RGB I3D rows, 1024).
        fusion_options: extra keyword options for ``build_fusion`` (window, variant, ...).
        segmenter_options: extra keyword overrides for ``segmenters.build``.
        distill_options: the CMKD loss's other knobs (``distill.<knob>`` options).
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
    distill_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("segmenter", self.segmenter, tuple(segmenters.SEGMENTERS))
        _choice("distill", self.distill, relate_losses())
        _choice("aga", self.aga, AGAS)
        _choice("fusion", self.fusion, tuple(FUSIONS))
        _choice("trunk", self.trunk, TRUNK_NAMES)
        _choice("bridge", self.bridge, BRIDGES)
        _choice("teacher_arch", self.teacher_arch, TEACHER_ARCHS)
        _choice("bridge_mse_padding", self.bridge_mse_padding, BRIDGE_PADDINGS)
        object.__setattr__(self, "distill_options", dict(self.distill_options))
        check_option_knobs(self)
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
        entry = segmenters.entry(self.segmenter)
        if self.depth < entry.stages.min_depth:
            raise ValueError(
                f"{entry.title} RELATE needs depth >= {entry.stages.min_depth}, got {self.depth}"
            )
        # frozen dataclass: store plain-dict copies so callers' dicts cannot change the spec
        object.__setattr__(self, "fusion_options", dict(self.fusion_options))
        object.__setattr__(self, "segmenter_options", dict(self.segmenter_options))

    # ------------------------------------------------------------------ derived settings
    def segmenter_overrides(self) -> dict[str, Any]:
        """Keyword overrides for ``segmenters.build`` that give ``depth`` and ``num_layers``."""
        entry = segmenters.entry(self.segmenter)
        over = entry.depth_overrides(self.depth, self.num_layers)
        # the release's own settings (ASFormer: channel_mask_rate 0.3, D12) unless
        # segmenter.<k> options set them
        over.update(
            {k: v for k, v in entry.relate_overrides.items() if k not in self.segmenter_options}
        )
        clash = set(over) & set(self.segmenter_options)
        if clash:
            raise ValueError(f"set {sorted(clash)} through depth/num_layers, not segmenter_options")
        over.update(self.segmenter_options)
        return over

    def distill_settings(self) -> DistillSettings:
        """The CMKD loss this spec asks for (raises ValueError on an invalid option)."""
        pairing = "last_aligned" if self.teacher_arch == "baseline" else "same_index"
        return spec_settings(self, self.distill, pairing)

    def teacher_overrides(self) -> dict[str, Any]:
        """``segmenters.build`` overrides of the teacher: the flow branch's, or only the
        width options (``segmenter_options``) for ``teacher_arch="baseline"``."""
        if self.teacher_arch == "baseline":
            return dict(self.segmenter_options)
        return self.segmenter_overrides()

    def feature_dim(self) -> int:
        """d: width of each stage's features (MS-TCN/ASFormer ``num_f_maps``, FACT ``f_dim``)."""
        entry = segmenters.entry(self.segmenter)
        return entry.feature_width(self.dataset, **self.segmenter_options)

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

        ``fusion.<key>=v`` goes to ``fusion_options``, ``segmenter.<key>=v`` to
        ``segmenter_options``, ``distill.<key>=v`` to ``distill_options``; string values are
        parsed as Python literals where possible (``3`` -> int, ``0.5`` -> float, ``True``),
        else kept as strings.
        """
        fields = [f.name for f in dataclasses.fields(cls) if f.name not in _NOT_OPTIONS]
        kwargs, nested = split_options(
            options, fields, _PREFIXES, unknown="unknown RELATE option {key!r}"
        )
        if "anchor_stage" in kwargs and kwargs["anchor_stage"] != "last":
            kwargs["anchor_stage"] = as_int("anchor_stage", kwargs["anchor_stage"])
        for name in ("depth", "num_layers", "in_dim", "bridge_hidden"):
            if name in kwargs and kwargs[name] is not None:
                kwargs[name] = as_int(name, kwargs[name])
        for name in ("gamma", "temperature", "bridge_weight"):
            if name in kwargs:
                kwargs[name] = as_float(name, kwargs[name])
        return cls(
            segmenter,
            dataset,
            int(num_classes),
            fusion_options=nested["fusion."],
            segmenter_options=nested["segmenter."],
            distill_options=nested[NESTED_PREFIX],
            **kwargs,
        )
