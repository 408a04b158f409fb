"""Cross-modal distillation losses (KD, RKD, GCR, MARS), stage pairing and the modality bridge.

Sources (facts only, no code copied):
    * the RKD, GCR, logit-KD and MARS papers as summarised in docs/distillation.md;
    * the authors' release (github.com/Hsj303/RELATE at ``c2a977f``: ``relate/losses.py``
      L46-93, ``scripts/train.py`` L161-172) and where it departs from the paper: D7 (bridge),
      D8 (teacher), D9 (KD form), D10 (RKD/GCR details). D-numbers are sections of
      docs/decisions.md.
    * Paper §3.1 (two FC layers bridge the modality gap), §3.3 (L = L_RGB + L_OF + L_J + γ·L_CMKD).

Shape legend: B batch, C classes, F feature width, T frames, S stages. A ``mask`` is (B, 1, T)
or (B, T) with 1 on valid frames and 0 on padding; ``None`` means every frame is valid.

Every loss detaches the teacher tensor itself, so no gradient can reach the teacher even if the
caller forgot ``torch.no_grad()``. Loss weights (γ = 0.5 for KD/RKD/GCR, α = 50 for MARS) are
applied by the caller; the constants below hold the release/spec defaults.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from relate.segmenters.base import SegmenterOutput

logger = logging.getLogger(__name__)

KD_TEMPERATURE = 2.0  # release: --temperature (train.py L63) and every YAML
CMKD_GAMMA = 0.5  # release: --gamma (train.py L64), weight of KD, RKD or GCR
MARS_ALPHA = 50.0  # the MARS paper's alpha
EPS_RELEASE = 1e-6  # release's epsilon in the RKD mean and the GCR (T - 1) denominator

# KD presets. "release" reproduces losses.py L46-53 (D9 default); "textbook" is the
# methodologically cleaner Hinton form (D9 option: kd_reduction=mean_frames, kd_tau2=true).
KD_FORMS: Mapping[str, tuple[str, bool]] = {
    "release": ("sum_frames", False),
    "textbook": ("mean_frames", True),
}
# Stages each loss is applied to in the release / spec (stagewise ``stages`` argument).
DEFAULT_STAGES: Mapping[str, str] = {"kd": "all", "rkd": "last", "gcr": "last", "mars": "last"}


def _frame_mask(mask: torch.Tensor | None, b: int, t: int, ref: torch.Tensor) -> torch.Tensor:
    """(B, T) float mask in ``ref``'s dtype/device; accepts (B, 1, T), (B, T) or None."""
    if mask is None:
        return torch.ones(b, t, dtype=ref.dtype, device=ref.device)
    if mask.dim() == 3:
        if mask.shape[1] != 1:
            raise ValueError(f"mask must be (B, 1, T) or (B, T), got {tuple(mask.shape)}")
        mask = mask[:, 0]
    if tuple(mask.shape) != (b, t):
        raise ValueError(f"mask shape {tuple(mask.shape)} does not match (B, T) = {(b, t)}")
    return mask.to(dtype=ref.dtype, device=ref.device)


def _check_pair(student: torch.Tensor, teacher: torch.Tensor, same_width: bool = True) -> None:
    if student.dim() != 3 or teacher.dim() != 3:
        raise ValueError("student and teacher must be (B, C|F, T) tensors")
    s, t = student.shape, teacher.shape
    if s[0] != t[0] or s[2] != t[2] or (same_width and s[1] != t[1]):
        raise ValueError(f"student {tuple(s)} and teacher {tuple(t)} shapes are incompatible")


