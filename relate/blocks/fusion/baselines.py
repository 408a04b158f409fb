"""The other fusions of RELATE's Table 3, with the AFT's interface, and ``build_fusion``.

Written from the cited papers and the authors' release (Hsj303/RELATE @ c2a977f); its
departures are D17 and D19 of docs/decisions.md. No upstream code is copied.

Every fusion is called as ``fusion(z_rgb, z_flow, labels_rgb, labels_flow, mask)`` with
(B, d, T) features, (B, T) anchor labels (used only by the AFT and the anchor
cross-attention) and a (B, 1, T) mask, and returns (B, ``fusion.out_dim``, T), 0 on padded
frames. Every attentive row keeps the AFT's trunk (``FusionTrunk``; options ``trunk=`` etc.
as in ``AlignmentFusion``) and replaces only the per-modality modulation (docs/fusion.md):

* ``naive``: [Z_R || Z_F] straight to the joint segmenter (out_dim 2d, no parameters,
  no norm): the release's ``--fusion concat``.
* ``self_attention``: per modality, softmax(Q K^T / sqrt(d)) V over the whole video
  (single head, padded keys masked, no residual), through SDPA.
* ``cross_attention`` (D19 default ``variant="anchors"``, the release's
  ``DotProductAlignmentFusion``): per modality, each frame's k_t attends over the S segment
  anchors a_i (means of Q per run) with values the segment means of V; softmax over segments.
  ``variant="cross_modal"``: RGB queries flow and flow queries RGB, one pre-LN block each
  (attention and 4x FFN with residuals, single head, dropout 0.1).
* ``local_attentive`` (LAF, a reconstruction: no public code exists): per modality m,
  omega_t = sigmoid(W_q mean_t(z_m) * W_k z_{other,t}), z~_m = omega * z_m (no bias, no
  residual). ``placement="trunk"`` (default) keeps the trunk; ``"bypass"`` sends
  [Z~_R || Z~_F] (2d) straight to the joint segmenter, as in Lee et al.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from relate.blocks.fusion.action_gated_attention import segment_means, segments_from_labels
from relate.blocks.fusion.trunk import AlignmentFusion, ModulatedFusion, masked_sdpa
from relate.segmenters.base import full_mask

FUSIONS: tuple[str, ...] = ("aft", "naive", "self_attention", "cross_attention", "local_attentive")
CROSS_ATTENTION_VARIANTS: tuple[str, ...] = ("anchors", "cross_modal")
LAF_PLACEMENTS: tuple[str, ...] = ("trunk", "bypass")


class NaiveFusion(nn.Module):
    """Channel concat of the raw branch features: (B, d, T) x 2 -> (B, 2d, T). No parameters."""

    def __init__(self, dim: int = 64) -> None:
        super().__init__()
        self.dim, self.out_dim = dim, 2 * dim

    def forward(
        self,
        z_rgb: torch.Tensor,
        z_flow: torch.Tensor,
        labels_rgb: torch.Tensor | None = None,
        labels_flow: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return torch.cat([z_rgb, z_flow], dim=1) * full_mask(z_rgb, mask)


def _qkv(dim: int) -> nn.ModuleList:
    return nn.ModuleList(nn.Conv1d(dim, dim, 1) for _ in range(3))


class SelfAttentionFusion(ModulatedFusion):
    """Table 3 "self-attention": frame-to-frame attention within each modality, then the trunk.
    6 (d^2 + d) modulation parameters, as the AFT."""

    def __init__(self, dim: int = 64, out_dim: int | None = None, **trunk_options: object) -> None:
        super().__init__(dim, out_dim, **trunk_options)  # type: ignore[arg-type]
        self.proj = nn.ModuleList(_qkv(dim) for _ in range(2))

    def modulate(self, z_rgb, z_flow, labels_rgb, labels_flow, mask):  # type: ignore[override]
        out = []
        for z, (q, k, v) in zip((z_rgb, z_flow), self.proj):
            out.append(masked_sdpa(q(z), k(z), v(z), mask) * mask)
        return out[0], out[1]


class AnchorCrossAttentionFusion(ModulatedFusion):
    """Table 3 "cross-attention" as released (D19): frames -> their own modality's segment
    anchors, softmax over the S segments, values = segment means of V; then the trunk.
    Same parameters as the AFT (66,304 at d = 64 with the release trunk)."""

    def __init__(self, dim: int = 64, out_dim: int | None = None, **trunk_options: object) -> None:
        super().__init__(dim, out_dim, **trunk_options)  # type: ignore[arg-type]
        self.proj = nn.ModuleList(_qkv(dim) for _ in range(2))

    def modulate(self, z_rgb, z_flow, labels_rgb, labels_flow, mask):  # type: ignore[override]
        out = []
        for z, labels, (q, k, v) in zip((z_rgb, z_flow), (labels_rgb, labels_flow), self.proj):
            if labels is None:
                raise ValueError("cross_attention needs (B, T) anchor labels per modality")
            segments = segments_from_labels(labels, mask)
            anchors = segment_means(q(z), segments)  # (B, d, S)
            values = segment_means(v(z), segments)  # (B, d, S)
            slots = torch.arange(anchors.shape[2], device=z.device)
            used = slots.unsqueeze(0) < segments.count.clamp(min=1).unsqueeze(1)  # (B, S)
            # SDPA with T queries and S keys: no (T, S) tensor held here
            attended = F.scaled_dot_product_attention(
                k(z).transpose(1, 2).unsqueeze(1),  # (B, 1, T, d)
                anchors.transpose(1, 2).unsqueeze(1),  # (B, 1, S, d)
                values.transpose(1, 2).unsqueeze(1),
                attn_mask=used[:, None, None, :],
            )  # (B, 1, T, d)
            out.append(attended.squeeze(1).transpose(1, 2) * mask)
        return out[0], out[1]


class CrossModalBlock(nn.Module):
    """One pre-LN cross-attention block: target attends to source (single head), then a
    4x FFN, each with a residual and dropout. (B, d, T) -> (B, d, T)."""

    def __init__(self, dim: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.norm_q, self.norm_kv, self.norm_ffn = (nn.LayerNorm(dim) for _ in range(3))
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.ReLU(), nn.Linear(4 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, target: torch.Tensor, source: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        x, s = target.transpose(1, 2), source.transpose(1, 2)  # (B, T, d)
        xq, sk = self.norm_q(x), self.norm_kv(s)
        att = masked_sdpa(
            self.q(xq).transpose(1, 2), self.k(sk).transpose(1, 2), self.v(sk).transpose(1, 2), mask
        ).transpose(1, 2)
        x = x + self.dropout(self.o(att))
        x = x + self.dropout(self.ffn(self.norm_ffn(x)))
        return x.transpose(1, 2) * mask


class CrossModalAttentionFusion(ModulatedFusion):
    """D19 option ``fusion.variant=cross_modal``: RGB <- flow and flow <- RGB
    blocks (MulT-style, pre-LN), then the trunk."""

    def __init__(
        self,
        dim: int = 64,
        out_dim: int | None = None,
        *,
        dropout: float = 0.1,
        **trunk_options: object,
    ) -> None:
        super().__init__(dim, out_dim, **trunk_options)  # type: ignore[arg-type]
        self.blocks = nn.ModuleList(CrossModalBlock(dim, dropout) for _ in range(2))

    def modulate(self, z_rgb, z_flow, labels_rgb, labels_flow, mask):  # type: ignore[override]
        return self.blocks[0](z_rgb, z_flow, mask), self.blocks[1](z_flow, z_rgb, mask)


class LocalAttentiveFusion(ModulatedFusion):
    """LAF (Lee et al. 2023, reconstructed): video-level query of the target modality gates
    the target channel-wise per frame by the reference modality's keys; 4 d^2 parameters."""

    def __init__(
        self,
        dim: int = 64,
        out_dim: int | None = None,
        *,
        placement: str = "trunk",
        **trunk_options: object,
    ) -> None:
        super().__init__(dim, out_dim, **trunk_options)  # type: ignore[arg-type]
        if placement not in LAF_PLACEMENTS:
            raise ValueError(f"placement must be one of {LAF_PLACEMENTS}, got {placement!r}")
        self.placement = placement
        if placement == "bypass":  # no norm, no trunk: [Z~_R || Z~_F] to the joint segmenter
            self.input_norm = nn.ModuleList()
            self.trunk = None  # type: ignore[assignment]
            self.out_dim = 2 * dim
        self.w_q = nn.ModuleList(nn.Conv1d(dim, dim, 1, bias=False) for _ in range(2))
        self.w_k = nn.ModuleList(nn.Conv1d(dim, dim, 1, bias=False) for _ in range(2))

    def modulate(self, z_rgb, z_flow, labels_rgb, labels_flow, mask):  # type: ignore[override]
        count = mask.sum(2, keepdim=True).clamp(min=1)  # (B, 1, 1)
        out = []
        for m, (z, ref) in enumerate(((z_rgb, z_flow), (z_flow, z_rgb))):
            query = self.w_q[m]((z * mask).sum(2, keepdim=True) / count)  # (B, d, 1)
            omega = torch.sigmoid(query * self.w_k[m](ref))  # (B, d, T)
            out.append(omega * z * mask)
        return out[0], out[1]

    def forward(self, z_rgb, z_flow, labels_rgb=None, labels_flow=None, mask=None):  # type: ignore[override]
        if self.placement == "trunk":
            return super().forward(z_rgb, z_flow, labels_rgb, labels_flow, mask)
        mask = full_mask(z_rgb, mask)
        return torch.cat(self.modulate(z_rgb, z_flow, None, None, mask), dim=1)


