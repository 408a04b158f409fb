"""Adding entries to one of the suite's tables for the length of a block (tests, plugins)."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Protocol


class Named(Protocol):
    """A table entry: keyed by its ``name``."""

    name: str


@contextmanager
def registered_in(
    table: MutableMapping[str, Any], entries: tuple[Named, ...], what: str
) -> Iterator[None]:
    """Add ``entries`` to ``table`` inside the block and remove them after; a ``ValueError``
    naming ``what`` when one is already there."""
    clash = [e.name for e in entries if e.name in table]
    if clash:
        raise ValueError(f"{what} {clash} are already registered")
    try:
        table.update((e.name, e) for e in entries)
        yield
    finally:
        for e in entries:
            table.pop(e.name, None)
