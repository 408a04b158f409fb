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
