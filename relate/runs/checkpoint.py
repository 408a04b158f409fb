"""Training checkpoints and final weights, written atomically and read without unpickling.

A checkpoint is one ``torch.save`` file holding only tensors and plain Python values:

=================  ==========================================================
key                value
=================  ==========================================================
``format``         :data:`FORMAT_VERSION`
``epoch``          number of completed epochs
``config``         the run's resolved config as a JSON string
``model``          ``model.state_dict()``
``optimizer``      ``optimizer.state_dict()``
``scheduler``      ``scheduler.state_dict()`` or None
``rng``            :func:`relate.runs.seeding.capture_rng_state`
``history``        one dict per completed epoch (the log.jsonl lines)
=================  ==========================================================

Everything is loaded with ``torch.load(..., weights_only=True)``, so a checkpoint can never
run code. Files are serialised to memory first and then written through
:func:`relate.io.atomic_path`: a crash leaves either the old or the new file, and the
bytes depend only on the content (``torch.save`` to a named file would embed the
temporary file's name).
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from relate import integrity
from relate.errors import DataError
from relate.io import atomic_path
from relate.runs.optim import StepOptimizer

FORMAT_VERSION = 1
CHECKPOINT_KEYS = ("format", "epoch", "config", "model", "optimizer", "scheduler", "rng", "history")


def save_bytes(path: str | Path, obj: Any) -> None:
    """``torch.save(obj)`` to ``path`` atomically, with content-only bytes, then its sha256
    sidecar (:mod:`relate.integrity`)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(buffer.getbuffer())
    integrity.record(path)


def load_safely(path: str | Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU after the integrity checks;
    ``DataError`` naming the file on failure."""
    path = Path(path)
    if path.is_dir():
        raise DataError(path, f"{what} is a directory, not a file")
    if not path.is_file():
        raise DataError(path, f"{what} does not exist")
    integrity.verify(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
    ) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(path, f"corrupt or unsafe {what} ({reason[:200]})") from None


def save_checkpoint(
    path: str | Path,
    *,
    epoch: int,
    config: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: StepOptimizer,
    scheduler: Any | None,
    rng: dict[str, object],
    history: list[dict[str, Any]],
) -> None:
    """Write a training checkpoint after ``epoch`` completed epochs (atomically)."""
    save_bytes(
        path,
        {
            "format": FORMAT_VERSION,
            "epoch": int(epoch),
            "config": canonical_json(config),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": None if scheduler is None else scheduler.state_dict(),
            "rng": rng,
            "history": list(history),
        },
    )


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read and structurally check a checkpoint; ``DataError`` naming the file if unusable."""
    state = load_safely(path, "checkpoint")
    if not isinstance(state, dict) or set(state) != set(CHECKPOINT_KEYS):
        found = sorted(state) if isinstance(state, dict) else type(state).__name__
        raise DataError(path, f"not a relate training checkpoint (keys {found})")
    if state["format"] != FORMAT_VERSION:
        raise DataError(
            path,
            f"checkpoint format {state['format']!r} is not supported (expected {FORMAT_VERSION})",
        )
    types = {
        "epoch": int,
        "config": str,
        "model": Mapping,
        "optimizer": Mapping,
        "rng": Mapping,
        "history": list,
    }
    for key, kind in types.items():
        if not isinstance(state[key], kind) or (kind is int and isinstance(state[key], bool)):
            raise DataError(path, f"checkpoint field {key!r} has type {type(state[key]).__name__}")
    if state["scheduler"] is not None and not isinstance(state["scheduler"], Mapping):
        raise DataError(
            path, f"checkpoint field 'scheduler' has type {type(state['scheduler']).__name__}"
        )
    if not all(isinstance(line, Mapping) for line in state["history"]):
        raise DataError(path, "checkpoint field 'history' holds a non-object entry")
    if state["epoch"] < 0 or len(state["history"]) != state["epoch"]:
        raise DataError(path, "inconsistent checkpoint (epoch count and history disagree)")
    try:
        json.loads(state["config"])
    except (TypeError, ValueError):
        raise DataError(path, "checkpoint holds no readable run config") from None
    return state


def canonical_json(obj: Mapping[str, Any]) -> str:
    """The one JSON text of a config used for comparisons (sorted keys, no spaces)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def save_weights(path: str | Path, model: torch.nn.Module) -> None:
    """Write ``model.state_dict()`` alone (the final ``model.pt``), atomically."""
    save_bytes(path, model.state_dict())


def load_weights(path: str | Path, model: torch.nn.Module) -> None:
    """Load a ``model.pt`` state dict into ``model`` (strict); ``DataError`` if it does not fit."""
    state = load_safely(path, "model weights")
    if not isinstance(state, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise DataError(path, "not a model state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first = str(error).strip().splitlines()
        detail = " ".join(line.strip() for line in first[:2])
        raise DataError(path, f"weights do not fit the configured model ({detail[:300]})") from None
