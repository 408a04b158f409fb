"""Integrity of the torch files of a run folder: zip CRCs and a sha256 sidecar.

``torch.load`` does not check the CRCs of its zip members, so a flipped byte may load as
different weights. Every file written by :func:`relate.runs.checkpoint.save_bytes` gets a sidecar
``NAME.sha256`` (written atomically after the file); :func:`verify` checks both.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from relate.errors import DataError
from relate.io import write_text

SUFFIX = ".sha256"


def sidecar(path: str | Path) -> Path:
    """The digest file beside ``path``."""
    path = Path(path)
    return path.with_name(path.name + SUFFIX)


def digest(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record(path: str | Path) -> None:
    """Write ``path``'s sha256 to its sidecar (atomically)."""
    write_text(sidecar(path), digest(path) + "\n")


def remove(path: str | Path) -> None:
    """Delete ``path`` and its sidecar (file first, so a crash never leaves an unchecked file)."""
    Path(path).unlink(missing_ok=True)
    sidecar(path).unlink(missing_ok=True)


def verify(path: str | Path, what: str) -> None:
    """``DataError`` naming ``path`` unless its zip CRCs and recorded sha256 are intact.

    A file without a sidecar (written before digests were recorded) is checked by CRC only.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise DataError(
            path, f"corrupt or unsafe {what} (not a readable zip archive: {error})"
        ) from None
    if bad is not None:
        raise DataError(path, f"corrupt or unsafe {what} (CRC mismatch in member {bad})")
    side = sidecar(path)
    if not side.exists():
        return
    try:
        expected = side.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(side, f"unreadable digest of {path.name} ({error})") from None
    if expected != digest(path):
        raise DataError(path, f"corrupt or unsafe {what} (sha256 differs from {side.name})")
