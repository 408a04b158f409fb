"""Checksums of downloaded files: sha256, md5 (as Zenodo publishes), git's blob SHA-1.

Several kinds are computed in one pass over the file (:func:`file_digests`), so checking a
30 GB archive against Zenodo's md5 and recording its sha256 reads it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from tqdm import tqdm

from relate.download.sources import Checksum, ChecksumKind

CHUNK = 1 << 20


def _hasher(kind: str, size: int):
    if kind == "sha256":
        return hashlib.sha256()
    if kind == "md5":
        return hashlib.md5(usedforsecurity=False)
    if kind == "git-sha1":
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"blob {size}\0".encode("ascii"))
        return digest
    raise ValueError(f"unknown checksum kind {kind!r}")


def file_digests(
    path: str | Path, kinds: Iterable[ChecksumKind], progress: bool = False
) -> dict[str, str]:
    """Hex digests of ``path`` for each of ``kinds``, computed in one read of the file.

    ``sha256`` / ``md5``: of its bytes. ``git-sha1``: of ``blob <size>\\0`` + bytes, as
    ``git hash-object``.
    """
    path = Path(path)
    size = path.stat().st_size
    hashers = {kind: _hasher(kind, size) for kind in dict.fromkeys(kinds)}
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
            for digest in hashers.values():
                digest.update(chunk)
            bar.update(len(chunk))
    return {kind: digest.hexdigest() for kind, digest in hashers.items()}


def file_digest(path: str | Path, kind: ChecksumKind, progress: bool = False) -> str:
    """Hex digest of ``path`` (see :func:`file_digests`)."""
    return file_digests(path, [kind], progress)[kind]


def matching_checksum(
    path: str | Path, accepted: Iterable[Checksum], progress: bool = False
) -> Checksum | None:
    """The first of ``accepted`` that ``path`` matches, or None (one read for all kinds)."""
    accepted = list(accepted)
    if not accepted:
        return None
    digests = file_digests(path, [c.kind for c in accepted], progress)
    return next((c for c in accepted if digests[c.kind] == c.value), None)
