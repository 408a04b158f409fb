"""Action-gated attention (AGA): RELATE Sec. 3.2, Eq. 1, in the form the authors' release runs.

Written from the paper and from the authors' release, Hsj303/RELATE @ c2a977f
``relate/alignment_fusion.py`` L29-98, whose departures from the paper are D2-D4 of
docs/decisions.md (D-numbers below refer to that page). No upstream code is copied.

Shape legend (as in ``relate/segmenters/base.py``): B batch, d feature channels (64),
T frames, S predicted segments (runs of equal frame label) per video, padded to the batch
maximum. Channels-first throughout: features are (B, d, T), anchors (B, d, S).

Per video, with Q, K, V the 1x1 projections of the branch features Z:

    a_i = mean of q_t over run i                     (action anchors)
    A   = sigmoid(sum_i (K * a_i) / sqrt(d))         (Eq. 1, ``anchor="sum_all"``)
        = sigmoid(K * (sum_i a_i) / sqrt(d))          (``form="cheap"``: * is linear)
    Z~  = A * V

``anchor="own_segment"`` replaces sum_i a_i by the anchor of the frame's own run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

AnchorMode = Literal["sum_all", "own_segment"]
GateForm = Literal["cheap", "literal"]
InputNorm = Literal["instance", "none"]
ANCHOR_MODES: tuple[str, ...] = ("sum_all", "own_segment")
GATE_FORMS: tuple[str, ...] = ("cheap", "literal")
INPUT_NORMS: tuple[str, ...] = ("instance", "none")


@dataclass(frozen=True)
class Segments:
    """Run-length segments of a batch of frame-label sequences.

    Attributes:
        index: (B, T) long, the run each frame belongs to (0 .. count-1 within its video);
            -1 on masked frames.
        count: (B,) long, runs per video (masked frames form no run).
        start: (B, S) long, first frame of each run; -1 on unused slots.
        length: (B, S) long, frames in each run; 0 on unused slots.
        label: (B, S) long, label of each run; -1 on unused slots.
    """

    index: torch.Tensor
    count: torch.Tensor
    start: torch.Tensor
    length: torch.Tensor
    label: torch.Tensor


def _valid_frames(
    mask: torch.Tensor | None, batch: int, frames: int, device: torch.device
) -> torch.Tensor:
    """(B, T) bool from a (B, 1, T) mask (nonzero = valid); None means all valid."""
    if mask is None:
        return torch.ones(batch, frames, dtype=torch.bool, device=device)
    if mask.dim() != 3 or mask.shape[0] != batch or mask.shape[1] != 1 or mask.shape[2] != frames:
        raise ValueError(
            f"mask must be (B, 1, T) = ({batch}, 1, {frames}), got {tuple(mask.shape)}"
        )
    return mask[:, 0, :] != 0


def segments_from_labels(labels: torch.Tensor, mask: torch.Tensor | None = None) -> Segments:
    """Maximal runs of equal label, vectorised over the batch.

    Every run is a segment, background included (the release drops nothing). A run ends where
    the label changes or where validity changes; masked frames belong to no run, so trailing
    padding never extends the last run.

    Args:
        labels: (B, T) integer frame labels, e.g. the argmax of one stage's logits.
        mask: (B, 1, T), nonzero on valid frames, or None.
    """
    if labels.dim() != 2:
        raise ValueError(f"labels must be (B, T), got {tuple(labels.shape)}")
    batch, frames = labels.shape
    valid = _valid_frames(mask, batch, frames, labels.device)
    new_run = torch.ones_like(valid)
    new_run[:, 1:] = (labels[:, 1:] != labels[:, :-1]) | (valid[:, 1:] != valid[:, :-1])
    first = new_run & valid  # (B, T): first frame of a counted run
    index = torch.where(valid, first.long().cumsum(1) - 1, -1)
    count = first.long().sum(1)
    slots = int(count.max()) if count.numel() else 0  # the one host sync: S for the buffers
    b, t = first.nonzero(as_tuple=True)
    run = index[b, t]
    start = labels.new_full((batch, slots), -1, dtype=torch.long)
    start[b, run] = t
    label = labels.new_full((batch, slots), -1, dtype=torch.long)
    label[b, run] = labels[b, t].long()
    length = torch.zeros(batch, max(slots, 1), dtype=torch.long, device=labels.device)
    length.scatter_add_(1, index.clamp(min=0), valid.long())  # masked frames add 0
    return Segments(index=index, count=count, start=start, length=length[:, :slots], label=label)


def segment_means(x: torch.Tensor, segments: Segments) -> torch.Tensor:
    """(B, d, S) mean of ``x`` (B, d, T) over each run; zeros on unused slots.

    One ``index_add_`` over all frames (deterministic on CPU, and on CUDA under
    ``torch.use_deterministic_algorithms``); masked frames go to a discarded slot, so
    whatever they hold (even NaN) never reaches an anchor.
    """
    batch, dim, frames = x.shape
    slots = segments.length.shape[1]
    offset = torch.arange(batch, device=x.device).unsqueeze(1) * slots  # (B, 1)
    flat = torch.where(segments.index >= 0, segments.index + offset, batch * slots)  # (B, T)
    rows = x.transpose(1, 2).reshape(batch * frames, dim)  # (B*T, d)
    sums = x.new_zeros(batch * slots + 1, dim).index_add_(0, flat.reshape(-1), rows)
    sums = sums[: batch * slots].view(batch, slots, dim)  # (B, S, d)
    means = sums / segments.length.clamp(min=1).unsqueeze(-1).to(x.dtype)
    return means.transpose(1, 2)  # (B, d, S)


def action_anchors(
    q: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Action anchors a_i: (B, d, S) means of the queries ``q`` (B, d, T) over each run of
    ``labels`` (B, T); zeros on the unused slots of videos with fewer than S runs."""
    if q.dim() != 3 or q.shape[0] != labels.shape[0] or q.shape[2] != labels.shape[-1]:
        raise ValueError(
            f"q (B, d, T) {tuple(q.shape)} does not match labels {tuple(labels.shape)}"
        )
    return segment_means(q, segments_from_labels(labels, mask))


