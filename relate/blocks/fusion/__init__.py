"""RELATE's fusion of the RGB and flow branches (paper Sec. 3.2; docs/fusion.md)."""

from __future__ import annotations

from relate.blocks.fusion.action_gated_attention import (
    ActionGatedAttention,
    Segments,
    action_anchors,
    action_gate,
    anchor_labels,
    gate_logits,
    masked_instance_norm,
    segment_means,
    segments_from_labels,
)
from relate.blocks.fusion.baselines import (
    FUSIONS,
    AnchorCrossAttentionFusion,
    CrossModalAttentionFusion,
    LocalAttentiveFusion,
    NaiveFusion,
    SelfAttentionFusion,
    build_fusion,
)
from relate.blocks.fusion.trunk import (
    AlignmentFusion,
    FusionTrunk,
    ModulatedFusion,
    release_aft_parameters,
)

__all__ = [
    "FUSIONS",
    "ActionGatedAttention",
    "AlignmentFusion",
    "AnchorCrossAttentionFusion",
    "CrossModalAttentionFusion",
    "FusionTrunk",
    "LocalAttentiveFusion",
    "ModulatedFusion",
    "NaiveFusion",
    "SelfAttentionFusion",
    "build_fusion",
    "release_aft_parameters",
    "Segments",
    "action_anchors",
    "action_gate",
    "anchor_labels",
    "gate_logits",
    "masked_instance_norm",
    "segment_means",
    "segments_from_labels",
]
