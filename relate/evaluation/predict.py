"""Frame probabilities of a trained run on the test videos of a split, as one .npz file.

Layout of the file (no pickled objects; load with ``np.load(path)``):

* ``"{video}/stage{s}"``, s = 1..S: float32 (C, T) softmax of stage s's logits
  (``stage1`` is the first stage, ``SegmenterOutput.logits[0]``);
* ``"{video}/final"``: float32 (C, T) ``model.probabilities(output)``, the prediction head;
* ``"__meta__"``: a 0-d unicode array holding a JSON object: dataset, synthetic, split,
  classes (id -> name, ids as in mapping.txt), heads, sample_rate, videos, frames (the
  GT-rate length of each video's arrays) and the run's config.

Time runs at the ground truth's rate. With a sample rate r > 1 (50Salads: 2) the model sees
every r-th feature frame and each prediction is repeated r times, so a video of T feature
frames gets r * ceil(T / r) frames, possibly more than its ground truth; the evaluator
scores a longer prediction as MS-TCN's eval.py does. Predictions are never truncated.

A ``relate`` run (``--variant relate``) has the heads ``rgb``, ``flow`` and ``joint`` (each
model head's raw probabilities), ``joint_refined`` (prediction refinement with the default
delta and options, applied at the model's frame rate before the repeat) and ``final`` =
``joint_refined``; ``__meta__`` records ``refine`` = {"delta", "options"}. Score "RELATE
(w/o PR)" with ``--head joint`` and "RELATE" with ``--head final``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from relate.data.layout import DatasetLayout, load_split
from relate.data.registry import RGB_ROWS
from relate.data.validate import validate_dataset
from relate.data.variants import RELATE_VARIANT, STUDENT_VARIANTS, get_variant
from relate.errors import DataError, RelateError
from relate.io import atomic_path
from relate.runs.checkpoint import load_weights
from relate.runs.train import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    build_model,
    read_block,
    read_classes,
    resolve_device,
    upsample,
)

logger = logging.getLogger(__name__)

META_KEY = "__meta__"
FINAL_HEAD = "final"


def head_names(num_stages: int) -> list[str]:
    """``["stage1", ..., "stageS", "final"]``."""
    return [f"stage{s}" for s in range(1, num_stages + 1)] + [FINAL_HEAD]


def read_run_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.json; ``DataError`` naming it if missing or unreadable."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, "missing run config (is this a `relate train` run folder?)") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, f"unreadable run config ({error})") from None
    if not isinstance(config, dict) or not {"dataset", "segmenter", "variant"} <= set(config):
        raise DataError(path, "not a `relate train` config (needs dataset, segmenter, variant)")
    problem = config_type_problem(config)
    if problem:
        raise DataError(path, f"invalid run config: {problem}")
    return config


def config_type_problem(config: Mapping[str, Any]) -> str | None:
    """The first wrong type or unknown name among the fields prediction uses, else None."""
    from relate.data.variants import VARIANTS

    dataset, segmenter, variant = config["dataset"], config["segmenter"], config["variant"]
    if not isinstance(dataset, dict):
        return "dataset must be an object"
    if not isinstance(dataset.get("name"), str):
        return "dataset.name must be a string"
    rate = dataset.get("sample_rate")
    if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
        return "dataset.sample_rate must be an integer >= 1"
    classes = dataset.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        return "dataset.classes must be a list of strings"
    if not isinstance(segmenter, dict) or not isinstance(segmenter.get("name"), str):
        return "segmenter must be an object with a string name"
    if not isinstance(segmenter.get("overrides", {}), dict):
        return "segmenter.overrides must be an object"
    if not isinstance(variant, dict) or not isinstance(variant.get("name"), str):
        return "variant must be an object with a string name"
    known = {RELATE_VARIANT.name, *STUDENT_VARIANTS, *VARIANTS}
    if variant["name"] not in known:
        return f"unknown variant {variant['name']!r} (known: {', '.join(sorted(known))})"
    seed = config.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        return "seed must be an integer"
    return None


@torch.inference_mode()
def predict_video(
    model: torch.nn.Module, block: np.ndarray, device: torch.device
) -> dict[str, np.ndarray]:
    """Probabilities (C, T') of every head for one (D, T') feature block."""
    x = torch.from_numpy(block).unsqueeze(0).to(device)  # (1, D, T')
    mask = torch.ones(1, 1, x.shape[-1], device=device)  # (1, 1, T')
    output = model(x, mask)
    heads = [torch.softmax(logits, dim=1) for logits in output.logits] + [
        model.probabilities(output)
    ]
    return {
        name: probs[0].float().cpu().numpy()  # (C, T')
        for name, probs in zip(head_names(len(output.logits)), heads)
    }


RELATE_HEADS = ("rgb", "flow", "joint", "joint_refined", FINAL_HEAD)


@torch.inference_mode()
def predict_relate_video(
    model: torch.nn.Module,
    block: np.ndarray,
    device: torch.device,
    delta: float | None = None,
    pr_options: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """RELATE heads (C, T') for one (2048, T') block: the model sees the RGB rows only; the
    joint head is refined (``delta`` and ``pr_options``; defaults when None) at the model's
    rate."""
    from relate.blocks.refine import DEFAULT_DELTA, refine_prediction
    from relate.data.registry import RGB_ROWS

    x = torch.from_numpy(block[RGB_ROWS]).unsqueeze(0).to(device)  # (1, 1024, T')
    mask = torch.ones(1, 1, x.shape[-1], device=device)
    probs = {
        name: p[0].float().cpu().numpy()  # (C, T')
        for name, p in model.probabilities(model(x, mask)).items()  # type: ignore[operator]
    }
    refined = refine_prediction(
        probs["rgb"].T,
        probs["flow"].T,
        probs["joint"].T,
        delta=DEFAULT_DELTA if delta is None else delta,
        **dict(pr_options or {}),
    ).T  # (C, T')
    probs["joint_refined"] = np.ascontiguousarray(refined)
    probs[FINAL_HEAD] = probs["joint_refined"]
    return {name: probs[name] for name in RELATE_HEADS}


def resolve_refinement(
    config: Mapping[str, Any], overrides: Mapping[str, Any] | None
) -> tuple[float, dict[str, str]]:
    """PR delta and options of a ``relate`` run: the run's (its preset and ``--option``
    values, recorded in config.json), then ``overrides`` (``relate predict --pr-option``)."""
    from relate.blocks.refine import DEFAULT_DELTA, resolve_pr_options

    merged = {**dict(config.get("relate", {}).get("pr_options", {})), **dict(overrides or {})}
    delta = merged.pop("pr_delta", DEFAULT_DELTA)
    try:
        delta = float(delta)
        if not 0.0 <= delta <= 1.0:
            raise ValueError(f"pr_delta must be in [0, 1], got {delta}")
        return delta, resolve_pr_options(merged)
    except (TypeError, ValueError) as error:
        raise RelateError(f"invalid prediction-refinement option: {error}") from None


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
    run_dir = Path(run_dir)
    config = read_run_config(run_dir)
    layout = DatasetLayout(Path(data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    classes = read_classes(layout)
    if classes != config["dataset"]["classes"]:
        raise DataError(
            layout.mapping_path,
            f"classes differ from the run's ({len(classes)} vs {len(config['dataset']['classes'])} "
            "classes, or other names/ids); predict on the dataset the run was trained on",
        )
    sample_rate = int(config["dataset"]["sample_rate"])
    name = config["variant"]["name"]
    relate = name == RELATE_VARIANT.name
    student = name in STUDENT_VARIANTS
    if pr_options and not relate:
        raise RelateError(f"--pr-option applies to relate runs, not {name!r}")
    variant = RELATE_VARIANT if relate else STUDENT_VARIANTS.get(name) or get_variant(name)
    delta, refine_options = resolve_refinement(config, pr_options) if relate else (None, None)
    videos = load_split(layout, "test", split)
    torch_device = resolve_device(device)
    model = build_model(config, torch_device)
    load_weights(run_dir / WEIGHTS_FILE, model)
    model.eval()

    arrays: dict[str, np.ndarray] = {}
    frames: dict[str, int] = {}
    heads: list[str] = []
    for video in videos:
        block = read_block(layout.feature_path(video), variant, None, sample_rate)
        if relate:
            predicted = predict_relate_video(model, block, torch_device, delta, refine_options)
        elif student:  # the student sees the RGB rows; the flow rows fed only its teacher
            predicted = predict_video(model, block[RGB_ROWS], torch_device)
        else:
            predicted = predict_video(model, block, torch_device)
        for head, probs in predicted.items():
            if not np.isfinite(probs).all():
                raise DataError(
                    run_dir / WEIGHTS_FILE,
                    f"non-finite predictions for {video} (head {head}); the weights are unusable",
                )
            arrays[f"{video}/{head}"] = np.ascontiguousarray(upsample(probs, sample_rate))
            if head not in heads:
                heads.append(head)
        frames[video] = int(arrays[f"{video}/{FINAL_HEAD}"].shape[1])
        logger.debug("%s: %d frames", video, frames[video])
    meta = {
        "format": 1,
        "dataset": config["dataset"]["name"],
        "synthetic": bool(config["dataset"].get("synthetic", False)),
        "split": split,
        "classes": {str(i): name for i, name in enumerate(classes)},
        "heads": heads,
        "sample_rate": sample_rate,
        "videos": videos,
        "frames": frames,
        "run": str(run_dir),
        "config": config,
    }
    if relate:
        meta["refine"] = {"delta": delta, "options": refine_options}
    arrays[META_KEY] = np.array(json.dumps(meta, sort_keys=True))
    write_npz(out, arrays)
    logger.info(
        "%s: %d test videos of split %d, heads %s", out, len(videos), split, ", ".join(heads)
    )
    return len(videos)


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` to ``path`` atomically (the name must end in .npz)."""
    path = Path(path)
    if path.suffix != ".npz":
        raise DataError(path, "predictions file must end in .npz")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, allow_pickle=False, **arrays)