def gate_logits(
    k: torch.Tensor,
    anchors: torch.Tensor,
    segments: Segments,
    *,
    anchor: AnchorMode = "sum_all",
    form: GateForm = "cheap",
) -> torch.Tensor:
    """The gate's pre-activation (B, d, T); 0 on masked frames.

    Args:
        k: (B, d, T) keys.
        anchors: (B, d, S) from ``segment_means`` (zero on unused slots).
        segments: the runs the anchors were pooled over.
        anchor: ``"sum_all"``: sum_i (k_t * a_i) / sqrt(d) over every run of the video (paper
            Eq. 1 and the release); ``"own_segment"``: k_t * a_{run(t)} / sqrt(d).
        form: ``"cheap"``: one product with the summed (or gathered) anchor, O(T d);
            ``"literal"``: every per-run term k * a_i / sqrt(d) formed and added in run order,
            O(T S d) with a Python loop over runs. For checking the algebra.
    """
    if anchor not in ANCHOR_MODES:
        raise ValueError(f"anchor must be one of {ANCHOR_MODES}, got {anchor!r}")
    if form not in GATE_FORMS:
        raise ValueError(f"form must be one of {GATE_FORMS}, got {form!r}")
    root_d = math.sqrt(k.shape[1])
    slots = anchors.shape[2]
    valid = (segments.index >= 0).unsqueeze(1)  # (B, 1, T)
    if slots == 0:  # every frame masked
        return torch.zeros_like(k)
    if form == "cheap":
        if anchor == "sum_all":
            logits = k * anchors.sum(2, keepdim=True) / root_d
        else:
            run = segments.index.clamp(min=0).unsqueeze(1).expand_as(k)  # (B, d, T)
            logits = k * anchors.gather(2, run) / root_d
    else:
        # One term per run, added in run order as Eq. 1 reads (the release loops the same way).
        # In place, so no allocation per run; at d = 64, * (1/8) rounds exactly like / 8.
        logits = torch.zeros_like(k)
        for i in range(slots):
            term = k if anchor == "sum_all" else k * (segments.index == i).unsqueeze(1).to(k.dtype)
            logits.addcmul_(term, anchors[:, :, i : i + 1], value=1.0 / root_d)
    return logits.masked_fill(~valid, 0.0)


def action_gate(
    k: torch.Tensor,
    anchors: torch.Tensor,
    segments: Segments,
    *,
    anchor: AnchorMode = "sum_all",
    form: GateForm = "cheap",
) -> torch.Tensor:
    """The alignment score A = sigmoid(``gate_logits``), (B, d, T)."""
    return torch.sigmoid(gate_logits(k, anchors, segments, anchor=anchor, form=form))