def build_fusion(name: str, d: int = 64, **options: object) -> nn.Module:
    """The fusion ``name`` (one of ``FUSIONS``) for d-wide branch features.

    ``options`` go to the class: ``trunk``, ``input_norm``, ``norm``, ``attention``,
    ``window``, ``window_mask``, ``ffn``, ``out_dim`` for every trunk-based fusion; ``aga``,
    ``passthrough``, ``anchor`` for ``aft``; ``variant`` (and ``dropout``) for
    ``cross_attention``; ``placement`` for ``local_attentive``. The module's ``out_dim`` is
    the joint segmenter's input width.
    """
    if name == "aft":
        return AlignmentFusion(d, **options)  # type: ignore[arg-type]
    if name == "naive":
        if options:
            raise ValueError(f"naive fusion takes no options, got {sorted(options)}")
        return NaiveFusion(d)
    if name == "self_attention":
        return SelfAttentionFusion(d, **options)
    if name == "cross_attention":
        variant = options.pop("variant", "anchors")
        if variant == "anchors":
            return AnchorCrossAttentionFusion(d, **options)
        if variant == "cross_modal":
            return CrossModalAttentionFusion(d, **options)  # type: ignore[arg-type]
        raise ValueError(f"variant must be one of {CROSS_ATTENTION_VARIANTS}, got {variant!r}")
    if name == "local_attentive":
        return LocalAttentiveFusion(d, **options)  # type: ignore[arg-type]
    raise ValueError(f"unknown fusion {name!r}; known: {', '.join(FUSIONS)}")
