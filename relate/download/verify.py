"""Checksums of downloaded files: sha256, and git's blob SHA-1 (``git hash-object``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from relate.download.sources import Checksum, ChecksumKind
from relate.errors import DataError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20


def file_digest(path: str | Path, kind: ChecksumKind, progress: bool = False) -> str:
    """Hex digest of ``path``.

    ``sha256``: of its bytes. ``git-sha1``: of ``blob <size>\\0`` + bytes, as ``git hash-object``.
    """
    path = Path(path)
    size = path.stat().st_size
    if kind == "sha256":
        digest = hashlib.sha256()
    elif kind == "git-sha1":
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"blob {size}\0".encode("ascii"))
    else:
        raise ValueError(f"unknown checksum kind {kind!r}")
    with (
        open(path, "rb") as fh,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"checking {path.name}",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def matching_checksum(
    path: str | Path, accepted: Iterable[Checksum], progress: bool = False
) -> Checksum | None:
    """The first of ``accepted`` that ``path`` matches, or None (each kind is hashed once)."""
    digests: dict[str, str] = {}
    for checksum in accepted:
        if checksum.kind not in digests:
            digests[checksum.kind] = file_digest(path, checksum.kind, progress)
        if digests[checksum.kind] == checksum.value:
            return checksum
    return None


def verify_file(path: str | Path, expected: Checksum, progress: bool = False) -> None:
    """Raise DataError naming ``path`` unless its digest equals ``expected``."""
    actual = file_digest(path, expected.kind, progress)
    if actual != expected.value:
        raise DataError(path, f"{expected.kind} is {actual}, expected {expected.value}")
    logger.info("%s: %s ok", path, expected.kind)