def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    temperature: float = KD_TEMPERATURE,
    mask: torch.Tensor | None = None,
    form: str = "release",
    reduction: str | None = None,
    tau2: bool | None = None,
) -> torch.Tensor:
    """Per-frame logit KD, KL(teacher ‖ student) at temperature τ (Hinton et al.; release: D9).

    L = κ · R_t Σ_c q_tc (log q_tc − log p_tc), q = softmax(teacher/τ), p = softmax(student/τ),
    softmax over classes (dim 1).

    Args:
        student_logits: (B, C, T).
        teacher_logits: (B, C, T); detached here.
        temperature: τ (release 2).
        mask: (B, 1, T) or (B, T); padded frames contribute nothing.
        form: ``"release"`` (R = sum over valid frames, divided by B as ``batchmean`` does;
            κ = 1) or ``"textbook"`` (R = mean over all valid frames of the batch; κ = τ²).
        reduction: overrides the form's reduction: ``"sum_frames"`` or ``"mean_frames"``.
        tau2: overrides the form's τ² factor.

    Returns:
        Scalar loss; 0 iff student and teacher distributions agree on every valid frame.
    """
    if form not in KD_FORMS:
        raise ValueError(f"unknown KD form {form!r}; known: {sorted(KD_FORMS)}")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    _check_pair(student_logits, teacher_logits)
    red, scale = KD_FORMS[form]
    red = red if reduction is None else reduction
    scale = scale if tau2 is None else tau2
    b, _, t = student_logits.shape
    log_p = F.log_softmax(student_logits / temperature, dim=1)
    log_q = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    kl = (log_q.exp() * (log_q - log_p)).sum(dim=1)  # (B, T)
    m = _frame_mask(mask, b, t, kl)
    total = (kl * m).sum()
    if red == "sum_frames":
        loss = total / b
    elif red == "mean_frames":
        loss = total / m.sum().clamp_min(1.0)
    else:
        raise ValueError(f"unknown KD reduction {reduction!r}; use 'sum_frames' or 'mean_frames'")
    return loss * temperature**2 if scale else loss


def _mean_dist(x: torch.Tensor, chunk: int | None) -> torch.Tensor:
    """Mean of the positive entries of cdist(x, x) for x (N, F); 0 when there are none."""
    n = x.shape[0]
    if chunk is None or chunk >= n:
        d = torch.cdist(x, x)
        total, count = d.sum(), (d > 0).sum()
    else:
        total = x.new_zeros(())
        count = torch.zeros((), dtype=torch.long, device=x.device)
        for i in range(0, n, chunk):
            total = total + checkpoint(
                lambda a, b: torch.cdist(a, b).sum(), x[i : i + chunk], x, use_reentrant=False
            )
            with torch.no_grad():
                count = count + (torch.cdist(x[i : i + chunk], x) > 0).sum()
    return total / count.clamp_min(1).to(x.dtype)


def _rkd_one(xs: torch.Tensor, xt: torch.Tensor, kind: str, eps: float, chunk: int | None):
    """RKD distance loss for one video; xs, xt are (N, F_s), (N, F_t)."""
    n = xs.shape[0]
    mu_s = _mean_dist(xs, chunk) + eps
    with torch.no_grad():
        mu_t = _mean_dist(xt, chunk) + eps
    elem = F.mse_loss if kind == "mse" else F.smooth_l1_loss  # smooth_l1 β = 1 = Huber δ = 1

    def block(a: torch.Tensor, b: torch.Tensor, mu: torch.Tensor, ta: torch.Tensor):
        ds = torch.cdist(a, b) / mu
        with torch.no_grad():
            dt = torch.cdist(ta, xt) / mu_t
        return elem(ds, dt, reduction="sum")

    if chunk is None or chunk >= n:
        return block(xs, xs, mu_s, xt) / (n * n)
    total = xs.new_zeros(())
    for i in range(0, n, chunk):
        total = total + checkpoint(
            block, xs[i : i + chunk], xs, mu_s, xt[i : i + chunk], use_reentrant=False
        )
    return total / (n * n)


def rkd_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
    loss: str = "mse",
    eps: float = EPS_RELEASE,
    chunk_size: int | None = None,
    max_frames: int | None = None,
) -> torch.Tensor:
    """Distance-wise relational KD over the frames of each video (Park et al.; D10).

    Per video with N valid frames x_1..x_N: D_ij = ‖x_i − x_j‖₂, μ = mean of the D_ij > 0,
    ψ = D / (μ + eps) for student and (detached) teacher separately, and
    L_video = (1/N²) Σ_ij ℓ(ψ^S_ij − ψ^T_ij), ℓ = squared error (release) or Huber δ=1 (Park).
    The result is the mean of L_video over the B videos. Scale-invariant in either input; the
    widths F may differ.

    Memory: the full N×N matrices are O(N²) (0.4 GB per float32 matrix at N = 10k).
    ``chunk_size`` computes them in row blocks under activation checkpointing (peak O(chunk·N),
    about 2× the compute); ``max_frames`` keeps ``max_frames`` evenly spaced valid frames
    (deterministic; default all frames as released).

    Args:
        student_features: (B, F_s, T).
        teacher_features: (B, F_t, T); detached here.
        mask: (B, 1, T) or (B, T).
        loss: ``"mse"`` (release) or ``"huber"`` (Park et al.).
        eps: added to μ (release 1e-6).
        chunk_size: row-block size, or None for the full matrix.
        max_frames: cap on frames per video, or None.

    Returns:
        Scalar loss. With N ≤ 1 (e.g. T = 1) there are no pairs and a video contributes 0.
    """
    if loss not in ("mse", "huber"):
        raise ValueError(f"unknown RKD loss {loss!r}; use 'mse' or 'huber'")
    _check_pair(student_features, teacher_features, same_width=False)
    b, _, t = student_features.shape
    m = _frame_mask(mask, b, t, student_features) > 0
    teacher = teacher_features.detach()
    losses = []
    for i in range(b):
        idx = m[i].nonzero().squeeze(1)
        if max_frames is not None and idx.numel() > max_frames:
            pick = torch.linspace(0, idx.numel() - 1, max_frames, device=idx.device).round().long()
            idx = idx[pick]
        xs = student_features[i][:, idx].transpose(0, 1)  # (N, F_s)
        xt = teacher[i][:, idx].transpose(0, 1)  # (N, F_t)
        if idx.numel() < 2:
            losses.append(xs.sum() * 0.0)  # keeps the graph, no NaN
        else:
            losses.append(_rkd_one(xs, xt, loss, eps, chunk_size))
    return torch.stack(losses).mean()


