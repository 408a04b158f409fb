"""The predictions file of ``relate predict``: one ``.npz`` per run and split.

Layout (no pickled objects; load with ``np.load(path)``):

* ``"{video}/stage{s}"``, s = 1..S: float32 (C, T) softmax of stage s's logits
  (``stage1`` is the first stage);
* ``"{video}/final"``: float32 (C, T), the prediction head (:data:`FINAL_HEAD`);
* other heads a method adds (``relate``: ``rgb``, ``flow``, ``joint``, ``joint_refined``);
* ``"__meta__"`` (:data:`META_KEY`): a 0-d unicode array holding a JSON object: format,
  dataset, synthetic, split, classes (id -> name, ids as in mapping.txt), heads, sample_rate,
  videos, frames (the GT-rate length of each video's arrays), run, the run's config, and for
  ``relate`` runs ``refine`` = {"delta", "options"}.

Time runs at the ground truth's rate: with a sample rate r > 1 each prediction is repeated r
times (:func:`upsample`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from relate.errors import DataError
from relate.io import atomic_path

META_KEY = "__meta__"
FINAL_HEAD = "final"
FORMAT = 1


def head_names(num_stages: int) -> list[str]:
    """``["stage1", ..., "stageS", "final"]``."""
    return [f"stage{s}" for s in range(1, num_stages + 1)] + [FINAL_HEAD]


def upsample(probabilities: np.ndarray, sample_rate: int) -> np.ndarray:
    """Repeat each frame of (C, T') ``sample_rate`` times along time: (C, sample_rate * T')."""
    return probabilities if sample_rate == 1 else np.repeat(probabilities, sample_rate, axis=1)


def write_predictions(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """``arrays`` and ``meta`` (under :data:`META_KEY`) to ``path`` (.npz) atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        raise DataError(path, "predictions file must end in .npz")
    members = {**arrays, META_KEY: np.array(json.dumps(meta, sort_keys=True))}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, allow_pickle=False, **members)


def read_meta(path: Path, archive: np.lib.npyio.NpzFile) -> dict[str, Any]:
    """The ``__meta__`` object of an open predictions archive; ``DataError`` naming ``path``
    when it is missing, unreadable or lacks the classes."""
    if META_KEY not in archive.files:
        raise DataError(path, f"no {META_KEY!r} entry (not written by `relate predict`?)")
    try:
        meta = json.loads(str(archive[META_KEY].item()))
    except (ValueError, TypeError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(path, f"unreadable {META_KEY!r} entry ({error})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("classes"), dict):
        raise DataError(path, f"{META_KEY!r} entry lacks the classes (id -> name)")
    return meta
