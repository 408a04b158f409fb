"""Single-branch distilled RGB students ``kd``, ``rkd``, ``gcr``, ``mars`` (docs/distillation.md).

One RGB segmenter (the RGB baseline's architecture by default; D20 of docs/decisions.md)
learns from the labels and from a frozen ``flow`` teacher of the same architecture:

    x_rgb (B, 1024, T) --> segmenter --> logits_s, features_s
    L = L_seg + weight * L_distill(student, teacher)

=========  =============================================  ======  =============================
method     distillation term (relate.blocks.distill)      weight  paper rows
=========  =============================================  ======  =============================
``kd``     KL at τ = 2 on the logits of every stage       0.5     Table 2 row 2, Table 4 (no DB)
``rkd``    distance-wise relational KD, last-stage feat.  0.5     Table 4 (no DB)
``gcr``    channel-covariance MSE, last-stage features    0.5     Table 4 (no DB)
``mars``   feature MSE (MARS), last-stage features        50      Fig. 1
=========  =============================================  ======  =============================

The methods are the student losses of the loss table (:mod:`relate.blocks.distill.table`,
which gives each its default weight); the loss forms and their options are those of RELATE's
CMKD (:class:`DistillSettings`), so a ``kd`` student and RELATE's flow branch are distilled the
same way. As for RELATE, the teacher is not part of the module: the trainer runs it frozen on
the flow rows and passes its output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from relate import segmenters
from relate.blocks.distill.settings import DistillSettings, check_option_knobs, spec_settings
from relate.blocks.distill.table import (
    KD_TEMPERATURE,
    NESTED_PREFIX,
    loss_entry,
    student_losses,
)
from relate.blocks.relate_spec import RELEASE_DEPTH, RGB_DIM
from relate.blocks.spec_options import as_float, as_int, split_options
from relate.segmenters.base import Segmenter, SegmenterOutput

DEPTHS: tuple[str, ...] = ("baseline", "relate")
_NOT_OPTIONS = (
    "method", "segmenter", "dataset", "num_classes", "segmenter_options", "distill_options",
)  # fmt: skip


@dataclass(frozen=True)
class StudentSpec:
    """A single-branch distilled student; defaults follow docs/distillation.md and D20.

    Attributes:
        method: a student loss of the loss table: ``kd``, ``rkd``, ``gcr`` or ``mars``.
        segmenter, dataset, num_classes: as for the baselines.
        depth: ``baseline`` (the RGB baseline's official depth, D20 default) or ``relate``
            (RELATE's 3 stages: ``single_branch_depth: relate``).
        weight: weight of the distillation term (None = the loss entry's: 0.5, MARS 50).
        temperature, kd_reduction, kd_tau2, kd_stages, rkd_loss, gcr_matrix: the loss's
            knobs that have option names of their own (:mod:`relate.blocks.distill.table`).
        segmenter_options: extra ``segmenters.build`` overrides (widths, ...).
        distill_options: the loss's other knobs (``distill.<knob>`` options).
    """

    method: str
    segmenter: str
    dataset: str
    num_classes: int
    depth: str = "baseline"
    weight: float | None = None
    temperature: float = KD_TEMPERATURE
    kd_reduction: str = "sum_frames"
    kd_tau2: bool = False
    kd_stages: str = "default"
    rkd_loss: str = "mse"
    gcr_matrix: str = "channel"
    in_dim: int = RGB_DIM
    segmenter_options: Mapping[str, Any] = field(default_factory=dict)
    distill_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in student_losses():
            raise ValueError(f"method must be one of {student_losses()}, got {self.method!r}")
        if self.segmenter not in segmenters.SEGMENTERS:
            known = tuple(segmenters.SEGMENTERS)
            raise ValueError(f"segmenter must be one of {known}, got {self.segmenter!r}")
        if self.depth not in DEPTHS:
            raise ValueError(f"depth must be one of {DEPTHS}, got {self.depth!r}")
        if self.weight is not None and not self.weight >= 0:
            raise ValueError(f"weight must be >= 0, got {self.weight!r}")
        object.__setattr__(self, "distill_options", dict(self.distill_options))
        check_option_knobs(self)
        self.distill_settings()
        object.__setattr__(self, "segmenter_options", dict(self.segmenter_options))
        clash = set(self._depth_overrides()) & set(self.segmenter_options)
        if clash:
            raise ValueError(f"set {sorted(clash)} through depth, not segmenter options")

    @property
    def loss_weight(self) -> float:
        """The distillation term's weight (the loss entry's: 0.5, 50 for MARS, unless set)."""
        return loss_entry(self.method).weight if self.weight is None else float(self.weight)

    def distill_settings(self) -> DistillSettings:
        """The distillation loss (same index pairing: teacher and student share a depth)."""
        return spec_settings(self, self.method)

    def _depth_overrides(self) -> dict[str, Any]:
        if self.depth == "baseline":
            return {}
        return segmenters.entry(self.segmenter).depth_overrides(RELEASE_DEPTH)

    def segmenter_overrides(self) -> dict[str, Any]:
        """``segmenters.build`` overrides of the student (and of its teacher)."""
        return {**self._depth_overrides(), **self.segmenter_options}

    @classmethod
    def from_options(
        cls, method: str, segmenter: str, dataset: str, num_classes: int, **options: Any
    ) -> StudentSpec:
        """Spec from CLI-style ``key=value`` options; ``segmenter.<key>=v`` goes to
        ``segmenter_options``, ``distill.<key>=v`` to ``distill_options``;
        ``single_branch_depth`` is an alias of ``depth``."""
        fields = [f.name for f in dataclasses.fields(cls) if f.name not in _NOT_OPTIONS]
        kwargs, nested = split_options(
            options,
            fields,
            ("segmenter.", NESTED_PREFIX),
            aliases={"single_branch_depth": "depth"},
            unknown=f"unknown option {{key!r}} for the {method} student",
        )
        for name in ("weight", "temperature"):
            if name in kwargs and kwargs[name] is not None:
                kwargs[name] = as_float(name, kwargs[name])
        if "in_dim" in kwargs:
            kwargs["in_dim"] = as_int("in_dim", kwargs["in_dim"])
        return cls(
            method,
            segmenter,
            dataset,
            int(num_classes),
            segmenter_options=nested["segmenter."],
            distill_options=nested[NESTED_PREFIX],
            **kwargs,
        )


class StudentModel(nn.Module):
    """The RGB segmenter of a distilled student; ``loss`` adds the distillation term."""

    def __init__(self, spec: StudentSpec) -> None:
        super().__init__()
        self.spec = spec
        self.segmenter: Segmenter = segmenters.build(
            spec.segmenter,
            spec.in_dim,
            spec.num_classes,
            spec.dataset,
            **spec.segmenter_overrides(),
        )

    def forward(self, x_rgb: torch.Tensor, mask: torch.Tensor | None = None) -> SegmenterOutput:
        """x_rgb: (B, 1024, T) RGB rows; mask: (B, 1, T) or None."""
        return self.segmenter(x_rgb, mask)

    def loss(
        self,
        output: SegmenterOutput,
        target: torch.Tensor,
        mask: torch.Tensor | None = None,
        teacher_output: SegmenterOutput | None = None,
        x_flow: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Terms ``seg`` (the segmenter's own loss), ``distill`` (unweighted) and ``total`` =
        seg + weight · distill. target: (B, T) ids (-100 ignored); teacher_output: the frozen
        teacher's output on the flow rows (required when the weight is > 0). ``x_flow`` is
        accepted for the trainer's common call and unused."""
        seg = self.segmenter.loss(output, target, mask)["total"]
        if teacher_output is not None:
            distill = self.spec.distill_settings().loss(output, teacher_output, mask)
        elif self.spec.loss_weight > 0:
            raise ValueError("teacher_output is required when the distillation weight is > 0")
        else:
            distill = seg.new_zeros(())
        return {"seg": seg, "distill": distill, "total": seg + self.spec.loss_weight * distill}

    def probabilities(self, output: SegmenterOutput) -> torch.Tensor:
        """(B, C, T) probabilities of the final prediction."""
        return self.segmenter.probabilities(output)


def build_student_teacher(spec: StudentSpec) -> Segmenter:
    """An (untrained) teacher with the student's architecture, on the flow rows."""
    return segmenters.build(
        spec.segmenter, spec.in_dim, spec.num_classes, spec.dataset, **spec.segmenter_overrides()
    )