def _channel_cov(z: torch.Tensor, eps: float) -> torch.Tensor:
    """(F, F) covariance over time of z (F, N), divided by (N − 1 + eps) as released."""
    zc = z - z.mean(dim=1, keepdim=True)
    return zc @ zc.transpose(0, 1) / (z.shape[1] - 1 + eps)


def _frame_gram(z: torch.Tensor) -> torch.Tensor:
    """(N, N) frame Gram ⟨ẑ_i, ẑ_j⟩ / F with each frame centred over its channels."""
    zc = z - z.mean(dim=0, keepdim=True)
    return zc.transpose(0, 1) @ zc / z.shape[0]


def gcr_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
    matrix: str = "channel",
    include_diag: bool = False,
    eps: float = EPS_RELEASE,
) -> torch.Tensor:
    """Global contextual relation: MSE between channel covariances (D10).

    ``matrix="channel"`` (release): per video, Σ = Z̄ Z̄ᵀ / (N − 1 + eps) ∈ R^{F×F} with Z̄ the
    features centred over the N valid frames; L_video = mean over the strict upper triangle
    (F(F−1)/2 entries; the diagonal too if ``include_diag``) of (Σ^S − Σ^T)². ``matrix="frame"``
    (spec's alternative reading): G_ij = ⟨ẑ_i, ẑ_j⟩ / F, ẑ centred over channels,
    L_video = ‖G^S − G^T‖²_F / N² (O(N²) memory). Mean over the B videos.

    Args:
        student_features: (B, F, T).
        teacher_features: (B, F, T); detached here. Widths must match (use an adapter if not).
        mask: (B, 1, T) or (B, T).
        matrix: ``"channel"`` or ``"frame"``.
        include_diag: keep the variances (channel matrix only).
        eps: added to the N − 1 denominator (release 1e-6).

    Returns:
        Scalar loss. Translation-invariant over time. At N = 1 the covariance is 0 for both
        sides, so a video contributes 0 (no NaN); an empty video contributes 0.
    """
    if matrix not in ("channel", "frame"):
        raise ValueError(f"unknown GCR matrix {matrix!r}; use 'channel' or 'frame'")
    _check_pair(student_features, teacher_features)
    b, f, t = student_features.shape
    m = _frame_mask(mask, b, t, student_features) > 0
    teacher = teacher_features.detach()
    rows, cols = torch.triu_indices(f, f, offset=0 if include_diag else 1)
    losses = []
    for i in range(b):
        idx = m[i].nonzero().squeeze(1)
        zs, zt = student_features[i][:, idx], teacher[i][:, idx]  # (F, N)
        if idx.numel() == 0 or (matrix == "channel" and rows.numel() == 0):
            losses.append(zs.sum() * 0.0)
        elif matrix == "channel":
            cs, ct = _channel_cov(zs, eps), _channel_cov(zt, eps)
            losses.append(F.mse_loss(cs[rows, cols], ct[rows, cols]))
        else:
            losses.append(F.mse_loss(_frame_gram(zs), _frame_gram(zt)))
    return torch.stack(losses).mean()


