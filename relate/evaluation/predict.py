"""Frame probabilities of a trained run on the test videos of a split, as one .npz file
(layout: :mod:`relate.evaluation.predictions`).

The model is rebuilt from the run's stored config (:mod:`relate.runs.model_hooks`) and sees
the rows its method reads. With a sample rate r > 1 (50Salads: 2) the model sees every r-th
feature frame and each prediction is repeated r times, so a video of T feature frames gets
r * ceil(T / r) frames, possibly more than its ground truth; the evaluator scores a longer
prediction as MS-TCN's eval.py does. Predictions are never truncated.

A ``relate`` run has the heads ``rgb``, ``flow`` and ``joint`` (each model head's raw
probabilities), ``joint_refined`` (prediction refinement with the run's delta and options,
applied at the model's frame rate before the repeat) and ``final`` = ``joint_refined``; the
file's meta records ``refine`` = {"delta", "options"}. Score "RELATE (w/o PR)" with
``--head joint`` and "RELATE" with ``--head final``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from relate.data.layout import DatasetLayout, load_split
from relate.data.validate import validate_dataset
from relate.errors import DataError
from relate.evaluation.predictions import FINAL_HEAD, FORMAT, upsample, write_predictions
from relate.runs.checkpoint import load_weights
from relate.runs.devices import resolve_device
from relate.runs.inputs import read_block, read_classes
from relate.runs.record import read_run

logger = logging.getLogger(__name__)


def predict_split(
    run_dir: Path,
    data: Path,
    split: int,
    out: Path,
    device: str = "cpu",
    pr_options: Mapping[str, Any] | None = None,
) -> int:
    """Write ``out`` (.npz) for the test videos of ``split``; returns the number of videos.
    ``pr_options`` override a ``relate`` run's prediction-refinement options."""
    run = read_run(Path(run_dir))
    layout = DatasetLayout(Path(data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    if classes != run.classes:
        raise DataError(
            layout.mapping_path,
            f"classes differ from the run's ({len(classes)} vs {len(run.classes)} "
            "classes, or other names/ids); predict on the dataset the run was trained on",
        )
    hooks = run.method.model()
    refinement = hooks.refinement(run.config, pr_options)
    videos = load_split(layout, "test", split)
    torch_device = resolve_device(device)
    model = hooks.build(run.config).to(torch_device)
    load_weights(run.weights, model)
    model.eval()

    arrays: dict[str, np.ndarray] = {}
    frames: dict[str, int] = {}
    heads: list[str] = []
    for video in videos:
        block = read_block(layout.feature_path(video), run.method.input, None, run.sample_rate)
        for head, probs in hooks.predict(model, block, torch_device, refinement).items():
            if not np.isfinite(probs).all():
                raise DataError(
                    run.weights,
                    f"non-finite predictions for {video} (head {head}); the weights are unusable",
                )
            arrays[f"{video}/{head}"] = np.ascontiguousarray(upsample(probs, run.sample_rate))
            if head not in heads:
                heads.append(head)
        frames[video] = int(arrays[f"{video}/{FINAL_HEAD}"].shape[1])
        logger.debug("%s: %d frames", video, frames[video])
    meta = {
        "format": FORMAT,
        "dataset": run.dataset,
        "synthetic": run.synthetic,
        "split": split,
        "classes": {str(i): name for i, name in enumerate(classes)},
        "heads": heads,
        "sample_rate": run.sample_rate,
        "videos": videos,
        "frames": frames,
        "run": str(run_dir),
        "config": run.config,
    }
    if refinement is not None:
        meta["refine"] = refinement
    write_predictions(out, arrays, meta)
    logger.info(
        "%s: %d test videos of split %d, heads %s", out, len(videos), split, ", ".join(heads)
    )
    return len(videos)
