"""Cross-modal distillation: the losses (KD, RKD, GCR, MARS), their table, stage pairing, the
settings a spec asks for, and the modality bridge (docs/distillation.md).

Sources (facts only, no code copied):
    * the RKD, GCR, logit-KD and MARS papers as summarised in docs/distillation.md;
    * the authors' release (github.com/Hsj303/RELATE at ``c2a977f``: ``relate/losses.py``
      L46-93, ``scripts/train.py`` L161-172) and where it departs from the paper: D7 (bridge),
      D8 (teacher), D9 (KD form), D10 (RKD/GCR details). D-numbers are sections of
      docs/decisions.md.
    * Paper §3.1 (two FC layers bridge the modality gap), §3.3 (L = L_RGB + L_OF + L_J + γ·L_CMKD).

Every loss detaches the teacher tensor itself, so no gradient can reach the teacher even if the
caller forgot ``torch.no_grad()``. Loss weights (γ = 0.5 for KD/RKD/GCR, α = 50 for MARS) are
applied by the caller.

The table (:mod:`relate.blocks.distill.table`) imports no torch; the losses, the bridge and
the settings do and are loaded on first use of their names here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from relate.blocks.distill.table import (
    CMKD_GAMMA,
    EPS_RELEASE,
    KD_TEMPERATURE,
    LOSSES,
    MARS_ALPHA,
    Knob,
    LossEntry,
    LossFunctions,
    loss_entry,
    registered,
    relate_losses,
    student_losses,
)

if TYPE_CHECKING:
    from relate.blocks.distill.bridge import ModalityBridge, bridge_loss
    from relate.blocks.distill.gcr import gcr_loss
    from relate.blocks.distill.kd import KD_FORMS, kd_loss
    from relate.blocks.distill.mars import mars_loss
    from relate.blocks.distill.rkd import rkd_loss
    from relate.blocks.distill.settings import DistillSettings
    from relate.blocks.distill.stages import PAIRINGS, STAGE_CHOICES, stagewise

DISTILL_LOSSES = LossFunctions()
"""Name -> loss function (a live view of :data:`LOSSES`; each imported on access)."""

_LAZY = {
    "ModalityBridge": "bridge",
    "bridge_loss": "bridge",
    "gcr_loss": "gcr",
    "KD_FORMS": "kd",
    "kd_loss": "kd",
    "mars_loss": "mars",
    "rkd_loss": "rkd",
    "DistillSettings": "settings",
    "PAIRINGS": "stages",
    "STAGE_CHOICES": "stages",
    "stagewise": "stages",
}

__all__ = [
    "CMKD_GAMMA",
    "DISTILL_LOSSES",
    "EPS_RELEASE",
    "KD_TEMPERATURE",
    "LOSSES",
    "MARS_ALPHA",
    "Knob",
    "LossEntry",
    "loss_entry",
    "registered",
    "relate_losses",
    "student_losses",
    "ModalityBridge",
    "bridge_loss",
    "gcr_loss",
    "KD_FORMS",
    "kd_loss",
    "mars_loss",
    "rkd_loss",
    "DistillSettings",
    "PAIRINGS",
    "STAGE_CHOICES",
    "stagewise",
]


def __getattr__(name: str) -> Any:
    """The names that import torch, loaded on first use."""
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