def mars_loss(
    student_features: torch.Tensor,
    teacher_features: torch.Tensor,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """MARS feature MSE (Crasto et al.): (1/(N·F)) Σ_t ‖z^S_t − sg z^T_t‖² over the N valid frames.

    Args:
        student_features: (B, F, T).
        teacher_features: (B, F, T); detached here.
        mask: (B, 1, T) or (B, T).

    Returns:
        Scalar mean over all valid (frame, channel) entries of the batch (``nn.MSELoss`` when no
        frame is padded). The weight α = 50 (:data:`MARS_ALPHA`) is applied by the caller.
    """
    _check_pair(student_features, teacher_features)
    b, f, t = student_features.shape
    m = _frame_mask(mask, b, t, student_features).unsqueeze(1)  # (B, 1, T)
    sq = (student_features - teacher_features.detach()).pow(2) * m
    return sq.sum() / (m.sum() * f).clamp_min(1.0)


DISTILL_LOSSES: Mapping[str, Callable[..., torch.Tensor]] = {
    "kd": kd_loss,
    "rkd": rkd_loss,
    "gcr": gcr_loss,
    "mars": mars_loss,
}


def stagewise(
    loss_fn: Callable[..., torch.Tensor],
    student: SegmenterOutput,
    teacher: SegmenterOutput,
    stages: str | Sequence[int] = "all",
    field: str = "logits",
    reduction: str = "sum",
    pairing: str = "same_index",
    **kw,
) -> torch.Tensor:
    """Apply ``loss_fn`` to student stage s and teacher stage s and combine (D8, D9).

    Args:
        loss_fn: one of :data:`DISTILL_LOSSES` (or any (student, teacher, **kw) loss).
        student: the student's output; ``field`` selects ``logits`` (B, C, T) or ``features``
            (B, F, T) per stage.
        teacher: the teacher's output.
        stages: ``"all"`` (release KD), ``"last"`` (release RKD/GCR, MARS) or student stage indices
            (negative allowed).
        field: ``"logits"`` or ``"features"``.
        reduction: ``"sum"`` over the selected stages (release) or ``"mean"``.
        pairing: ``"same_index"`` (release: depths must match) or ``"last_aligned"`` (D8 option:
            student stage s ↔ teacher stage s + S_T − S_S, for a deeper baseline teacher).
        **kw: passed to ``loss_fn`` (``mask``, ``temperature``, ...).

    Raises:
        ValueError: depth mismatch under ``same_index``, a shallower teacher, unknown options or
            stage indices out of range.
    """
    if field not in ("logits", "features"):
        raise ValueError(f"field must be 'logits' or 'features', got {field!r}")
    s_list, t_list = getattr(student, field), getattr(teacher, field)
    n_s, n_t = len(s_list), len(t_list)
    if n_s == 0:
        raise ValueError("student output has no stages")
    if pairing == "same_index":
        if n_s != n_t:
            raise ValueError(
                f"student has {n_s} stages but teacher has {n_t}; same_index pairing needs equal "
                "depths (use pairing='last_aligned' for a deeper teacher)"
            )
        offset = 0
    elif pairing == "last_aligned":
        if n_t < n_s:
            raise ValueError(f"teacher ({n_t} stages) is shallower than student ({n_s})")
        offset = n_t - n_s
    else:
        raise ValueError(f"unknown pairing {pairing!r}; use 'same_index' or 'last_aligned'")
    if stages == "all":
        idx = list(range(n_s))
    elif stages == "last":
        idx = [n_s - 1]
    elif isinstance(stages, str):
        raise ValueError(f"stages must be 'all', 'last' or indices, got {stages!r}")
    else:
        idx = []
        for s in stages:
            if not -n_s <= s < n_s:
                raise ValueError(f"stage index {s} out of range for {n_s} stages")
            idx.append(s % n_s)
    if not idx:
        raise ValueError("no stages selected")
    terms = [loss_fn(s_list[s], t_list[s + offset], **kw) for s in idx]
    total = torch.stack(terms).sum()
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total / len(terms)
    raise ValueError(f"unknown reduction {reduction!r}; use 'sum' or 'mean'")


class ModalityBridge(nn.Module):
    """RGB-I3D → pseudo-flow-I3D map: 1×1 conv D→H, ReLU, 1×1 conv H→D (D7).

    Two per-frame FC layers (paper §3.1). Defaults D = 1024, H = 256 give
    2·1024·256 + 256 + 1024 = 525,568 parameters. Input and output are (B, D, T).
    """

    def __init__(self, in_dim: int = 1024, hidden: int = 256, out_dim: int | None = None):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_dim, hidden, kernel_size=1),
            nn.ReLU(),
            nn.Conv1d(hidden, in_dim if out_dim is None else out_dim, kernel_size=1),
        )

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """rgb: (B, D, T) RGB I3D rows → (B, D_out, T) pseudo-flow rows."""
        return self.net(rgb)

    def freeze(self) -> ModalityBridge:
        """Eval mode and no gradients, as the release uses the pre-trained bridge."""
        self.eval()
        self.requires_grad_(False)
        return self


