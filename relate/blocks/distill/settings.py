"""One distillation loss between a student and its frozen teacher, as a spec asks for it.

:class:`DistillSettings` is what RELATE's CMKD (:class:`relate.blocks.relate_model.RelateSpec`)
and the single-branch students (:class:`relate.blocks.students.StudentSpec`) both use, so a
``kd`` student and RELATE's flow branch are distilled the same way (D8-D10 of
docs/decisions.md). Shape legend: B batch, T frames.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from relate.blocks.distill.stages import PAIRINGS, stagewise
from relate.blocks.distill.table import LOSSES, NESTED_PREFIX, loss_entry, named_knobs
from relate.segmenters.base import SegmenterOutput


@dataclass(frozen=True)
class DistillSettings:
    """A loss of :data:`relate.blocks.distill.table.LOSSES` with its knobs and stage pairing.

    Attributes:
        method: the loss's name.
        knobs: knob name -> value; a knob not given takes its default (the release's).
        pairing: ``same_index`` (release; equal depths) or ``last_aligned`` (deeper teacher).
    """

    method: str
    knobs: Mapping[str, Any] = field(default_factory=dict)
    pairing: str = "same_index"

    def __post_init__(self) -> None:
        if self.method not in LOSSES:
            raise ValueError(f"method must be one of {tuple(LOSSES)}, got {self.method!r}")
        entry = LOSSES[self.method]
        unknown = sorted(set(self.knobs) - set(entry.knobs))
        if unknown:
            raise ValueError(f"{self.method} has no knob(s) {unknown}; known: {list(entry.knobs)}")
        for name, value in self.knobs.items():
            entry.knobs[name].check(entry.option_name(name), value)
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {PAIRINGS}, got {self.pairing!r}")
        full = {name: knob.default for name, knob in entry.knobs.items()}
        full.update(self.knobs)
        object.__setattr__(self, "knobs", full)

    def loss(
        self, student: SegmenterOutput, teacher: SegmenterOutput, mask: torch.Tensor | None
    ) -> torch.Tensor:
        """The loss summed over the selected stage pairs (teacher tensors detached)."""
        entry = loss_entry(self.method)
        kw = {name: value for name, value in self.knobs.items() if name != "stages"}
        # bound here: stagewise has a ``reduction`` argument of its own (over stages)
        loss_fn = functools.partial(entry.load(), **kw)
        detached = SegmenterOutput(
            logits=[t.detach() for t in teacher.logits],
            features=[t.detach() for t in teacher.features],
        )
        stages = self.knobs.get("stages", "default")
        return stagewise(
            loss_fn,
            student,
            detached,
            stages=entry.stages if stages == "default" else stages,
            field=entry.tensor,
            pairing=self.pairing,
            mask=mask,
        )


def check_option_knobs(spec: Any) -> None:
    """Check every knob a spec keeps in a field of its own, whichever loss it uses (the
    field's option name is the name in the message)."""
    for option, (_, knob) in named_knobs().items():
        if hasattr(spec, option):
            knob.check(option, getattr(spec, option))


def spec_settings(spec: Any, method: str, pairing: str = "same_index") -> DistillSettings:
    """The :class:`DistillSettings` of loss ``method`` from a spec: knobs with an option name
    from the spec's field of that name, the others from its ``distill_options``."""
    entry = loss_entry(method)
    nested = dict(spec.distill_options)
    unknown = sorted(k for k in nested if k not in entry.knobs or entry.knobs[k].option)
    if unknown:
        known = [NESTED_PREFIX + k for k, knob in entry.knobs.items() if not knob.option]
        raise ValueError(
            f"{method} takes no {[NESTED_PREFIX + k for k in unknown]}; known: {known or 'none'}"
        )
    knobs = {
        name: getattr(spec, knob.option) if knob.option else nested[name]
        for name, knob in entry.knobs.items()
        if knob.option or name in nested
    }
    return DistillSettings(method, knobs, pairing)
