"""Training hooks of the label-supervised variants ``rgb``, ``flow`` and ``two_stream``: the
segmenter's official recipe on the variant's rows. (``--variant flow --teacher-for V`` is
planned by ``V``'s hooks: :func:`relate.runs.methods.distilled.plan_teacher`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from relate import segmenters
from relate.data.registry import DatasetInfo
from relate.data.variants import get_variant
from relate.errors import RelateError
from relate.runs.planning import check_seed, dataset_inputs, resolved_config
from relate.runs.recipe import resolve_training
from relate.runs.request import RunPlan, TrainRequest
from relate.segmenters.base import SegmenterOutput


class BaselineTraining:
    """Plan, frozen parts (none) and the loss of one video."""

    def plan(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """Check the request and the dataset's labels; resolve the recipe and the config."""
        if (
            request.teacher is not None
            or request.relate_options
            or request.preset is not None
            or request.bridge is not None
        ):
            raise RelateError(
                "--teacher, --option, --preset and --bridge apply to the distilled variants "
                "(relate, kd, rkd, gcr, mars) only"
            )
        variant = get_variant(request.variant)
        check_seed(request)
        layout, classes, videos = dataset_inputs(request, dataset)
        try:
            defaults = segmenters.defaults(request.segmenter, dataset.name)
        except ModuleNotFoundError as error:
            raise RelateError(
                f"segmenter {request.segmenter!r} is not available ({error})"
            ) from None
        except KeyError as error:
            raise RelateError(
                f"no {request.segmenter} recipe for {dataset.name}: {error}"
            ) from None
        training = resolve_training(defaults, request.epochs, request.training_overrides)
        config = resolved_config(request, dataset, variant, classes, videos, training)
        return RunPlan(
            config, layout, dataset, variant, training, classes, videos, Path(request.out)
        )

    def plan_teacher(self, request: TrainRequest, dataset: DatasetInfo) -> RunPlan:
        """A label-supervised variant has no teacher."""
        raise RelateError(
            f"--teacher-for must name a distilled variant, got {request.teacher_for!r}"
        )

    def frozen(self, config: Mapping[str, Any], device: torch.device) -> None:
        """Frozen modules the loss needs, loaded before the model is built (none)."""
        return None

    def attach(self, config: Mapping[str, Any], model: torch.nn.Module) -> None:
        """Load pre-trained parts into the freshly built model (none)."""

    def trainable(self, model: torch.nn.Module) -> Iterable[torch.nn.Parameter]:
        """The parameters the optimiser updates."""
        return model.parameters()

    def step(
        self,
        model: torch.nn.Module,
        frozen: Any,
        x: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
    ) -> tuple[SegmenterOutput, dict[str, torch.Tensor]]:
        """Output and loss terms for one (1, D, T') block, target (1, T'), mask (1, 1, T')."""
        output = model(x, mask)
        return output, model.loss(output, target, mask)  # type: ignore[operator]


HOOKS = BaselineTraining()
