"""A finished bridge run (``relate train-bridge``) as a RELATE run with
``bridge=pretrained`` uses it: checked when the run is planned, loaded frozen when it trains."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from relate.errors import DataError, RelateError
from relate.runs.checkpoint import load_weights
from relate.runs.files import CONFIG_FILE, WEIGHTS_FILE, read_config, sha256_of

KIND = "bridge"
"""The ``kind`` a bridge run's config.json records."""


def check_bridge_run(run_dir: Path, *, dataset: str, split: int, hidden: int) -> dict[str, Any]:
    """Check a finished bridge run for a RELATE run (same dataset and split, hidden width);
    returns the config entry ``{"path", "sha256", "hidden"}``."""
    config = read_config(run_dir, "bridge run config", "run `relate train-bridge` first")
    found = (
        config.get("kind"),
        (config.get("dataset") or {}).get("name"),
        config.get("split"),
        (config.get("bridge") or {}).get("hidden"),
    )
    if found != (KIND, dataset, split, hidden):
        raise DataError(
            Path(run_dir) / CONFIG_FILE,
            f"not the bridge of this run: (kind, dataset, split, hidden) = {found}, "
            f"need {(KIND, dataset, split, hidden)}",
        )
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "bridge run is unfinished (no model.pt)")
    return {"path": str(Path(run_dir).resolve()), "sha256": sha256_of(weights), "hidden": hidden}


def load_bridge_into(model: torch.nn.Module, entry: Mapping[str, Any]) -> None:
    """Load a checked bridge run's weights into ``model.bridge`` (sha256 verified) and keep
    it frozen."""
    weights = Path(entry["path"]) / WEIGHTS_FILE
    if not weights.exists() or sha256_of(weights) != entry["sha256"]:
        raise DataError(weights, "bridge weights are missing or changed since this run was set up")
    bridge = getattr(model, "bridge", None)
    if bridge is None:
        raise RelateError("the model has no bridge to load (bridge=none)")
    load_weights(weights, bridge)
    bridge.freeze()
