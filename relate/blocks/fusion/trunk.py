"""RELATE's alignment fusion transformer (AFT): AGA per modality, then the fusion trunk.

Written from the paper (Sec. 3.2) and the authors' release, Hsj303/RELATE @ c2a977f
``relate/alignment_fusion.py`` L58-119, whose departures from the paper are D4, D5, D6, D17
and D18 of docs/decisions.md. No upstream code is copied.

Shape legend: B batch, d branch feature width (64), T frames. Channels-first: (B, d, T).

``trunk="release"`` (default), exactly as released (§2.3), d = 64:

    Z_m -> InstanceNorm (per modality) -> AGA -> concat (2d) -> InstanceNorm(2d)
        -> one ASFormer window-attention layer (q/k/v 2d -> d, block 32, ReLU, 1x1 d -> 2d)
        -> 1x1 conv 2d -> d                      (no FFN, no residual, no dropout)

    parameters 16 d^2 + 12 d = 66,304 (AGA 24,960; attention 33,088; projection 8,256).

``trunk="paper"`` (the ``paper_literal`` reading of D4-D6): no per-modality norm, AGA,
concat, LayerNorm(2d), global single-head self-attention through
``torch.nn.functional.scaled_dot_product_attention`` (no T x T tensor held here), an FFN
(2d -> 4d -> 2d, ReLU, residual), projection 2d -> d; 132,480 parameters at d = 64.

Every step is also a separate option (``input_norm``, ``norm``, ``attention``, ``ffn``, ...);
``None`` takes the preset's value. Padded frames are left out of every norm and attention
and are 0 in the output (the release ignores the mask, §8 item 18).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from relate.blocks.fusion.action_gated_attention import ActionGatedAttention, masked_instance_norm
from relate.segmenters.asformer import WindowAttention
from relate.segmenters.base import full_mask

TRUNKS: dict[str, dict[str, object]] = {
    "release": dict(input_norm="instance", norm="instance", attention="window", ffn="none"),
    "paper": dict(input_norm="none", norm="layer", attention="global", ffn="mlp"),
}
AGA_MODES: tuple[str, ...] = ("both", "rgb", "flow", "none")
PASSTHROUGHS: tuple[str, ...] = ("value", "identity")
_CHOICES: dict[str, tuple[str, ...]] = {
    "input_norm": ("instance", "layer", "none"),
    "norm": ("instance", "layer"),
    "attention": ("window", "global"),
    "ffn": ("none", "mlp"),
    "window_mask": ("released", "sliding"),
}


def _check(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


class ChannelNorm(nn.Module):
    """Masked InstanceNorm over time (``"instance"``: per channel, no affine), LayerNorm over
    channels per frame (``"layer"``, affine) or identity (``"none"``). (B, C, T) -> (B, C, T),
    0 on padded frames."""

    def __init__(self, kind: str, channels: int) -> None:
        super().__init__()
        _check("norm", kind, _CHOICES["input_norm"])
        self.kind = kind
        self.layer = nn.LayerNorm(channels) if kind == "layer" else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "instance":
            return masked_instance_norm(x, mask)
        if self.layer is not None:
            x = self.layer(x.transpose(1, 2)).transpose(1, 2)
        return x * mask

    def extra_repr(self) -> str:
        return f"kind={self.kind}"


def masked_sdpa(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Single-head global attention over time with padded keys left out.

    q, k: (B, c, T); v: (B, c_v, T); mask: (B, 1, T). Returns (B, c_v, T). Runs through
    ``F.scaled_dot_product_attention`` (scale 1/sqrt(c)); this code holds no T x T tensor.
    """
    valid = mask[:, 0, :] != 0  # (B, T)
    valid = valid | ~valid.any(dim=1, keepdim=True)  # an all-padded video: avoid NaN rows
    attn_mask = None if bool(valid.all()) else valid[:, None, None, :]  # (B, 1, 1, T)
    out = F.scaled_dot_product_attention(
        q.transpose(1, 2).unsqueeze(1),
        k.transpose(1, 2).unsqueeze(1),
        v.transpose(1, 2).unsqueeze(1),
        attn_mask=attn_mask,
    )  # (B, 1, T, c_v)
    return out.squeeze(1).transpose(1, 2)


