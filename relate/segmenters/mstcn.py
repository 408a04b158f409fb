"""MS-TCN (Farha & Gall, CVPR 2019), written from the facts of the official code.

References: yabufarha/ms-tcn @ 33ed91c (MIT + Commons Clause), ``model.py`` L11-52
(architecture), L58-59 and L76-79 (loss), ``main.py`` L25-31 (settings); summarised in
docs/segmenters.md. No upstream code is copied.

Shape legend: B batch, D input feature dim, T frames, C classes, F feature maps (64),
S stages.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from relate.data.registry import get_dataset
from relate.segmenters.base import Segmenter, SegmenterOutput, full_mask
from relate.segmenters.losses import segmentation_loss
from relate.segmenters.training_defaults import TrainingDefaults

NUM_F_MAPS = 64
"""F, the official width of every stage."""


class DilatedResidualLayer(nn.Module):
    """Kernel-3 dilated conv, ReLU, 1x1 conv, dropout, residual add, times the mask."""

    def __init__(self, dilation: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: (B, F, T); mask: (B, 1, T). Returns (B, F, T)."""
        out = self.dropout(self.conv_1x1(F.relu(self.conv_dilated(x))))
        return (x + out) * mask


class SingleStage(nn.Module):
    """1x1 conv in, ``num_layers`` dilated residual layers (dilation 2^i), 1x1 classifier."""

    def __init__(
        self, num_layers: int, num_f_maps: int, in_dim: int, num_classes: int, dropout: float
    ) -> None:
        super().__init__()
        self.conv_1x1 = nn.Conv1d(in_dim, num_f_maps, 1)
        self.layers = nn.ModuleList(
            DilatedResidualLayer(2**i, num_f_maps, dropout) for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, D_in, T); mask: (B, 1, T). Returns logits (B, C, T) and features (B, F, T)."""
        feature = self.conv_1x1(x)  # not masked here, as upstream
        for layer in self.layers:
            feature = layer(feature, mask)
        return self.conv_out(feature) * mask, feature


class MSTCN(Segmenter):
    """Multi-stage TCN: stage 1 reads the features, each later stage refines
    softmax(previous logits) x mask. ``features[s]`` is stage s's last residual-layer output
    (64-d, before its classifier)."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        num_stages: int = 4,
        num_layers: int = 10,
        num_f_maps: int = 64,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        if num_stages < 1 or num_layers < 1:
            raise ValueError(
                f"need num_stages >= 1 and num_layers >= 1, got {num_stages}, {num_layers}"
            )
        self.num_classes = num_classes
        self.stage1 = SingleStage(num_layers, num_f_maps, in_dim, num_classes, dropout)
        self.stages = nn.ModuleList(
            SingleStage(num_layers, num_f_maps, num_classes, num_classes, dropout)
            for _ in range(num_stages - 1)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x: (B, D, T); mask: (B, 1, T) or None. Returns S logits (B, C, T) and S features
        (B, F, T)."""
        mask = full_mask(x, mask)
        out, feature = self.stage1(x, mask)
        logits, features = [out], [feature]
        for stage in self.stages:
            out, feature = stage(F.softmax(out, dim=1) * mask, mask)
            logits.append(out)
            features.append(feature)
        return SegmenterOutput(logits=logits, features=features)

    def loss(
        self, output: SegmenterOutput, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """CE + 0.15 x truncated smoothing, summed over all stages (see ``losses``)."""
        return segmentation_loss(output.logits, target, mask)


def build_mstcn(
    in_dim: int,
    num_classes: int,
    dataset: str,
    num_stages: int = 4,
    num_layers: int = 10,
    num_f_maps: int = NUM_F_MAPS,
    dropout: float = 0.5,
) -> MSTCN:
    """MS-TCN with the official settings (identical on every dataset)."""
    get_dataset(dataset)  # validates the name; MS-TCN has no per-dataset architecture settings
    return MSTCN(in_dim, num_classes, num_stages, num_layers, num_f_maps, dropout)


def training_defaults(dataset: str) -> TrainingDefaults:
    """Adam lr 5e-4, no weight decay, batch 1, 50 epochs, no schedule, every dataset (§3.3)."""
    get_dataset(dataset)
    return TrainingDefaults(epochs=50, lr=5e-4, weight_decay=0.0, batch_size=1, scheduler="none")


def feature_width(dataset: str, **overrides: Any) -> int:
    """F of every stage's features: ``num_f_maps`` (64)."""
    return int(overrides.get("num_f_maps", NUM_F_MAPS))
