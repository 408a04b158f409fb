"""A trained run as prediction sees it: its ``config.json`` read once, checked and typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relate.errors import DataError
from relate.runs.files import CONFIG_FILE, WEIGHTS_FILE, read_config
from relate.runs.methods import TRAIN_VARIANTS, Method, get_method


@dataclass(frozen=True)
class RunRecord:
    """The fields of a run's config that prediction uses, checked, plus the whole config.

    Attributes:
        classes: class names indexed by mapping.txt id.
        sample_rate: the model sees every ``sample_rate``-th feature frame.
    """

    run_dir: Path
    config: dict[str, Any]
    dataset: str
    synthetic: bool
    classes: list[str]
    sample_rate: int
    segmenter: str
    seed: int
    method: Method

    @property
    def weights(self) -> Path:
        """The run's ``model.pt``."""
        return self.run_dir / WEIGHTS_FILE


def read_run(run_dir: Path) -> RunRecord:
    """The run in ``run_dir``; a ``DataError`` naming its config.json when it is missing,
    unreadable or lacks a field prediction needs."""
    run_dir = Path(run_dir)
    config = read_config(run_dir, hint="is this a `relate train` run folder?")
    path = run_dir / CONFIG_FILE
    if not {"dataset", "segmenter", "variant"} <= set(config):
        raise DataError(path, "not a `relate train` config (needs dataset, segmenter, variant)")
    problem = config_type_problem(config)
    if problem:
        raise DataError(path, f"invalid run config: {problem}")
    dataset = config["dataset"]
    return RunRecord(
        run_dir=run_dir,
        config=config,
        dataset=dataset["name"],
        synthetic=bool(dataset.get("synthetic", False)),
        classes=list(dataset["classes"]),
        sample_rate=int(dataset["sample_rate"]),
        segmenter=config["segmenter"]["name"],
        seed=int(config.get("seed", 0)),
        method=get_method(config["variant"]["name"]),
    )


def config_type_problem(config: Mapping[str, Any]) -> str | None:
    """The first wrong type or unknown name among the fields prediction uses, else None."""
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
    if variant["name"] not in TRAIN_VARIANTS:
        return f"unknown variant {variant['name']!r} (known: {', '.join(sorted(TRAIN_VARIANTS))})"
    seed = config.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        return "seed must be an integer"
    return None
