"""RELATE's fusion of the RGB and flow branches (paper Sec. 3.2; docs/fusion.md)."""

from __future__ import annotations

from relate.fusion.action_gated_attention import (
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

__all__ = [
    "ActionGatedAttention",
    "Segments",
    "action_anchors",
    "action_gate",
    "anchor_labels",
    "gate_logits",
    "masked_instance_norm",
    "segment_means",
    "segments_from_labels",
]
