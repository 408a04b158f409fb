"""The checksum lock: sha256 of every download accepted without a checksum pinned in the table.

``relate download`` writes ``checksums.lock`` beside the download cache (``--lock`` names
another file) whenever it accepts a file through a checksum its host publishes (Zenodo's
md5, Hugging Face's LFS sha256) or through ``--allow-unpinned``. Later runs check that file
against the locked sha256 *first*, without asking the host: a file that does not match the
lock is refused even if it matches what the host publishes now. A checksum pinned in
``relate/download/sources.py`` or given with ``--sha256`` stays authoritative and is never
locked. Commit the file to make every machine accept exactly the bytes you accepted.

Format (JSON, keys sorted, written atomically)::

    {
      "about": "...",
      "files": {
        "data.zip": {
          "sha256": "<64 hex>",
          "size": 31234567890,
          "source": "zenodo-data.zip",
          "url": "https://zenodo.org/records/3625992/files/data.zip?download=1",
          "verified_by": "md5:<32 hex> published at https://zenodo.org/api/records/3625992"
        }
      },
      "version": 1
    }

Keys of ``files`` are the file names in the download cache. ``sha256`` is required; ``size``
is checked when present; the other fields are for people.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from relate.download.sources import Checksum
from relate.errors import DataError
from relate.io import write_json

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "checksums.lock"
LOCK_VERSION = 1
ABOUT = (
    "sha256 of files relate download accepted without a checksum pinned in "
    "relate/download/sources.py; checked before any checksum a host publishes. "
    "Commit it; delete an entry to accept a new upstream file. See docs/downloads.md."
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class LockEntry:
    """One locked file: its sha256 (and size), and where it was accepted from."""

    sha256: str
    size: int | None = None
    source: str = ""
    url: str | None = None
    verified_by: str = ""

    @property
    def checksum(self) -> Checksum:
        return Checksum("sha256", self.sha256)


class ChecksumLock:
    """The lock file at ``path`` (it need not exist yet)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _bad(self, problem: str) -> DataError:
        return DataError(
            self.path,
            f"{problem}; fix it, or delete it to verify again against the published checksums",
        )

    def _entry(self, name: object, value: object) -> LockEntry:
        if not isinstance(name, str) or not name or "/" in name:
            raise self._bad(f"malformed checksum lock (file name {name!r})")
        if not isinstance(value, dict):
            raise self._bad(f"malformed checksum lock (entry {name!r} is not an object)")
        sha = value.get("sha256")
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise self._bad(
                f"malformed checksum lock ({name}: sha256 {sha!r} is not 64 lowercase hex digits)"
            )
        size = value.get("size")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise self._bad(f"malformed checksum lock ({name}: size {size!r} is not a byte count)")
        url = value.get("url")
        return LockEntry(
            sha256=sha,
            size=size,
            source=str(value.get("source", "")),
            url=url if isinstance(url, str) else None,
            verified_by=str(value.get("verified_by", "")),
        )

    def entries(self) -> dict[str, LockEntry]:
        """Every locked file by name; ``{}`` without a lock file. DataError if malformed."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError:
            raise self._bad("malformed checksum lock (not UTF-8 text)") from None
        except OSError as error:
            raise DataError(self.path, error.strerror or str(error)) from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise self._bad(
                f"malformed checksum lock ({error.msg} at line {error.lineno} column {error.colno})"
            ) from None
        if not isinstance(document, dict):
            raise self._bad("malformed checksum lock (not a JSON object)")
        if document.get("version") != LOCK_VERSION:
            raise self._bad(
                f"unsupported checksum lock version {document.get('version')!r} "
                f"(this tool reads {LOCK_VERSION})"
            )
        files = document.get("files")
        if not isinstance(files, dict):
            raise self._bad('malformed checksum lock ("files" is not an object)')
        return {name: self._entry(name, value) for name, value in files.items()}

    def get(self, name: str) -> LockEntry | None:
        return self.entries().get(name)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise read-modify-write between concurrent downloads (POSIX advisory lock)."""
        if fcntl is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        guard = self.path.with_name(f".{self.path.name}.guard")
        fd = os.open(guard, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def record(self, name: str, entry: LockEntry) -> None:
        """Add or replace ``name``'s entry, rewriting the file atomically."""
        with self._exclusive():
            entries = self.entries()
            entries[name] = entry
            document = {
                "about": ABOUT,
                "files": {
                    key: {k: v for k, v in asdict(value).items() if v not in (None, "")}
                    for key, value in entries.items()
                },
                "version": LOCK_VERSION,
            }
            write_json(self.path, document)
