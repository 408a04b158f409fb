"""Exception types whose message is the one line a user sees."""

from __future__ import annotations

from pathlib import Path


class RelateError(Exception):
    """Base class: an expected failure reported to the user as one line (exit code 2)."""


class DataError(RelateError):
    """A problem with an input file or folder; the message names the path first."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def describe_os_error(error: OSError) -> str | None:
    """``<path>: <problem>`` for an ``OSError`` that names a file; None when it names none."""
    if error.filename is None:
        return None
    problem = error.strerror or str(error)
    if error.filename2 is not None:
        return f"{error.filename}: {problem} (with {error.filename2})"
    return f"{error.filename}: {problem}"
