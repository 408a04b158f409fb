"""FACT (Frame-Action Cross-attention Temporal modelling) behind the Segmenter interface.

References: Lu & Elhamifar, CVPR 2024; official code ZijiaLewisLu/CVPR2024-FACT at
dba2399511e6b1b9f8f4fa696641d9793714e775 (MIT), read for facts only (configs, layer shapes,
loss formulas). Written from scratch. Details, sources and deviations: docs/fact.md.

For RELATE a "stage" is a FACT block: ``logits[b]`` are block b's frame logits (B, C, T)
and ``features[b]`` its frame features (B, f_dim, T): the last frame-branch (TCN) layer,
before the 1x1 map to the hid_dim-wide block output whose last C dims are the logits.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from relate.data.registry import datasets_with, recipe_dataset, segmenter_settings
from relate.segmenters.base import Segmenter, SegmenterOutput
from relate.segmenters.fact_blocks import BlockOutput, InputBlock, UpdateBlock, sinusoid
from relate.segmenters.fact_loss import IGNORE, TERMS, block_loss, match_tokens, video_targets
from relate.segmenters.training_defaults import TrainingDefaults


@dataclass(frozen=True)
class FACTConfig:
    """Every FACT hyperparameter (official key in brackets; see docs/fact.md).

    Update blocks inherit every width from the input block, as the official YAMLs do
    (their ``Bu``/``BU`` fields are null except the ones given separately here).
    """

    blocks: str = "iuU"  # [FACT.block] i input, u update, U update with TDU
    ntoken: int = 60  # [FACT.ntoken] action tokens
    hid_dim: int = 512  # [Bi.hid_dim] block output width (last C / C+1 dims = logits)
    f: str = "m"  # [Bi.f] frame branch: m = MS-TCN stage, m2 = MS-TCN++ stage
    f_dim: int = 128  # [Bi.f_dim] frame-branch (TCN) width
    f_layers: int = 10  # [Bi.f_layers] TCN layers, input block
    u_f_layers: int = 10  # [Bu/BU.f_layers] TCN layers, update blocks
    f_ln: bool = False  # [Bi.f_ln] LayerNorm in the MS-TCN layers
    f_ngp: int = 1  # [Bi.f_ngp] groups of the dilated convs
    a_dim: int = 128  # [Bi.a_dim] token width
    a_ffdim: int = 512  # [Bi.a_ffdim] token FFN width
    a_nhead: int = 8  # [Bi/Bu/BU.a_nhead]
    a_layers: int = 6  # [Bi.a_layers] decoder layers (self + cross attention), input block
    u_a_layers: int = 1  # [Bu/BU.a_layers] self-attention layers, update blocks
    s_layers: int = 1  # [BU.s_layers] BiGRU layers over segments, TDU blocks
    dropout: float = 0.2  # [Bi.dropout]
    cmr: float = 0.5  # [FACT.cmr] channel masking rate on the input features
    fpos: bool = False  # [FACT.fpos] sinusoidal frame positions (False = zeros)
    tm_use: bool = True  # [TM.use] temporal masking in training
    tm_t: int = 60  # [TM.t] max span length drawn
    tm_m: int = 5  # [TM.m] spans
    tm_p: float = 0.1  # [TM.p] max span length as a fraction of T
    mwt: float = 0.1  # [FACT.mwt] weight of the frame branch at inference
    pc: float = 0.2  # [Loss.pc] matching weight of the class probability
    a2fc: float = 1.0  # [Loss.a2fc] matching weight of the a2f softIoU
    bgw: float = 1.0  # [Loss.bgw] weight of background classes
    nullw: float | None = None  # [Loss.nullw] null-token weight; None (-1) = auto
    sw: float = 5.0  # [Loss.sw] smoothing weight
    average_transcript_len: float = 32.9  # [dataset.average_transcript_len] segments/video
    bg_class: tuple[int, ...] = (10,)  # [dataset.bg_class] class ids weighted by bgw
    eval_bg: bool = False  # [eval_bg] FACT's own scoring (not used by the model)
    sample_rate: int = 1  # [sr] temporal subsampling (done by the data layer, not here)

    def __post_init__(self) -> None:
        checks = [
            (
                re.fullmatch(r"i[uU]+", self.blocks) is not None,
                f"blocks must be 'i' followed by one or more 'u'/'U', got {self.blocks!r}",
            ),
            (self.f in ("m", "m2"), f"f must be 'm' or 'm2', got {self.f!r}"),
            (not (self.f == "m2" and self.f_ln), "f='m2' has no layer norm (f_ln must be False)"),
            (self.ntoken >= 1, "ntoken must be >= 1"),
            (self.hid_dim >= 2 and self.hid_dim % 2 == 0, "hid_dim must be even (BiGRU)"),
            (self.a_dim % self.a_nhead == 0, "a_dim must be divisible by a_nhead"),
            (
                min(
                    self.f_layers,
                    self.u_f_layers,
                    self.a_layers,
                    self.u_a_layers,
                    self.s_layers,
                    self.f_dim,
                    self.f_ngp,
                )
                >= 1,
                "sizes must be >= 1",
            ),
            (0.0 <= self.dropout < 1.0 and 0.0 <= self.cmr < 1.0, "rates must be in [0, 1)"),
            (self.tm_t >= 1 and self.tm_m >= 0 and 0.0 <= self.tm_p <= 1.0, "bad TM settings"),
            (0.0 <= self.mwt <= 1.0, "mwt must be in [0, 1]"),
            (
                self.nullw is not None or self.ntoken > self.average_transcript_len,
                "auto null weight needs ntoken > average_transcript_len",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"FACTConfig: {message}")

    def null_weight(self, num_classes: int) -> float:
        """nullw, or the auto value ntoken / ((ntoken - average_transcript_len) * C)."""
        if self.nullw is not None:
            return self.nullw
        return self.ntoken / ((self.ntoken - self.average_transcript_len) * num_classes)


GTEA = FACTConfig()
"""The official configs/gtea.yaml: FACTConfig's defaults. A dataset's own settings are the
``config`` of its ``fact`` settings in the registry (:func:`fact_config`)."""

BASE_RECIPE = TrainingDefaults(
    epochs=400,
    lr=1e-4,
    weight_decay=0.0,
    batch_size=1,
    scheduler="step_reset",
    lr_decay_every=250,
    clip_grad_norm=10.0,
)
"""FACT's GTEA recipe; a dataset's ``training`` settings in the registry change it."""


def _settings(dataset: str, what: str) -> Mapping[str, Any]:
    """The ``what`` (``config`` or ``training``) part of the ``fact`` settings of
    ``dataset``'s registry row (a stand-in: its paper dataset's); raises ``KeyError`` when
    the row gives FACT no settings."""
    try:
        settings = segmenter_settings("fact", dataset)
    except KeyError:
        settings = {}
    if not settings:
        known = ", ".join(datasets_with("fact"))
        noun = "config" if what == "config" else "training defaults"
        raise KeyError(f"no FACT {noun} for {recipe_dataset(dataset)!r}; known: {known}")
    return settings.get(what, {})


def fact_config(dataset: str, **overrides: Any) -> FACTConfig:
    """FACT's settings on ``dataset`` plus ``overrides`` of :class:`FACTConfig` fields."""
    known = {f.name for f in dataclasses.fields(FACTConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise KeyError(f"unknown FACT config keys {unknown}; known: {sorted(known)}")
    if isinstance(overrides.get("bg_class"), list):
        overrides["bg_class"] = tuple(overrides["bg_class"])
    base = FACTConfig(**_settings(dataset, "config"))
    return dataclasses.replace(base, **overrides) if overrides else base


@dataclass(frozen=True)
class TranscriptStats:
    """FACT's gen_config statistics: mean/max segments per video and ntoken."""

    average_transcript_len: float
    max_transcript_len: int
    ntoken: int


def transcript_stats(videos: Iterable[Sequence[Any]], token_ratio: float = 1.5) -> TranscriptStats:
    """Segments (runs of equal labels) per video -> mean, max, ntoken = int(ratio * max)."""
    counts = []
    for labels in videos:
        arr = np.asarray(labels)
        counts.append(int(1 + np.count_nonzero(arr[1:] != arr[:-1])) if len(arr) else 0)
    if not counts:
        raise ValueError("transcript_stats needs at least one video")
    longest = max(counts)
    return TranscriptStats(float(np.mean(counts)), longest, int(longest * token_ratio))


class FACT(Segmenter):
    """FACT with its official block structure; forward processes each video separately."""

    def __init__(self, in_dim: int, num_classes: int, cfg: FACTConfig = GTEA) -> None:
        super().__init__()
        if num_classes < 1 or cfg.hid_dim <= num_classes + 1:
            raise ValueError(f"need 1 <= num_classes < hid_dim - 1, got {num_classes}")
        if any(not 0 <= c < num_classes for c in cfg.bg_class):
            raise ValueError(f"bg_class {cfg.bg_class} out of range for {num_classes} classes")
        self.cfg, self.in_dim, self.num_classes = cfg, in_dim, num_classes
        self.null_weight = cfg.null_weight(num_classes)
        self.channel_mask = nn.Dropout2d(cfg.cmr)
        self.action_query = nn.Parameter(torch.randn(cfg.ntoken, cfg.a_dim))
        blocks: list[nn.Module] = [InputBlock(cfg, in_dim, num_classes)]
        blocks += [UpdateBlock(cfg, num_classes, tdu=(b == "U")) for b in cfg.blocks[1:]]
        self.blocks = nn.ModuleList(blocks)

    # ---------------------------------------------------------------- forward
    def _time_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Zero up to tm_m random spans of x (L, D); stops at the first empty span."""
        length = x.shape[0]
        keep = torch.ones(length, 1, dtype=x.dtype, device=x.device)
        for _ in range(self.cfg.tm_m):
            span = min(int(self.cfg.tm_p * length), int(torch.randint(self.cfg.tm_t, ())))
            if span == 0:
                break
            start = int(torch.randint(length - span, ()))
            keep[start : start + span] = 0.0
        return x * keep

    def _forward_video(self, x: torch.Tensor) -> list[BlockOutput]:
        """x: (L, D) one unpadded video -> one BlockOutput per block."""
        if self.cfg.cmr > 0:
            x = self.channel_mask(x.t()[None, :, :, None])[0, :, :, 0].t()  # (1, D, L, 1) view
        if self.cfg.tm_use and self.training:
            x = self._time_mask(x)
        frame_pos = sinusoid(x.shape[0], self.cfg.hid_dim, x.device) if self.cfg.fpos else None
        tokens = torch.zeros_like(self.action_query)
        outs = []
        frames = x
        for block in self.blocks:
            out = block(frames, tokens, frame_pos, self.action_query)
            frames, tokens = out.frame_feature, out.token_feature
            outs.append(out)
        return outs

    @staticmethod
    def _lengths(x: torch.Tensor, mask: torch.Tensor | None) -> list[int]:
        if mask is None:
            return [x.shape[2]] * x.shape[0]
        valid = mask[:, 0] > 0  # (B, T)
        lengths = valid.sum(1).tolist()
        for b, n in enumerate(lengths):
            if n == 0 or not bool(valid[b, :n].all()):
                raise ValueError("FACT needs each video's valid frames as a non-empty prefix")
        return [int(n) for n in lengths]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x: (B, D, T); mask: (B, 1, T) valid-prefix mask. Padded positions are zero."""
        if x.dim() != 3 or x.shape[1] != self.in_dim:
            raise ValueError(f"expected (B, {self.in_dim}, T) input, got {tuple(x.shape)}")
        lengths = self._lengths(x, mask)
        total = x.shape[2]
        videos = [self._forward_video(x[b, :, :n].t()) for b, n in enumerate(lengths)]

        def pad(outs: list[BlockOutput], get) -> torch.Tensor:  # per video (n, K) -> (B, K, T)
            return torch.stack([F.pad(get(o).t(), (0, total - n)) for o, n in zip(outs, lengths)])

        logits, features, token_logits, a2f_attn = [], [], [], []
        for k in range(len(self.blocks)):
            vs = [v[k] for v in videos]
            logits.append(pad(vs, lambda o: o.frame_logits))
            features.append(pad(vs, lambda o: o.tcn_feature))
            token_logits.append(torch.stack([o.token_logits for o in vs]))  # (B, M, C+1)
            a2f_attn.append(
                None if vs[0].a2f_attn is None else pad(vs, lambda o: o.a2f_attn).transpose(1, 2)
            )  # (B, T, M)
        extras = {
            "videos": videos,
            "lengths": lengths,
            "token_logits": token_logits,
            "a2f_attn": a2f_attn,
        }
        return SegmenterOutput(logits=logits, features=features, extras=extras)

    # ---------------------------------------------------------------- loss
    def loss(
        self, output: SegmenterOutput, target: torch.Tensor, mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """FACT's loss per video (mean over blocks), then the mean over videos.

        Returns the named terms of :data:`TERMS` (each already scaled as the blocks combine
        them, averaged over blocks and videos), per-block totals ``block{k}``, and ``total``.
        Frames at or beyond a video's valid length and frames labelled -100 are not
        supervised (the smoothing term still covers every valid frame). ``mask`` is not
        needed: the valid lengths come from the forward pass.
        """
        c = self.num_classes
        videos, lengths = output.extras["videos"], output.extras["lengths"]
        if target.shape[0] != len(videos):
            raise ValueError("target batch size differs from the forward batch")
        sums: dict[str, torch.Tensor] = {}
        for video, n, labels in zip(videos, lengths, target):
            labels = labels[:n]
            bad = (labels != IGNORE) & ((labels < 0) | (labels >= c))
            if bool(bad.any()):
                raise ValueError(f"target ids must be in [0, {c}) or {IGNORE}")
            targets = video_targets(labels, c)
            last = video[-1]
            match = match_tokens(
                torch.softmax(last.token_logits.detach(), -1),
                last.a2f_attn.detach(),
                targets,
                self.cfg.pc,
                self.cfg.a2fc,
            )
            device = last.token_logits.device
            class_w = torch.ones(c + 1, device=device)
            bg = torch.tensor(self.cfg.bg_class, dtype=torch.long, device=device)
            class_w[bg] = self.cfg.bgw
            class_w[-1] = self.null_weight
            seg_w = class_w[targets.transcript]
            for k, out in enumerate(video):
                terms = block_loss(out, targets, match, class_w, seg_w, self.cfg.sw)
                terms[f"block{k}"] = sum(terms.values())
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + value / (len(video) * len(videos))
        result = {name: sums[name] for name in TERMS}
        result.update({k: v for k, v in sums.items() if k.startswith("block")})
        result["total"] = sum(sums[name] for name in TERMS)
        return result

    # ---------------------------------------------------------------- inference
    def probabilities(self, output: SegmenterOutput) -> torch.Tensor:
        """(B, C, T) FACT's inference mix on the last block: each frame takes the active
        (non-null argmax) token with the highest a2f attention; its softmax over the C
        class logits is mixed as (1 - mwt) * token + mwt * softmax(frame logits). With no
        active token the frame branch alone is used. Padded positions are uniform."""
        c, mwt = self.num_classes, self.cfg.mwt
        total = output.logits[-1].shape[2]
        probs = []
        for video, n in zip(output.extras["videos"], output.extras["lengths"]):
            last = video[-1]
            frame_prob = torch.softmax(last.frame_logits, dim=-1)  # (n, C)
            active = torch.nonzero(last.token_logits.argmax(-1) != c).squeeze(1)
            if len(active) == 0:
                prob = frame_prob
            else:
                token_prob = torch.softmax(last.token_logits[:, :c], dim=-1)  # (M, C)
                chosen = active[last.a2f_attn[:, active].argmax(-1)]  # (n,)
                prob = (1 - mwt) * token_prob[chosen] + mwt * frame_prob
            prob = F.pad(prob.t(), (0, total - n), value=1.0 / c)
            probs.append(prob)
        return torch.stack(probs)


def build_fact(in_dim: int, num_classes: int, dataset: str, **overrides: Any) -> FACT:
    """FACT with the settings of ``dataset`` (the registry's ``fact`` settings; gtea,
    breakfast, 50salads, synthetic) plus ``overrides`` of :class:`FACTConfig` fields (e.g.
    ``blocks="iuUUU"``); a synthetic stand-in takes its paper dataset's settings."""
    return FACT(in_dim, num_classes, fact_config(dataset, **overrides))


def training_defaults(dataset: str) -> TrainingDefaults:
    """FACT's optimiser and schedule: Adam lr 1e-4, wd 0, clip 10, lr = base * 0.1 at every
    multiple of ``lr_decay_every`` epochs (gtea: 400/250/batch 1; breakfast: 150/80/batch 4;
    50salads and synthetic: the GTEA recipe; a stand-in: its paper dataset's)."""
    training = _settings(dataset, "training")
    return dataclasses.replace(BASE_RECIPE, **training) if training else BASE_RECIPE


def feature_width(dataset: str, **overrides: Any) -> int:
    """F of every block's features: ``f_dim`` on ``dataset`` (GTEA 128, Breakfast 512)."""
    return int(overrides.get("f_dim", fact_config(dataset).f_dim))