def masked_instance_norm(
    x: torch.Tensor, mask: torch.Tensor | None = None, eps: float = 1e-5
) -> torch.Tensor:
    """Per-video, per-channel normalisation over the valid frames; no affine, no running stats.

    With ``mask=None`` this equals ``nn.InstanceNorm1d(d)`` (biased variance, eps 1e-5), which
    the release applies before Q/K/V (D4). The release ignores the mask (harmless there only
    because it runs batch size 1); here padded frames are left out of the statistics and set
    to 0.
    """
    valid = _valid_frames(mask, x.shape[0], x.shape[2], x.device).unsqueeze(1)  # (B, 1, T)
    x = x.masked_fill(~valid, 0.0)
    n = valid.sum(2, keepdim=True).clamp(min=1).to(x.dtype)
    centred = (x - x.sum(2, keepdim=True) / n).masked_fill(~valid, 0.0)
    var = centred.square().sum(2, keepdim=True) / n
    return centred * torch.rsqrt(var + eps)


def anchor_labels(logits: Sequence[torch.Tensor], stage: int | Literal["last"] = 1) -> torch.Tensor:
    """(B, T) frame labels for the anchors: argmax over classes of one stage's (B, C, T) logits.

    The release uses stage index 1 of the branch's own prediction, the middle of its 3 stages
    (D2: ``anchor_stage=1``); ``"last"`` is the paper-literal option.
    """
    index = len(logits) - 1 if stage == "last" else stage
    if not isinstance(index, int) or not 0 <= index < len(logits):
        raise IndexError(f"anchor stage {stage!r} does not exist; there are {len(logits)} stages")
    return logits[index].argmax(dim=1)


class ActionGatedAttention(nn.Module):
    """AGA for one modality: Z~ = sigmoid(anchor-key alignment) * V.

    The release's layers: separate 1x1 convs d -> d with bias for Q, K and V, i.e.
    3 (d^2 + d) = 12,480 parameters at d = 64 (24,960 for the two modalities).

    Args:
        dim: d, the branch feature width (64 in the release).
        anchor: ``"sum_all"`` (Eq. 1 and the release) or ``"own_segment"``.
        form: ``"cheap"`` (default) or ``"literal"`` (the per-run sum; for tests).
        input_norm: ``"instance"``: masked instance norm of Z before the projections, as the
            release does (D4, ``fusion.input_norm=instance``); ``"none"``: the paper's Eq. 1 alone.
    """

    def __init__(
        self,
        dim: int = 64,
        *,
        anchor: AnchorMode = "sum_all",
        form: GateForm = "cheap",
        input_norm: InputNorm = "instance",
    ) -> None:
        super().__init__()
        for name, value, allowed in (
            ("anchor", anchor, ANCHOR_MODES),
            ("form", form, GATE_FORMS),
            ("input_norm", input_norm, INPUT_NORMS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.dim, self.anchor, self.form, self.input_norm = dim, anchor, form, input_norm
        self.q = nn.Conv1d(dim, dim, 1)
        self.k = nn.Conv1d(dim, dim, 1)
        self.v = nn.Conv1d(dim, dim, 1)

    def extra_repr(self) -> str:
        return (
            f"dim={self.dim}, anchor={self.anchor}, form={self.form}, input_norm={self.input_norm}"
        )

    def project(
        self, z: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q, K, V, each (B, d, T), of the (optionally normalised) features z (B, d, T)."""
        if self.input_norm == "instance":
            z = masked_instance_norm(z, mask)
        return self.q(z), self.k(z), self.v(z)

    def forward(
        self, z: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Z~ (B, d, T), zero on masked frames.

        Args:
            z: (B, d, T) branch features (the last stage's, as in the release).
            labels: (B, T) frame labels defining the runs (see ``anchor_labels``).
            mask: (B, 1, T), nonzero on valid frames, or None.
        """
        if z.dim() != 3 or z.shape[1] != self.dim:
            raise ValueError(f"z must be (B, {self.dim}, T), got {tuple(z.shape)}")
        if labels.shape != (z.shape[0], z.shape[2]):
            expected = (z.shape[0], z.shape[2])
            raise ValueError(f"labels must be (B, T) = {expected}, got {tuple(labels.shape)}")
        segments = segments_from_labels(labels, mask)
        q, k, v = self.project(z, mask)
        anchors = segment_means(q, segments)
        gate = action_gate(k, anchors, segments, anchor=self.anchor, form=self.form)
        return (gate * v).masked_fill((segments.index < 0).unsqueeze(1), 0.0)
