"""The key mapping from our state_dict keys onto the release's, and its bijection check."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from relate.errors import RelateError


class KeyMappingError(RelateError):
    """Our state_dict keys do not map one to one, shape for shape, onto the release's."""


_SEGMENTER_ROLES = ("rgb", "flow", "joint", "teacher")
_FUSION_RULES: tuple[tuple[str, str], ...] = (
    (r"^fusion\.aga\.0\.(q|k|v)\.(weight|bias)$", r"aft.\1_rgb.\2"),
    (r"^fusion\.aga\.1\.(q|k|v)\.(weight|bias)$", r"aft.\1_flow.\2"),
    (r"^fusion\.trunk\.attention\.(.+)$", r"aft.self_attention.\1"),
    (r"^fusion\.trunk\.projection\.(weight|bias)$", r"aft.conv_out.\1"),
)


def release_key(key: str, segmenter: str) -> str | None:
    """The release's key for one of our keys, or None when no rule applies.

    Our keys are ``rgb.*``, ``flow.*``, ``joint.*``, ``fusion.*`` (``RelateModel``) and
    ``teacher.*`` (``build_teacher``); the release's are ``rgb|flow|joint|teacher.stack.*``
    (its segmenters) and ``aft.*`` (``AlignmentFusionTransformer``).
    """
    role, _, rest = key.partition(".")
    if role in _SEGMENTER_ROLES and rest:
        if segmenter == "asformer":
            # our AttModule keeps the dilated conv itself; the release wraps it in a Sequential
            rest = re.sub(r"\.feed_forward\.(weight|bias)$", r".feed_forward.layer.0.\1", rest)
        return f"{role}.stack.{rest}"
    for pattern, replacement in _FUSION_RULES:
        if re.match(pattern, key):
            return re.sub(pattern, replacement, key)
    return None


def key_mapping(keys: Iterable[str], segmenter: str) -> dict[str, str | None]:
    """``{our key: release key or None}`` by :func:`release_key`."""
    return {key: release_key(key, segmenter) for key in keys}


def check_mapping(
    mapping: Mapping[str, str | None],
    ours: Mapping[str, Sequence[int]],
    theirs: Mapping[str, Sequence[int]],
) -> None:
    """Require ``mapping`` to be a bijection from ``ours`` onto ``theirs`` with equal shapes.

    Args:
        mapping: our key -> release key (None = unmapped).
        ours, theirs: key -> shape of every tensor on each side.

    Raises:
        KeyMappingError: listing (up to 5 of each) unmapped, unknown, shared, unused keys and
            shape mismatches.
    """
    problems: list[str] = []

    def report(kind: str, items: list[str]) -> None:
        if items:
            shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
            problems.append(f"{len(items)} {kind}: {shown}")

    report("of our keys not in the mapping", sorted(set(ours) - set(mapping)))
    report("mapped keys that are not ours", sorted(set(mapping) - set(ours)))
    report("of our keys without a rule", sorted(k for k, v in mapping.items() if v is None))
    targets = [v for v in mapping.values() if v is not None]
    report("targets not in the release", sorted({t for t in targets if t not in theirs}))
    seen: dict[str, str] = {}
    shared = []
    for key, target in sorted(mapping.items()):
        if target is None:
            continue
        if target in seen:
            shared.append(f"{seen[target]} and {key} -> {target}")
        seen[target] = key
    report("release keys hit twice", shared)
    report("release keys left unmapped", sorted(set(theirs) - set(targets)))
    mismatched = [
        f"{k} {tuple(ours[k])} vs {v} {tuple(theirs[v])}"
        for k, v in sorted(mapping.items())
        if v is not None and k in ours and v in theirs and tuple(ours[k]) != tuple(theirs[v])
    ]
    report("shape mismatches", mismatched)
    if problems:
        raise KeyMappingError(
            "state_dict key mapping is not a shape-preserving bijection: " + "; ".join(problems)
        )
