"""The files of a run folder, and the one reader and writer of its ``config.json``.

A run folder (``relate train`` or ``relate train-bridge``) holds ``config.json`` (fully
resolved), ``log.jsonl`` (one line per epoch), ``provenance.json``, ``checkpoint.pt`` (latest
epoch, while training) and, at the end, ``model.pt`` (state dict only).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relate import integrity, io
from relate.errors import DataError

CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"
PROVENANCE_FILE = "provenance.json"
CHECKPOINT_FILE = "checkpoint.pt"
WEIGHTS_FILE = "model.pt"
RUN_FILES = (CONFIG_FILE, LOG_FILE, PROVENANCE_FILE, CHECKPOINT_FILE, WEIGHTS_FILE)
UNCOMPARED = ("invocation",)
"""Top-level config keys that may change between a run and its resumption."""


def read_config(run_dir: Path, what: str = "run config", hint: str = "") -> dict[str, Any]:
    """``run_dir/config.json`` as a dict; a ``DataError`` naming it when it is missing
    (``hint`` says what to run first), unreadable or not a JSON object."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, f"missing {what}" + (f" ({hint})" if hint else "")) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, f"unreadable {what} ({error})") from None
    if not isinstance(config, dict):
        raise DataError(path, f"{what} is not a JSON object")
    return config


def write_config(run_dir: Path, config: Mapping[str, Any]) -> None:
    """Write ``config.json`` atomically."""
    io.write_json(Path(run_dir) / CONFIG_FILE, dict(config))


def compared(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a config that must match for a resumption."""
    return {k: v for k, v in config.items() if k not in UNCOMPARED}


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping):
        flat: dict[str, Any] = {}
        for key, value in obj.items():
            flat.update(_flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): obj}


def config_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """``key: old -> new`` for each differing leaf (dotted keys, sorted)."""
    a, b = _flatten(compared(old)), _flatten(compared(new))
    return [
        f"{k}: {a.get(k, '<absent>')!r} -> {b.get(k, '<absent>')!r}"
        for k in sorted(set(a) | set(b))
        if a.get(k, "<absent>") != b.get(k, "<absent>")
    ]


def check_run_dir(out: Path, config: Mapping[str, Any]) -> dict[str, Any] | None:
    """Refuse a run folder whose config.json describes a different run, or whose checkpoint or
    weights path is not a regular file; returns the existing config (None for a new folder)."""
    existing = None
    if not (out / CONFIG_FILE).exists():
        for name in (CHECKPOINT_FILE, WEIGHTS_FILE):
            if (out / name).exists():
                raise DataError(
                    out / name, f"run folder has {name} but no {CONFIG_FILE}; use a new --out"
                )
    else:
        existing = read_config(out)
        differences = config_difference(existing, config)
        if differences:
            shown = "; ".join(differences[:3]) + (
                f"; and {len(differences) - 3} more" if len(differences) > 3 else ""
            )
            raise DataError(
                out / CONFIG_FILE,
                f"run folder holds a different configuration ({shown}); "
                "use another --out or delete it",
            )
    for name in (CHECKPOINT_FILE, WEIGHTS_FILE):
        path = out / name
        if path.exists() and not path.is_file():
            raise DataError(path, f"{name} is not a regular file; use a new --out")
    return existing


def is_complete(out: Path) -> bool:
    """True when the run finished: ``model.pt`` written and no checkpoint left."""
    return (out / WEIGHTS_FILE).exists() and not (out / CHECKPOINT_FILE).exists()


def remove_stale_temporaries(out: Path) -> None:
    """Delete half-written files a killed run left behind (``.{name}.*.tmp`` of our files);
    call only while the run folder's lock is held, so no live writer owns them."""
    sidecars = tuple(n + integrity.SUFFIX for n in (CHECKPOINT_FILE, WEIGHTS_FILE))
    for name in RUN_FILES + sidecars:
        for stale in out.glob(f".{name}.*.tmp"):
            stale.unlink(missing_ok=True)


def write_log(out: Path, history: list[dict[str, Any]]) -> None:
    """``log.jsonl``: one JSON object per finished epoch."""
    io.write_text(
        out / LOG_FILE, "".join(json.dumps(line, sort_keys=True) + "\n" for line in history)
    )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
