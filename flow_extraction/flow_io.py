"""The flow cache: one compressed .npz per video with the raw flow and its provenance.

File format (``numpy.savez_compressed``, no pickles)::

    flow   (T-1, H, W, 2) float32   raw TV-L1 displacements (x, y), unclipped
    meta   0-d unicode string       JSON object: TV-L1 params, OpenCV version, source video,
                                    frame count, shape, format version, ...

Files are written atomically, so an interrupted run never leaves a truncated cache that
looks finished. :func:`cache_matches` tells whether a cached file was made with the
current parameters and OpenCV version (``relate flow`` recomputes it otherwise).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from flow_extraction.tvl1 import TVL1_PARAMS, opencv_version
from relate.errors import DataError
from relate.io import atomic_path

FORMAT_VERSION = 1
"""Version of the .npz layout; bump it when the keys or their meaning change."""

METHOD = "opencv DualTVL1OpticalFlow (CPU), consecutive grayscale frames, native resolution"


def flow_meta(source: Path | str, n_frames: int, **extra: Any) -> dict[str, Any]:
    """The meta record of a flow computed now from video ``source`` with ``n_frames`` frames.

    Everything :func:`cache_key` compares, plus the frame count, method and ``extra``.
    """
    return {**cache_key(source), "source": str(source), "frames": int(n_frames), **extra}


def cache_key(source: Path | str, **extra: Any) -> dict[str, Any]:
    """Meta entries a cached flow must match to be reused: format version, TV-L1 params,
    OpenCV version, method, and the source video's file name and size in bytes."""
    source = Path(source)
    return {
        "format_version": FORMAT_VERSION,
        "method": METHOD,
        "tvl1_params": dict(TVL1_PARAMS),
        "opencv_version": opencv_version(),
        "source_name": source.name,
        "source_bytes": source.stat().st_size if source.is_file() else None,
        **extra,
    }


def write_flow(path: Path, flow: np.ndarray, meta: dict) -> None:
    """Write ``flow`` (T-1, H, W, 2) float32 and ``meta`` (JSON-serialisable) atomically."""
    if flow.ndim != 4 or flow.shape[-1] != 2:
        raise ValueError(f"expected a (T-1, H, W, 2) flow array, got shape {flow.shape}")
    record = {**meta, "shape": list(flow.shape), "dtype": "float32"}
    text = json.dumps(record, sort_keys=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, flow=flow.astype(np.float32, copy=False), meta=np.array(text))


def read_flow(path: Path) -> tuple[np.ndarray, dict]:
    """Read a cached flow: ((T-1, H, W, 2) float32 raw flow, meta dict).

    Raises:
        DataError: the file is missing, unreadable, or not a flow cache of this format.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "flow file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            if "flow" not in data.files or "meta" not in data.files:
                raise DataError(path, "not a flow cache (needs arrays 'flow' and 'meta')")
            flow = data["flow"]
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(path, f"cannot read flow cache ({error})") from None
    if flow.dtype != np.float32 or flow.ndim != 4 or flow.shape[-1] != 2:
        raise DataError(path, f"flow must be (T-1, H, W, 2) float32, got {flow.shape} {flow.dtype}")
    if not isinstance(meta, dict):
        raise DataError(path, "meta is not a JSON object")
    return flow, meta


def read_flow_meta(path: Path) -> dict | None:
    """Only the meta record of a cache file (cheap), or None if it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        return None
    return meta if isinstance(meta, dict) else None


def cache_matches(path: Path, expected: Mapping[str, Any]) -> bool:
    """True if ``path`` is a readable cache whose meta agrees with ``expected`` on every key.

    Typically ``expected = cache_key(video)``: format, TV-L1 params, OpenCV version, source.
    """
    meta = read_flow_meta(path)
    if meta is None:
        return False
    return all(meta.get(key) == value for key, value in expected.items())
