"""``KEY=VALUE`` command-line items (``--set``, ``--option``), parsed one way everywhere."""

from __future__ import annotations

from relate.errors import RelateError


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
