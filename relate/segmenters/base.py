"""The interface every segmenter implements (MS-TCN, ASFormer, FACT).

Shape legend: B batch (always 1 in the official recipes), D input feature dim, T frames,
C classes, F per-stage feature width, S stages (FACT: blocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


def full_mask(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """(B, 1, T) mask in ``x``'s dtype; None means every frame of ``x`` (B, *, T) is valid."""
    if mask is None:
        return x.new_ones(x.shape[0], 1, x.shape[-1])
    return mask[:, 0:1, :].to(x.dtype)


@dataclass
class SegmenterOutput:
    """What a forward pass returns.

    Attributes:
        logits: one (B, C, T) tensor per stage, in order; the last stage is the prediction
            head of MS-TCN/ASFormer.
        features: one (B, F, T) tensor per stage: the frame features of that stage's last
            layer (before its classifier), which RELATE's fusion consumes.
        extras: segmenter-specific tensors the loss or inference needs (FACT: token
            logits, attention maps, ...). Empty for MS-TCN and ASFormer.
    """

    logits: list[torch.Tensor]
    features: list[torch.Tensor]
    extras: dict[str, object] = field(default_factory=dict)


class Segmenter(nn.Module):
    """Base class. Subclasses implement ``forward``, ``loss`` and may override ``probabilities``."""

    num_classes: int

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x: (B, D, T) features; mask: (B, 1, T) with 1 on valid frames (None = all valid)."""
        raise NotImplementedError

    def loss(
        self, output: SegmenterOutput, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The official training loss. target: (B, T) class ids, -100 = ignore.

        Returns named terms; ``"total"`` is what is back-propagated.
        """
        raise NotImplementedError

    def probabilities(self, output: SegmenterOutput) -> torch.Tensor:
        """(B, C, T) frame probabilities of the final prediction (default: softmax of the
        last stage's logits; FACT mixes token and frame predictions)."""
        return torch.softmax(output.logits[-1], dim=1)
