"""The two hook interfaces a method implements (typing only; no torch at import)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import torch

    from relate.data.registry import DatasetInfo
    from relate.runs.request import RunPlan, TrainRequest


class ModelHooks(Protocol):
    """The model side: all that ``relate predict`` needs."""

    def build(self, config: Mapping[str, Any]) -> torch.nn.Module:
        """The model a stored config describes (fresh weights from the current RNG)."""
        ...

    def refinement(
        self, config: Mapping[str, Any], overrides: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """The run's prediction refinement with ``--pr-option`` overrides (None: none)."""
        ...

    def predict(
        self,
        model: torch.nn.Module,
        block: np.ndarray,
        device: torch.device,
        refinement: Mapping[str, Any] | None,
    ) -> dict[str, np.ndarray]:
        """Probabilities (C, T') per head for one (D, T') block of the rows the run reads."""
        ...


class TrainingHooks(Protocol):
    """The training side: planning, frozen parts, and one video's loss."""

    def plan(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """Check the request and resolve the run's config (options parsed here, once)."""
        ...

    def plan_teacher(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """``--variant flow --teacher-for <this method>``: the ``flow`` run this method distils
        from (methods without a teacher raise)."""
        ...

    def frozen(self, config: Mapping[str, Any], device: torch.device) -> Any:
        """Frozen modules the loss needs (a teacher), loaded before the model is built."""
        ...

    def attach(self, config: Mapping[str, Any], model: torch.nn.Module) -> None:
        """Load pre-trained parts into the freshly built model."""
        ...

    def trainable(self, model: torch.nn.Module) -> Iterable[torch.nn.Parameter]:
        """The parameters the optimiser updates."""
        ...

    def step(
        self,
        model: torch.nn.Module,
        frozen: Any,
        x: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[Any, dict[str, torch.Tensor]]:
        """(output, loss terms with ``total``) for one (1, D, T') block, target (1, T'),
        mask (1, 1, T')."""
        ...
