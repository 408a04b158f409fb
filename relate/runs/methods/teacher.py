"""The frozen ``flow`` teacher of a distilled run: checked when the run is planned, loaded
(frozen, sha256 verified) when it trains."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from relate import segmenters
from relate.errors import DataError
from relate.runs.checkpoint import load_weights
from relate.runs.files import CONFIG_FILE, WEIGHTS_FILE, read_config, sha256_of
from relate.segmenters.base import Segmenter


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def same_architecture(
    expected: Callable[[], Segmenter],
    segmenter: str,
    in_dim: int,
    num_classes: int,
    dataset: str,
    teacher_overrides: Mapping[str, Any],
) -> bool:
    """True when a teacher built from its recorded overrides has the parameter names and shapes
    of ``expected()`` (both built on the meta device, so nothing is allocated). Overrides that
    spell out a default (FACT ``blocks="iuU"`` vs none) are accepted."""
    with torch.device("meta"):
        try:
            teacher = segmenters.build(
                segmenter, in_dim, num_classes, dataset, **dict(teacher_overrides)
            )
        except (TypeError, ValueError, KeyError):
            return False
        wanted = expected()
    return _shapes(teacher) == _shapes(wanted)


def check_teacher(
    teacher_dir: Path,
    *,
    segmenter: str,
    dataset: str,
    split: int,
    seed: int,
    expected: Callable[[], Segmenter],
    in_dim: int,
    num_classes: int,
    describe: str,
) -> dict[str, Any]:
    """Check that ``teacher_dir`` holds the teacher a distilled run needs: a finished ``flow``
    run with the same segmenter, dataset, split and seed and the architecture ``expected()``
    builds. Returns ``{"path", "sha256", "segmenter_overrides"}``; one-line errors otherwise.
    ``describe`` says what the architecture must be (for the error message)."""
    teacher_dir = Path(teacher_dir)
    config = read_config(teacher_dir, "teacher run config", "train the `flow` variant first")
    found = {
        "variant": (config.get("variant") or {}).get("name"),
        "segmenter": (config.get("segmenter") or {}).get("name"),
        "dataset": (config.get("dataset") or {}).get("name"),
        "split": config.get("split"),
        "seed": config.get("seed"),
    }
    wanted = {
        "variant": "flow",
        "segmenter": segmenter,
        "dataset": dataset,
        "split": split,
        "seed": seed,
    }
    problems = [f"{k} {found[k]!r} (need {wanted[k]!r})" for k in wanted if found[k] != wanted[k]]
    have = dict((config.get("segmenter") or {}).get("overrides") or {})
    if not problems and not same_architecture(
        expected, segmenter, in_dim, num_classes, dataset, have
    ):
        problems.append(f"segmenter overrides {have} build another architecture ({describe})")
    if problems:
        raise DataError(
            teacher_dir / CONFIG_FILE, "not the teacher of this run: " + "; ".join(problems)
        )
    weights = teacher_dir / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "teacher run is unfinished (no model.pt); finish training it")
    return {
        "path": str(teacher_dir.resolve()),
        "sha256": sha256_of(weights),
        "segmenter_overrides": have,
    }


def load_teacher(entry: Mapping[str, Any], build: Callable[[], Segmenter]) -> Segmenter:
    """The frozen teacher recorded in ``entry`` (``{"path", "sha256"}``), built by ``build``:
    weights loaded (sha256 checked), eval mode, ``requires_grad`` False."""
    weights = Path(entry["path"]) / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "teacher weights are missing")
    if sha256_of(weights) != entry["sha256"]:
        raise DataError(weights, "teacher weights changed since this run was configured")
    teacher = build()
    load_weights(weights, teacher)
    return teacher.eval().requires_grad_(False)
