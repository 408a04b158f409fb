"""ASFormer (Yi, Wen & Jiang, BMVC 2021), written from the facts of the official code.

References: ChinaYi/ASFormer @ e1bbe4f (MIT), ``model.py`` L14-15 (alpha), L23-44 (masked
attention), L46-170 (attention layer, window mask), L214-229 (AttModule), L251-318
(encoder, decoders), L333-354 (loss, optimiser); ``main.py`` (settings). Summarised in
docs/segmenters.md. No upstream code is copied.

Window mask (``window_mask``): every layer cuts the T frames into blocks of ``bl`` queries and
lets each block attend to the block extended by ``bl // 2`` frames on each side, i.e. a key
window of width ``W = bl + 2 * (bl // 2)``. Within that (bl, W) block, query row i was meant
to see key columns ``i .. i + bl - 1`` ("sliding": a width-bl window around the query, the
frames ``t - bl//2 .. t + bl - 1 - bl//2`` of query frame t). The released mask builder sets
those columns for *every* row at step i instead of only row i, so the released mask is the
union of the columns ``0 .. 2 bl - 2`` on every row ("released"): all ones except the last
column when bl is even (bl = 2, 4, ..., 512), all ones when bl is odd (bl = 1 here). The
released mask is the default because the published numbers and checkpoints use it.

Shape legend: B batch, D input feature dim, T frames, C classes, F feature maps (64),
nb blocks, bl block length, W key-window width.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from relate.data.registry import get_dataset, segmenter_settings
from relate.segmenters.base import Segmenter, SegmenterOutput, full_mask
from relate.segmenters.losses import segmentation_loss
from relate.segmenters.training_defaults import TrainingDefaults

WINDOW_MASKS = ("released", "sliding")
"""``released``: the official (buggy) block mask; ``sliding``: the intended per-query window."""

LOG_EPS = 1e-6
"""Masked keys get ``log(0 + 1e-6)`` added to their score, as upstream."""


def build_window_mask(block_len: int, kind: str = "released") -> torch.Tensor:
    """The (bl, W) query-by-key mask of one block, W = bl + 2 * (bl // 2)."""
    if kind not in WINDOW_MASKS:
        raise ValueError(f"unknown window_mask {kind!r}; known: {', '.join(WINDOW_MASKS)}")
    width = block_len + 2 * (block_len // 2)
    rows = torch.arange(block_len).unsqueeze(1)  # (bl, 1)
    cols = torch.arange(width).unsqueeze(0)  # (1, W)
    if kind == "sliding":
        keep = (cols >= rows) & (cols < rows + block_len)  # row i sees columns i .. i+bl-1
    else:
        keep = (cols < 2 * block_len - 1).expand(block_len, width)  # union over all rows
    return keep.float()


def instance_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-channel normalisation over time, no affine, no running stats (as upstream's
    ``InstanceNorm1d``), written out so that T = 1 gives zeros instead of an error."""
    mean = x.mean(dim=-1, keepdim=True)
    var = x.var(dim=-1, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


class WindowAttention(nn.Module):
    """Single-head block-wise local attention with block length ``block_len``.

    Queries and keys come from ``x``; values from ``value_source`` (decoder) or ``x``
    (encoder). Memory is O(T x W), never T x T.
    """

    def __init__(self, channels: int, r1: int, r2: int, block_len: int, window_mask: str) -> None:
        super().__init__()
        self.query_conv = nn.Conv1d(channels, channels // r1, 1)
        self.key_conv = nn.Conv1d(channels, channels // r1, 1)
        self.value_conv = nn.Conv1d(channels, channels // r2, 1)
        self.conv_out = nn.Conv1d(channels // r2, channels, 1)
        self.block_len = block_len
        self.register_buffer("window", build_window_mask(block_len, window_mask), persistent=False)

    def forward(
        self, x: torch.Tensor, value_source: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        """x, value_source: (B, F, T); mask: (B, 1, T). Returns (B, F, T)."""
        q, k = self.query_conv(x), self.key_conv(x)
        v = self.value_conv(x if value_source is None else value_source)
        batch, dim_qk, length = q.shape
        bl, half = self.block_len, self.block_len // 2
        nb = -(-length // bl)  # ceil
        tail = nb * bl - length  # zero frames appended to fill the last block
        width = bl + 2 * half

        q = F.pad(q, (0, tail)).reshape(batch, dim_qk, nb, bl)  # (B, c, nb, bl)
        # keys/values/mask: pad half a block each side, then one overlapping window per block
        k = F.pad(k, (half, tail + half)).unfold(-1, width, bl)  # (B, c, nb, W)
        v = F.pad(v, (half, tail + half)).unfold(-1, width, bl)  # (B, c_v, nb, W)
        key_mask = F.pad(mask, (half, tail + half)).unfold(-1, width, bl)  # (B, 1, nb, W)
        final_mask = self.window.to(q.dtype) * key_mask[:, 0, :, None, :]  # (B, nb, bl, W)

        scores = torch.einsum("bcnq,bcnk->bnqk", q, k) / math.sqrt(dim_qk)  # (B, nb, bl, W)
        scores = scores + torch.log(final_mask + LOG_EPS)
        attn = torch.softmax(scores, dim=-1) * final_mask
        out = torch.einsum("bnqk,bcnk->bcnq", attn, v)  # (B, c_v, nb, bl)
        out = out.reshape(batch, -1, nb * bl)[:, :, :length]  # (B, c_v, T)
        return self.conv_out(F.relu(out)) * mask


class AttModule(nn.Module):
    """Dilated conv + ReLU; alpha x attention on the instance-normalised result, added back;
    1x1 conv; dropout; residual add; times the mask."""

    def __init__(
        self, dilation: int, channels: int, r1: int, r2: int, alpha: float, window_mask: str
    ) -> None:
        super().__init__()
        self.feed_forward = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.att_layer = WindowAttention(channels, r1, r2, dilation, window_mask)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(0.5)
        self.alpha = alpha

    def forward(
        self, x: torch.Tensor, value_source: torch.Tensor | None, mask: torch.Tensor
    ) -> torch.Tensor:
        """x, value_source: (B, F, T); mask: (B, 1, T). Returns (B, F, T)."""
        out = F.relu(self.feed_forward(x))
        out = self.alpha * self.att_layer(instance_norm(out), value_source, mask) + out
        out = self.dropout(self.conv_1x1(out))
        return (x + out) * mask


class Block(nn.Module):
    """Encoder (values from itself) or decoder (values from the previous block's features):
    1x1 conv in, ``num_layers`` AttModules with dilation and block length 2^i, 1x1 classifier."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        num_layers: int,
        num_f_maps: int,
        r1: int,
        r2: int,
        alpha: float,
        window_mask: str,
    ) -> None:
        super().__init__()
        self.conv_1x1 = nn.Conv1d(in_dim, num_f_maps, 1)
        self.layers = nn.ModuleList(
            AttModule(2**i, num_f_maps, r1, r2, alpha, window_mask) for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(
        self, x: torch.Tensor, value_source: torch.Tensor | None, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, D_in, T). Returns logits (B, C, T) and last-layer features (B, F, T)."""
        feature = self.conv_1x1(x)
        for layer in self.layers:
            feature = layer(feature, value_source, mask)
        return self.conv_out(feature) * mask, feature


class ASFormer(Segmenter):
    """Encoder + ``num_decoders`` decoders. ``features[s]`` is block s's last AttModule output
    (64-d, before its classifier); block 0 is the encoder."""

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        num_decoders: int = 3,
        num_layers: int = 10,
        num_f_maps: int = 64,
        r1: int = 2,
        r2: int = 2,
        channel_mask_rate: float = 0.3,
        window_mask: str = "released",
    ) -> None:
        super().__init__()
        if num_decoders < 0 or num_layers < 1:
            raise ValueError(
                f"need num_decoders >= 0 and num_layers >= 1, got {num_decoders}, {num_layers}"
            )
        build_window_mask(1, window_mask)  # validates the name
        self.num_classes = num_classes
        self.window_mask = window_mask
        self.channel_mask_rate = channel_mask_rate
        self.channel_dropout = nn.Dropout2d(p=channel_mask_rate)
        args = (num_layers, num_f_maps, r1, r2)
        self.encoder = Block(in_dim, num_classes, *args, alpha=1.0, window_mask=window_mask)
        self.decoders = nn.ModuleList(
            Block(num_classes, num_classes, *args, alpha=math.exp(-3 * s), window_mask=window_mask)
            for s in range(num_decoders)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x: (B, D, T); mask: (B, 1, T) or None. Returns 1 + num_decoders logits (B, C, T)
        and features (B, F, T)."""
        mask = full_mask(x, mask)
        if self.channel_mask_rate > 0:
            # drop whole input channels over all frames: Dropout2d on the (B, D, 1, T) view
            x = self.channel_dropout(x.unsqueeze(2)).squeeze(2)
        out, feature = self.encoder(x, None, mask)
        logits, features = [out], [feature]
        for decoder in self.decoders:
            out, feature = decoder(F.softmax(out, dim=1) * mask, feature * mask, mask)
            logits.append(out)
            features.append(feature)
        return SegmenterOutput(logits=logits, features=features)

    def loss(
        self, output: SegmenterOutput, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """CE + 0.15 x truncated smoothing, summed over all blocks (see ``losses``)."""
        return segmentation_loss(output.logits, target, mask)


CHANNEL_MASK_RATE = 0.3
"""The official input channel masking rate, unless the dataset's row says otherwise."""
LR = 5e-4
"""The official learning rate, unless the dataset's row says otherwise."""
NUM_F_MAPS = 64
"""F, the official width of every block."""


def default_channel_mask_rate(dataset: str) -> float:
    """The dataset's ``channel_mask_rate`` (registry; GTEA and synthetic: 0.5), else 0.3; a
    synthetic stand-in takes its paper dataset's."""
    return float(
        segmenter_settings("asformer", dataset).get("channel_mask_rate", CHANNEL_MASK_RATE)
    )


def build_asformer(
    in_dim: int,
    num_classes: int,
    dataset: str,
    num_decoders: int = 3,
    num_layers: int = 10,
    num_f_maps: int = NUM_F_MAPS,
    r1: int = 2,
    r2: int = 2,
    channel_mask_rate: float | None = None,
    window_mask: str = "released",
) -> ASFormer:
    """ASFormer with the official settings of ``dataset``; RELATE's 3 blocks: num_decoders=2."""
    if channel_mask_rate is None:
        channel_mask_rate = default_channel_mask_rate(dataset)
    else:
        get_dataset(dataset)
    return ASFormer(
        in_dim,
        num_classes,
        num_decoders,
        num_layers,
        num_f_maps,
        r1,
        r2,
        channel_mask_rate,
        window_mask,
    )


def training_defaults(dataset: str) -> TrainingDefaults:
    """Adam lr 5e-4 (the dataset's ``lr``: 1e-4 on Breakfast), wd 1e-5, batch 1, 120 epochs,
    ReduceLROnPlateau(0.5, patience 3) on the summed epoch loss (§4.1, §4.3)."""
    lr = float(segmenter_settings("asformer", dataset).get("lr", LR))
    return TrainingDefaults(
        epochs=120,
        lr=lr,
        weight_decay=1e-5,
        batch_size=1,
        scheduler="plateau",
        plateau_factor=0.5,
        plateau_patience=3,
    )


def feature_width(dataset: str, **overrides: Any) -> int:
    """F of every block's features: ``num_f_maps`` (64)."""
    return int(overrides.get("num_f_maps", NUM_F_MAPS))