def bridge_loss(
    pseudo_flow: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor | None = None,
    padding: str = "exclude",
) -> torch.Tensor:
    """MSE between the bridge output and the flow I3D rows (paper §3.3, D7).

    Args:
        pseudo_flow: (B, D, T) bridge output.
        flow: (B, D, T) flow I3D rows (the target; detached).
        mask: (B, 1, T) or (B, T).
        padding: ``"exclude"`` (mean over valid frames × D; D7 paper-literal default) or
            ``"include"`` (mean over the whole padded tensor, the release's ``nn.MSELoss``).
    """
    if padding == "include":
        _check_pair(pseudo_flow, flow)
        return F.mse_loss(pseudo_flow, flow.detach())
    if padding != "exclude":
        raise ValueError(f"unknown padding {padding!r}; use 'exclude' or 'include'")
    return mars_loss(pseudo_flow, flow, mask)


DISTILL_FIELDS: Mapping[str, str] = {
    "kd": "logits",
    "rkd": "features",
    "gcr": "features",
    "mars": "features",
}
"""Which per-stage tensor each loss compares."""
KD_REDUCTIONS: tuple[str, ...] = ("sum_frames", "mean_frames")
STAGE_CHOICES: tuple[str, ...] = ("default", "all", "last")
PAIRINGS: tuple[str, ...] = ("same_index", "last_aligned")
RKD_LOSSES: tuple[str, ...] = ("mse", "huber")
GCR_MATRICES: tuple[str, ...] = ("channel", "frame")


@dataclass(frozen=True)
class DistillSettings:
    """One distillation loss between a student and the frozen teacher, with the release's
    defaults (D8-D10, docs/decisions.md; docs/distillation.md).

    Attributes:
        method: ``kd``, ``rkd``, ``gcr`` or ``mars``.
        temperature: KD τ (release 2).
        kd_reduction: ``sum_frames`` (release) or ``mean_frames``.
        kd_tau2: multiply KD by τ² (release False).
        stages: ``default`` (:data:`DEFAULT_STAGES`: KD every stage, the others the last),
            ``all`` or ``last``.
        pairing: ``same_index`` (release; equal depths) or ``last_aligned`` (deeper teacher).
        rkd_loss: ``mse`` (release) or ``huber`` (Park et al.).
        gcr_matrix: ``channel`` (release, d × d) or ``frame`` (T × T).
    """

    method: str
    temperature: float = KD_TEMPERATURE
    kd_reduction: str = "sum_frames"
    kd_tau2: bool = False
    stages: str = "default"
    pairing: str = "same_index"
    rkd_loss: str = "mse"
    gcr_matrix: str = "channel"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("method", tuple(DISTILL_LOSSES)), ("kd_reduction", KD_REDUCTIONS),
            ("stages", STAGE_CHOICES), ("pairing", PAIRINGS), ("rkd_loss", RKD_LOSSES),
            ("gcr_matrix", GCR_MATRICES),
        ):  # fmt: skip
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not isinstance(self.kd_tau2, bool):
            raise ValueError(f"kd_tau2 must be true or false, got {self.kd_tau2!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature!r}")

    def loss(
        self, student: SegmenterOutput, teacher: SegmenterOutput, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """The loss summed over the selected stage pairs (teacher tensors detached)."""
        kw: dict[str, object] = {}
        if self.method == "kd":
            kw.update(temperature=self.temperature, reduction=self.kd_reduction, tau2=self.kd_tau2)
        elif self.method == "rkd":
            kw["loss"] = self.rkd_loss
        elif self.method == "gcr":
            kw["matrix"] = self.gcr_matrix
        # bound here: stagewise has a ``reduction`` argument of its own (over stages)
        loss_fn = functools.partial(DISTILL_LOSSES[self.method], **kw)
        detached = SegmenterOutput(
            logits=[t.detach() for t in teacher.logits],
            features=[t.detach() for t in teacher.features],
        )
        stages = DEFAULT_STAGES[self.method] if self.stages == "default" else self.stages
        return stagewise(
            loss_fn,
            student,
            detached,
            stages=stages,
            field=DISTILL_FIELDS[self.method],
            pairing=self.pairing,
            mask=mask,
        )