class GlobalAttention(nn.Module):
    """The window layer's shape with full-sequence attention (D5, ``fusion.attention=global``):
    q/k/v 1x1 C -> C/r, masked SDPA, ReLU, 1x1 C/r -> C, times the mask. (B, C, T) -> same."""

    def __init__(self, channels: int, r1: int = 2, r2: int = 2) -> None:
        super().__init__()
        self.query_conv = nn.Conv1d(channels, channels // r1, 1)
        self.key_conv = nn.Conv1d(channels, channels // r1, 1)
        self.value_conv = nn.Conv1d(channels, channels // r2, 1)
        self.conv_out = nn.Conv1d(channels // r2, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = masked_sdpa(self.query_conv(x), self.key_conv(x), self.value_conv(x), mask)
        return self.conv_out(F.relu(out)) * mask


class FeedForward(nn.Module):
    """D6, ``fusion.ffn=mlp``: x + W2 ReLU(W1 x), 1x1 convs C -> 2C -> C, times the mask."""

    def __init__(self, channels: int, expansion: int = 2) -> None:
        super().__init__()
        self.inner = nn.Conv1d(channels, expansion * channels, 1)
        self.outer = nn.Conv1d(expansion * channels, channels, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x + self.outer(F.relu(self.inner(x)))) * mask


class FusionTrunk(nn.Module):
    """What follows the per-modality modulation: concat (2d) -> norm -> attention -> FFN ->
    1x1 projection 2d -> d_out. Shared by the AFT and the attentive Table 3 rows.

    Args:
        dim: d per modality; the concat has 2d channels.
        out_dim: d_out (default d: the joint segmenter's 64-d input).
        norm: ``"instance"`` (release) or ``"layer"`` (paper), applied after the concat.
        attention: ``"window"`` (one ASFormer ``WindowAttention``, single head, r = 2) or
            ``"global"`` (``GlobalAttention``).
        window, window_mask: block length and mask (``"released"`` = ASFormer's all-ones
            quirk, D5; ``"sliding"`` = the intended sliding window).
        ffn: ``"none"`` (release) or ``"mlp"`` (paper; 2d -> 4d -> 2d with a residual).
    """

    def __init__(
        self,
        dim: int = 64,
        out_dim: int | None = None,
        *,
        norm: str = "instance",
        attention: str = "window",
        window: int = 32,
        window_mask: str = "released",
        ffn: str = "none",
    ) -> None:
        super().__init__()
        for name, value in (
            ("norm", norm),
            ("attention", attention),
            ("ffn", ffn),
            ("window_mask", window_mask),
        ):
            _check(name, value, _CHOICES[name])
        width = 2 * dim
        self.attention_kind = attention
        self.norm = ChannelNorm(norm, width)
        self.attention: nn.Module = (
            WindowAttention(width, 2, 2, window, window_mask)
            if attention == "window"
            else GlobalAttention(width)
        )
        self.ffn = FeedForward(width) if ffn == "mlp" else None
        self.projection = nn.Conv1d(width, out_dim or dim, 1)

    def forward(
        self, z_rgb: torch.Tensor, z_flow: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """z_rgb, z_flow: (B, d, T) modulated features; mask (B, 1, T). Returns (B, d_out, T)."""
        x = self.norm(torch.cat([z_rgb, z_flow], dim=1), mask)  # (B, 2d, T)
        if self.attention_kind == "window":
            x = self.attention(x, None, mask)
        else:
            x = self.attention(x, mask)
        if self.ffn is not None:
            x = self.ffn(x, mask)
        return self.projection(x) * mask


class ModulatedFusion(nn.Module):
    """Two-stream fusion: per-modality norm -> ``modulate`` -> ``FusionTrunk``. Subclasses
    (AFT here, SA/CA/LAF in ``baselines``) define ``modulate``.

    ``forward(z_rgb, z_flow, labels_rgb, labels_flow, mask)``: features (B, d, T), anchor
    labels (B, T) per modality (``anchor_labels``; ignored by fusions without anchors), mask
    (B, 1, T) or None. Returns (B, d_out, T), 0 on padded frames.
    """

    def __init__(
        self,
        dim: int = 64,
        out_dim: int | None = None,
        *,
        trunk: Literal["release", "paper"] = "release",
        input_norm: str | None = None,
        norm: str | None = None,
        attention: str | None = None,
        window: int = 32,
        window_mask: str = "released",
        ffn: str | None = None,
    ) -> None:
        super().__init__()
        _check("trunk", trunk, tuple(TRUNKS))
        preset = TRUNKS[trunk]
        self.dim, self.trunk_name = dim, trunk
        self.out_dim = out_dim or dim
        input_norm = str(preset["input_norm"]) if input_norm is None else input_norm
        self.input_norm = nn.ModuleList(ChannelNorm(input_norm, dim) for _ in range(2))
        self.trunk = FusionTrunk(
            dim,
            out_dim,
            norm=str(preset["norm"]) if norm is None else norm,
            attention=str(preset["attention"]) if attention is None else attention,
            window=window,
            window_mask=window_mask,
            ffn=str(preset["ffn"]) if ffn is None else ffn,
        )

    def modulate(
        self,
        z_rgb: torch.Tensor,
        z_flow: torch.Tensor,
        labels_rgb: torch.Tensor | None,
        labels_flow: torch.Tensor | None,
        mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The two (B, d, T) modulated features Z~_RGB, Z~_OF from the normalised inputs."""
        raise NotImplementedError

    def forward(
        self,
        z_rgb: torch.Tensor,
        z_flow: torch.Tensor,
        labels_rgb: torch.Tensor | None = None,
        labels_flow: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if z_rgb.shape != z_flow.shape or z_rgb.dim() != 3 or z_rgb.shape[1] != self.dim:
            raise ValueError(
                f"features must both be (B, {self.dim}, T), got {tuple(z_rgb.shape)} "
                f"and {tuple(z_flow.shape)}"
            )
        mask = full_mask(z_rgb, mask)
        z_rgb = self.input_norm[0](z_rgb, mask)
        z_flow = self.input_norm[1](z_flow, mask)
        z_rgb, z_flow = self.modulate(z_rgb, z_flow, labels_rgb, labels_flow, mask)
        return self.trunk(z_rgb * mask, z_flow * mask, mask)


class AlignmentFusion(ModulatedFusion):
    """The AFT: one ``ActionGatedAttention`` per modality, then the trunk (see module doc).

    Args (besides ``ModulatedFusion``'s):
        aga: which modalities are gated (Table 2): ``"both"`` (RELATE), ``"rgb"``, ``"flow"``
            or ``"none"`` (D17: the trunk is kept; ``fusion="naive"`` is the release concat).
        passthrough: what an un-gated modality sends to the concat (D18): ``"value"`` (its
            V projection, i.e. gate = 1; default) or ``"identity"`` (its normalised features;
            its AGA module is then not built).
        anchor: AGA's ``anchor`` option (``"sum_all"`` or ``"own_segment"``).
    """

    def __init__(
        self,
        dim: int = 64,
        out_dim: int | None = None,
        *,
        aga: Literal["both", "rgb", "flow", "none"] = "both",
        passthrough: Literal["value", "identity"] = "value",
        anchor: Literal["sum_all", "own_segment"] = "sum_all",
        **trunk_options: object,
    ) -> None:
        super().__init__(dim, out_dim, **trunk_options)  # type: ignore[arg-type]
        _check("aga", aga, AGA_MODES)
        _check("passthrough", passthrough, PASSTHROUGHS)
        self.aga_mode, self.passthrough = aga, passthrough
        self.gated = (aga in ("both", "rgb"), aga in ("both", "flow"))
        # the trunk normalises the inputs itself, so AGA's own input norm is off
        self.aga = nn.ModuleList(
            ActionGatedAttention(dim, anchor=anchor, input_norm="none")
            if gated or passthrough == "value"
            else nn.Identity()
            for gated in self.gated
        )

    def modulate(self, z_rgb, z_flow, labels_rgb, labels_flow, mask):  # type: ignore[override]
        out = []
        for z, labels, gated, aga in zip(
            (z_rgb, z_flow), (labels_rgb, labels_flow), self.gated, self.aga
        ):
            if gated:
                if labels is None:
                    raise ValueError("a gated modality needs its (B, T) anchor labels")
                out.append(aga(z, labels, mask))
            elif self.passthrough == "value":
                out.append(aga.v(z))
            else:
                out.append(z)
        return out[0], out[1]

    def extra_repr(self) -> str:
        return f"trunk={self.trunk_name}, aga={self.aga_mode}, passthrough={self.passthrough}"


def release_aft_parameters(dim: int = 64) -> int:
    """16 d^2 + 12 d: the released AFT's parameter count; 66,304 at 64 (docs/decisions.md)."""
    return 16 * dim * dim + 12 * dim
