"""An exclusive, non-blocking lock on a run folder for the whole of one training session.

The lock is ``flock(LOCK_EX | LOCK_NB)`` on the folder itself (a directory file descriptor),
so taking it writes nothing into the folder; it ends when the holder closes it or dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from relate.errors import DataError


@contextmanager
def locked_run_dir(out: str | Path) -> Iterator[Path]:
    """Hold the lock of run folder ``out`` (created if absent); ``DataError`` naming ``out``
    when another process holds it. A folder created here and still empty on exit is removed."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(out, "run folder is not a directory")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise DataError(out, f"cannot open run folder ({error.strerror or error})") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataError(
                out, "another process is writing this run folder; wait for it or use another --out"
            ) from None
        try:
            yield out
        finally:
            if created and not any(out.iterdir()):
                out.rmdir()
    finally:
        os.close(fd)
