"""CLI-style ``key=value`` options of the distilled specs, parsed (RELATE and the students).

A key is a spec field, or ``<prefix><key>`` for the options kept in one of the spec's
mappings (``fusion.``, ``segmenter.``, ``distill.``).
"""

from __future__ import annotations

import ast
import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any


def parse_value(value: Any) -> Any:
    """A string as a Python literal where possible (``3`` -> int, ``0.5`` -> float,
    ``true``/``false`` -> bool), else unchanged."""
    if not isinstance(value, str):
        return value
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return value


def as_int(name: str, value: Any) -> int:
    """``value`` if it is an int (not a bool); raises ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return value


def as_float(name: str, value: Any) -> float:
    """``float(value)``; raises ``ValueError`` naming ``name``."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None


def split_options(
    options: Mapping[str, Any],
    fields: Iterable[str],
    prefixes: Iterable[str],
    aliases: Mapping[str, str] | None = None,
    unknown: str = "unknown option {key!r}",
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Parsed values by spec field, and by prefix (``key`` without it) for prefixed keys.

    ``aliases`` maps an option name to the field it sets. Any other key raises ``ValueError``:
    ``unknown`` formatted with the key, then the known names.
    """
    fields, aliases = list(fields), dict(aliases or {})
    kwargs: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {p: {} for p in prefixes}
    for key, value in options.items():
        value = parse_value(value)
        prefix = next((p for p in nested if key.startswith(p)), None)
        if prefix is not None:
            nested[prefix][key[len(prefix) :]] = value
        elif key in aliases:
            kwargs[aliases[key]] = value
        elif key in fields:
            kwargs[key] = value
        else:
            known = [*fields, *aliases, *(f"{p}<option>" for p in nested)]
            raise ValueError(f"{unknown.format(key=key)}; known: {', '.join(known)}")
    return kwargs, nested


OMITTED_WHEN_EMPTY: tuple[str, ...] = ("distill_options",)
"""Spec fields a run's stored spec leaves out while empty (their default), so that adding
them left the stored spec of every run that does not use them unchanged."""


def spec_record(spec: Any) -> dict[str, Any]:
    """A spec dataclass as the JSON object a run stores (``dataclasses.asdict``, less the
    empty :data:`OMITTED_WHEN_EMPTY` fields); ``cls(**record)`` rebuilds it."""
    record = json.loads(json.dumps(dataclasses.asdict(spec)))
    for name in OMITTED_WHEN_EMPTY:
        if name in record and not record[name]:
            del record[name]
    return record
