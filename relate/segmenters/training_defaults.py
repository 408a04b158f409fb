"""The official optimisation recipe of a segmenter on a dataset, as data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainingDefaults:
    """Attributes:
    epochs: epochs trained (the final epoch is the reported checkpoint).
    lr: base learning rate (Adam).
    weight_decay: Adam weight decay.
    batch_size: videos per optimiser step.
    scheduler: "none", "plateau" (ReduceLROnPlateau on the summed epoch loss,
        factor/patience below; ASFormer) or "step_reset" (FACT: lr = base * 0.1 at every
        epoch that is a multiple of ``lr_decay_every``, not compounded).
    plateau_factor, plateau_patience: ReduceLROnPlateau settings.
    lr_decay_every: FACT's ``lr_decay``.
    clip_grad_norm: gradient clipping (FACT: 10), or None.
    """

    epochs: int
    lr: float
    weight_decay: float = 0.0
    batch_size: int = 1
    scheduler: str = "none"
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    lr_decay_every: int | None = None
    clip_grad_norm: float | None = None
