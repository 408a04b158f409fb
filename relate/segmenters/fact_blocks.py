"""FACT building blocks: frame branches, token decoders, cross-branch attention, blocks.

References: Lu & Elhamifar, "FACT: Frame-Action Cross-Attention Temporal Modeling for
Efficient Action Segmentation", CVPR 2024; official code ZijiaLewisLu/CVPR2024-FACT at
dba2399511e6b1b9f8f4fa696641d9793714e775 (MIT), read for layer shapes only
(``models/basic.py``, ``models/blocks.py``). Written from scratch; see docs/fact.md.

Everything here works on ONE video (the official code processes videos one by one):
frame tensors are (T, H), token tensors (M, H), where M is the number of action tokens and
H a width. Segment tensors (TDU blocks) are (S, H).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from relate.segmenters.fact import FACTConfig


def add_pos(x: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
    """Add a positional term to the first ``pos.shape[-1]`` dims of ``x`` (N, H)."""
    if pos is None:
        return x
    return x + F.pad(pos, (0, x.shape[-1] - pos.shape[-1]))


def sinusoid(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """(length, dim) sine/cosine positional encoding (used only when ``fpos`` is on)."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device).float() * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return pe


def split_logits(x: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """FACT's output convention: the last ``n`` dims of ``x`` (N, H) are class logits.

    Returns (feature with those dims replaced by their softmax, the logits (N, n)).
    """
    logits = x[:, -n:]
    return torch.cat([x[:, :-n], torch.softmax(logits, dim=-1)], dim=-1), logits


# --------------------------------------------------------------------------------------
# Frame branches (one MS-TCN / MS-TCN++ stage), (T, in) -> (T, f_dim) features, (T, out)


class TCNStage(nn.Module):
    """MS-TCN single stage (FACT ``f: m``): optional 1x1 input map, ``layers`` dilated
    residual layers (kernel 3, dilation 2^i, ReLU, 1x1, dropout, residual, optional LN),
    1x1 output map to ``out_dim``. No mask (videos are processed unpadded)."""

    def __init__(
        self,
        in_dim: int,
        dim: int,
        out_dim: int,
        layers: int,
        dropout: float,
        in_map: bool,
        layer_norm: bool = False,
        groups: int = 1,
    ) -> None:
        super().__init__()
        if not in_map and in_dim != dim:
            raise ValueError(f"without an input map in_dim ({in_dim}) must equal dim ({dim})")
        self.in_map = nn.Conv1d(in_dim, dim, 1) if in_map else None
        self.dilated = nn.ModuleList(
            nn.Conv1d(dim, dim, 3, padding=2**i, dilation=2**i, groups=groups)
            for i in range(layers)
        )
        self.pointwise = nn.ModuleList(nn.Conv1d(dim, dim, 1) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers)) if layer_norm else None
        self.dropout = nn.Dropout(dropout)
        self.out_map = nn.Conv1d(dim, out_dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x.t().unsqueeze(0)  # (T, in) -> (1, in, T)
        if self.in_map is not None:
            h = self.in_map(h)
        for i, (dil, pw) in enumerate(zip(self.dilated, self.pointwise)):
            h = h + self.dropout(pw(F.relu(dil(h))))
            if self.norms is not None:
                h = self.norms[i](h.transpose(1, 2)).transpose(1, 2)
        out = self.out_map(h)
        return h[0].t(), out[0].t()  # (T, dim), (T, out_dim)


class TCN2Stage(nn.Module):
    """MS-TCN++ prediction-generation stage (FACT ``f: m2``): optional 1x1 input map, then per
    layer i two kernel-3 convs (dilations 2^(L-1-i) and 2^i), 1x1 fusion of their concat,
    ReLU, dropout (not after the last layer), residual; 1x1 output map."""

    def __init__(
        self,
        in_dim: int,
        dim: int,
        out_dim: int,
        layers: int,
        dropout: float,
        in_map: bool,
        groups: int = 1,
    ) -> None:
        super().__init__()
        if not in_map and in_dim != dim:
            raise ValueError(f"without an input map in_dim ({in_dim}) must equal dim ({dim})")
        self.in_map = nn.Conv1d(in_dim, dim, 1) if in_map else None
        d_down = [2 ** (layers - 1 - i) for i in range(layers)]
        d_up = [2**i for i in range(layers)]
        self.conv_a = nn.ModuleList(
            nn.Conv1d(dim, dim, 3, padding=d, dilation=d, groups=groups) for d in d_down
        )
        self.conv_b = nn.ModuleList(
            nn.Conv1d(dim, dim, 3, padding=d, dilation=d, groups=groups) for d in d_up
        )
        self.fusion = nn.ModuleList(nn.Conv1d(2 * dim, dim, 1) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.out_map = nn.Conv1d(dim, out_dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x.t().unsqueeze(0)  # (T, in) -> (1, in, T)
        if self.in_map is not None:
            h = self.in_map(h)
        last = len(self.fusion) - 1
        for i, (ca, cb, fu) in enumerate(zip(self.conv_a, self.conv_b, self.fusion)):
            g = F.relu(fu(torch.cat([ca(h), cb(h)], dim=1)))
            h = h + (self.dropout(g) if i != last else g)
        out = self.out_map(h)
        return h[0].t(), out[0].t()  # (T, dim), (T, out_dim)


# --------------------------------------------------------------------------------------
# Attention pieces


class CrossMap(nn.Module):
    """Single-head cross-branch attention (the official ``X2Y_map``): Y queries X.

    K and V are linear maps of X (K with X's positions added), Q a linear map of Y (with Y's
    positions added); the new Y is Linear(dropout(concat(Y, attended))) -> ``out_dim``.
    Returns the new Y and the attention logits (Ny, Nx) (softmax is over X).
    """

    def __init__(self, x_dim: int, y_dim: int, out_dim: int, head_dim: int, dropout: float):
        super().__init__()
        self.key = nn.Linear(x_dim, head_dim)
        self.value = nn.Linear(x_dim, head_dim)
        self.query = nn.Linear(y_dim, head_dim)
        self.out = nn.Linear(y_dim + head_dim, out_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        x_pos: torch.Tensor | None,
        y_pos: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.key(add_pos(x, x_pos))
        q = self.query(add_pos(y, y_pos))
        logits = q @ k.t() / math.sqrt(k.shape[-1])  # (Ny, Nx)
        attended = torch.softmax(logits, dim=-1) @ self.value(x)
        return self.out(self.dropout(torch.cat([y, attended], dim=-1))), logits


class _FFN(nn.Module):
    def __init__(self, dim: int, ffdim: int, dropout: float) -> None:
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(dim, ffdim), nn.Linear(ffdim, dim)
        self.drop_in, self.drop_out = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop_out(self.lin2(self.drop_in(F.relu(self.lin1(x)))))


class TokenSelfLayer(nn.Module):
    """Post-LN token self-attention layer (official ``SALayer``): MHA with positions added
    to Q and K, residual + LN, FFN, residual + LN."""

    def __init__(self, dim: int, nhead: int, ffdim: int, dropout: float) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, nhead, dropout=dropout)
        self.ffn = _FFN(dim, ffdim, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, tok: torch.Tensor, pos: torch.Tensor | None) -> torch.Tensor:
        qk = add_pos(tok, pos)
        tok = self.norm1(tok + self.drop(self.attn(qk, qk, tok, need_weights=False)[0]))
        return self.norm2(tok + self.ffn(tok))


class TokenDecoderLayer(nn.Module):
    """Post-LN decoder layer of the input block (official ``SCALayer``): token
    self-attention, cross-attention tokens -> frames (K = frames + positions, V = frames),
    FFN; each followed by residual + LN."""

    def __init__(self, dim: int, frame_dim: int, nhead: int, ffdim: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, nhead, dropout=dropout)
        self.cross_attn = nn.MultiheadAttention(
            dim, nhead, dropout=dropout, kdim=frame_dim, vdim=frame_dim
        )
        self.ffn = _FFN(dim, ffdim, dropout)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(
        self,
        tok: torch.Tensor,
        frames: torch.Tensor,
        frame_pos: torch.Tensor | None,
        tok_pos: torch.Tensor | None,
    ) -> torch.Tensor:
        qk = add_pos(tok, tok_pos)
        tok = self.norm1(tok + self.drop1(self.self_attn(qk, qk, tok, need_weights=False)[0]))
        q, k = add_pos(tok, tok_pos), add_pos(frames, frame_pos)
        tok = self.norm2(tok + self.drop2(self.cross_attn(q, k, frames, need_weights=False)[0]))
        return self.norm3(tok + self.ffn(tok))


# --------------------------------------------------------------------------------------
# Blocks


@dataclass
class BlockOutput:
    """What one block produces for one video (T frames, M tokens, C classes, S segments).

    Attributes:
        frame_feature: (T, hid) frame output, logits replaced by their softmax (next input).
        token_feature: (M, hid) token output, likewise.
        frame_logits: (T, C); token_logits: (M, C+1) (last = null).
        tcn_feature: (T, f_dim) last frame-branch layer before its output map.
        a2f_logits: (T or S, M) frame/segment -> token attention logits (update blocks).
        f2a_logits: (M, T or S) token -> frame/segment attention logits (update blocks).
        a2f_attn: (T, M) softmax over tokens, expanded to frames (update blocks).
        seg_logits: (S, C) segment logits (TDU blocks); seg_index: (T,) segment of each
            frame; seg_lens: (S,) frames per segment (TDU blocks).
    """

    frame_feature: torch.Tensor
    token_feature: torch.Tensor
    frame_logits: torch.Tensor
    token_logits: torch.Tensor
    tcn_feature: torch.Tensor
    a2f_logits: torch.Tensor | None = None
    f2a_logits: torch.Tensor | None = None
    a2f_attn: torch.Tensor | None = None
    seg_logits: torch.Tensor | None = None
    seg_index: torch.Tensor | None = None
    seg_lens: torch.Tensor | None = None


def _frame_branch(
    kind: str,
    in_dim: int,
    dim: int,
    out_dim: int,
    layers: int,
    dropout: float,
    in_map: bool,
    layer_norm: bool,
    groups: int,
) -> nn.Module:
    if kind == "m":
        return TCNStage(in_dim, dim, out_dim, layers, dropout, in_map, layer_norm, groups)
    if kind == "m2":
        if layer_norm:
            raise ValueError("the MS-TCN++ frame branch ('m2') has no layer norm")
        return TCN2Stage(in_dim, dim, out_dim, layers, dropout, in_map, groups)
    raise ValueError(f"unknown frame branch {kind!r}; known: 'm' (MS-TCN), 'm2' (MS-TCN++)")


class InputBlock(nn.Module):
    """``i``: frame branch on the input features, then a token decoder over the frames."""

    def __init__(self, cfg: FACTConfig, in_dim: int, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.frame_branch = _frame_branch(
            cfg.f,
            in_dim,
            cfg.f_dim,
            cfg.hid_dim,
            cfg.f_layers,
            cfg.dropout,
            True,
            cfg.f_ln,
            cfg.f_ngp,
        )
        self.layers = nn.ModuleList(
            TokenDecoderLayer(cfg.a_dim, cfg.hid_dim, cfg.a_nhead, cfg.a_ffdim, cfg.dropout)
            for _ in range(cfg.a_layers)
        )
        self.norm = nn.LayerNorm(cfg.a_dim)
        self.out = nn.Linear(cfg.a_dim, cfg.hid_dim)

    def forward(self, frames, tokens, frame_pos, tok_pos) -> BlockOutput:
        tcn, out = self.frame_branch(frames)
        frame_feature, frame_logits = split_logits(out, self.num_classes)
        for layer in self.layers:
            tokens = layer(tokens, frame_feature, frame_pos, tok_pos)
        token_feature, token_logits = split_logits(
            self.out(self.norm(tokens)), self.num_classes + 1
        )
        return BlockOutput(frame_feature, token_feature, frame_logits, token_logits, tcn)


def frame_segments(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Runs of equal values in ``labels`` (T,): (segment id per frame (T,), lengths (S,))."""
    change = torch.zeros_like(labels)
    change[1:] = (labels[1:] != labels[:-1]).long()
    index = change.cumsum(0)
    return index, torch.bincount(index)


class UpdateBlock(nn.Module):
    """``u`` (and ``U`` with ``tdu=True``): frames -> tokens cross-attention, token
    self-attention, tokens -> frames cross-attention, frame branch.

    With ``tdu`` the cross-attentions run on segments: frames are mean-pooled over the runs
    of the incoming frame argmax, refined by a BiGRU + Linear (which also gives segment
    logits), and the attended segment features are broadcast back to frames and merged with
    the incoming frame features by Linear + ReLU before the frame branch.
    """

    def __init__(self, cfg: FACTConfig, num_classes: int, tdu: bool) -> None:
        super().__init__()
        self.num_classes, self.tdu = num_classes, tdu
        h = cfg.hid_dim
        self.frame_branch = _frame_branch(
            cfg.f, cfg.f_dim, cfg.f_dim, h, cfg.u_f_layers, cfg.dropout, False, cfg.f_ln, cfg.f_ngp
        )
        self.f2a = CrossMap(h, h, cfg.a_dim, h, cfg.dropout)
        self.token_layers = nn.ModuleList(
            TokenSelfLayer(cfg.a_dim, cfg.a_nhead, cfg.a_ffdim, cfg.dropout)
            for _ in range(cfg.u_a_layers)
        )
        self.token_out = nn.Linear(cfg.a_dim, h)
        self.a2f = CrossMap(h, h, cfg.f_dim, h, cfg.dropout)
        if tdu:
            self.seg_gru = nn.GRU(h, h // 2, cfg.s_layers, bidirectional=True)
            self.seg_combine = nn.Linear(h, h)
            self.merge = nn.Linear(h + cfg.f_dim, cfg.f_dim)

    def forward(self, frames, tokens, frame_pos, tok_pos) -> BlockOutput:
        c = self.num_classes
        seg_logits = seg_index = seg_lens = None
        units, unit_pos = frames, frame_pos  # frames, or segments in a TDU block
        if self.tdu:
            seg_index, seg_lens = frame_segments(frames[:, -c:].argmax(-1))
            pooled = torch.zeros(
                len(seg_lens), frames.shape[1], dtype=frames.dtype, device=frames.device
            ).index_add(0, seg_index, frames)
            pooled = pooled / seg_lens[:, None]  # (S, hid)
            refined = self.seg_combine(torch.relu(self.seg_gru(pooled)[0]))
            units, seg_logits = split_logits(refined, c)
            if frame_pos is not None:
                starts = seg_lens.cumsum(0) - seg_lens
                unit_pos = frame_pos[(2 * starts + seg_lens - 1) // 2]  # segment centres
        tokens, f2a_logits = self.f2a(units, tokens, unit_pos, tok_pos)
        for layer in self.token_layers:
            tokens = layer(tokens, tok_pos)
        token_feature, token_logits = split_logits(self.token_out(tokens), c + 1)
        units, a2f_logits = self.a2f(token_feature, units, tok_pos, unit_pos)
        a2f_attn = torch.softmax(a2f_logits, dim=-1)
        if self.tdu:
            units = torch.relu(self.merge(torch.cat([units[seg_index], frames], dim=-1)))
            a2f_attn = a2f_attn[seg_index]  # (S, M) -> (T, M)
        tcn, out = self.frame_branch(units)
        frame_feature, frame_logits = split_logits(out, c)
        return BlockOutput(
            frame_feature,
            token_feature,
            frame_logits,
            token_logits,
            tcn,
            a2f_logits,
            f2a_logits,
            a2f_attn,
            seg_logits,
            seg_index,
            seg_lens,
        )
