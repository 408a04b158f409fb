"""Reading a synthetic dataset's ``info.json``: the generator's seed, settings and draws."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from relate.errors import DataError

INFO_FILE = "info.json"
"""Provenance file in the dataset root (ignored by the MS-TCN layout readers)."""


def read_info(root: Path) -> dict | None:
    """The generator's ``info.json`` of a dataset folder, or None for non-synthetic data."""
    path = Path(root) / INFO_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:  # malformed JSON; UnicodeDecodeError is a ValueError too
        raise DataError(path, f"not readable JSON ({error})") from None


def generator_record(root: Path) -> dict[str, Any] | None:
    """The generator's seed and settings of a dataset folder, so that a score or a probe
    names the data it came from; None for real data."""
    info = read_info(root)
    if not isinstance(info, dict):
        return None
    return {"seed": info.get("seed"), "config": info.get("config", {})}
