"""What every method's planning shares: the dataset's inputs and the resolved config."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from relate.data.layout import DatasetLayout, load_split
from relate.data.registry import DatasetInfo
from relate.data.validate import validate_dataset
from relate.data.variants import InputVariant
from relate.errors import RelateError
from relate.runs.inputs import read_classes
from relate.runs.request import TrainRequest
from relate.segmenters.training_defaults import TrainingDefaults

logger = logging.getLogger(__name__)

CONFIG_VERSION = 1


def check_seed(request: TrainRequest) -> None:
    """Seeds are non-negative integers."""
    if request.seed < 0:
        raise RelateError(f"--seed must be >= 0, got {request.seed}")


def dataset_inputs(
    request: TrainRequest, dataset: DatasetInfo
) -> tuple[DatasetLayout, list[str], list[str]]:
    """(layout, classes, training videos of the split), the labels checked (features are
    checked as they are read)."""
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    if len(classes) != dataset.n_classes:
        logger.warning(
            "%s has %d classes; the registry says %s has %d",
            layout.mapping_path, len(classes), dataset.name, dataset.n_classes,
        )  # fmt: skip
    return layout, classes, load_split(layout, "train", request.split)


def resolved_config(
    request: TrainRequest,
    dataset: DatasetInfo,
    variant: InputVariant,
    classes: list[str],
    videos: list[str],
    training: TrainingDefaults,
) -> dict[str, Any]:
    """Everything that determines the trained weights, as JSON (plus the invocation)."""
    return {
        "version": CONFIG_VERSION,
        "data": str(Path(request.data).resolve()),
        "dataset": {
            "name": dataset.name,
            "fps": dataset.fps,
            "sample_rate": dataset.sample_rate,
            "synthetic": dataset.synthetic,
            "background": list(dataset.background),
            "classes": classes,
        },
        "split": request.split,
        "train_videos": videos,
        "segmenter": {"name": request.segmenter, "overrides": dict(request.overrides)},
        "variant": variant.as_dict(),
        "seed": request.seed,
        "training": dataclasses.asdict(training),
        "invocation": invocation(request),
    }


def invocation(request: TrainRequest) -> dict[str, Any]:
    """How the run was executed (not compared on resumption); the fast-path options only
    when set, so that default runs keep their config.json unchanged."""
    record: dict[str, Any] = {"out": str(request.out), "device": request.device}
    if request.fast:
        record["fast"] = True
    if request.compile:
        record["compile"] = True
    if request.checkpoint_every != 1:
        record["checkpoint_every"] = request.checkpoint_every
    return record
