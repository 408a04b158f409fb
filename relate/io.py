"""Atomic file output: write to a temporary sibling, fsync it, then rename into place.

The temporary file is flushed to disk before the rename and the parent folder after it,
so a crash or power cut leaves either the old or the new content under the final name.
Set ``RELATE_FSYNC=0`` to skip the fsync calls (e.g. for throwaway outputs on slow disks).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from relate.errors import DataError


def _current_umask() -> int:
    """The process umask (read by setting and restoring it; there is no getter)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fsync_enabled() -> bool:
    """Whether atomic writes fsync (``RELATE_FSYNC`` unset or not ``0``)."""
    return os.environ.get("RELATE_FSYNC", "1") != "0"


def _fsync_path(path: Path) -> None:
    """fsync a file or folder by path (a folder fsync persists renames inside it)."""
    fd = os.open(
        path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    )
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """fsync every file and folder below ``root``, then ``root`` itself."""
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                _fsync_path(path)
        _fsync_path(Path(folder))


def _check_target(path: Path, want_dir: bool) -> None:
    """``DataError`` if ``path`` cannot become a file (or folder): wrong kind or a file above."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise DataError(path, f"{parent} is not a folder")
            break
    if path.is_dir() and not want_dir:
        raise DataError(path, "is a folder, expected a file path")
    if (path.exists() or path.is_symlink()) and want_dir and not path.is_dir():
        raise DataError(path, "exists and is not a folder")


def _name_final(error: OSError, tmp: Path, path: Path) -> None:
    """Report ``path`` rather than the temporary name in ``error`` (it is what the user gave)."""
    if error.filename is None or str(error.filename) == str(tmp):
        error.filename = str(path)
    if error.filename2 is not None and str(error.filename2) in (str(tmp), str(error.filename)):
        error.filename2 = None


@contextmanager
def atomic_path(path: str | Path, fsync: bool | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; fsync and rename it onto ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched. An
    ``OSError`` names ``path`` instead of the temporary file. ``fsync=None`` follows
    :func:`fsync_enabled`.
    """
    path = Path(path)
    sync = fsync_enabled() if fsync is None else fsync
    _check_target(path, want_dir=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        yield tmp
        if sync:
            _fsync_path(tmp)
        os.replace(tmp, path)
        if sync:
            _fsync_path(path.parent)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        _name_final(error, tmp, path)
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str, fsync: bool | None = None) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path, fsync) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any, fsync: bool | None = None) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n", fsync)


def save_npy(path: str | Path, array: np.ndarray, fsync: bool | None = None) -> None:
    """Save ``array`` as .npy atomically."""
    with atomic_path(path, fsync) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)


@contextmanager
def atomic_directory(path: str | Path, fsync: bool | None = None) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; it replaces ``path`` on success.

    An existing ``path`` is replaced only after the new content is complete (and, with
    fsync, on disk), so a crash never leaves a half-written folder under the final name.
    """
    path = Path(path)
    sync = fsync_enabled() if fsync is None else fsync
    _check_target(path, want_dir=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~_current_umask())  # mkdtemp makes 0700; give the usual mode
        yield tmp
        if sync:
            _fsync_tree(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            if sync:
                _fsync_path(path.parent)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
            if sync:
                _fsync_path(path.parent)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        _name_final(error, tmp, path)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
