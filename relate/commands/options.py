"""Command-line values parsed one way everywhere: ``KEY=VALUE`` items (``--set``,
``--option``) and positive counts."""

from __future__ import annotations

import argparse

from relate.errors import RelateError


def positive_int(text: str) -> int:
    """An argparse ``type``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def split_key_value(item: str, flag: str) -> tuple[str, str]:
    """``"a=1"`` -> ``("a", "1")``; a one-line ``RelateError`` naming ``flag`` otherwise."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise RelateError(f"{flag} {item!r}: expected KEY=VALUE")
    return key, raw.strip()


def key_values(items: list[str], flag: str) -> dict[str, str]:
    """Items -> ``{key: raw value}``; later items win."""
    return dict(split_key_value(item, flag) for item in items)
