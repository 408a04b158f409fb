"""The Fig. 3 setups, their stages and the measurements that time them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from relate.segmenters import SEGMENTERS

STAGES: tuple[str, ...] = ("decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter", "pr")
SETUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "rgb": ("decode", "i3d_rgb", "segmenter"),
        "flow": ("decode", "tvl1", "i3d_flow", "segmenter"),
        "two_stream": ("decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter"),
        "relate": ("decode", "i3d_rgb", "segmenter", "pr"),
    }
)
SEGMENTER_MEASUREMENT: Mapping[str, str] = MappingProxyType(
    {
        "rgb": "segmenter_1024",
        "flow": "segmenter_1024",
        "two_stream": "segmenter_2048",
        "relate": "relate_model",
    }
)
MEASUREMENTS: tuple[str, ...] = (
    "decode",
    "tvl1",
    "i3d_rgb",
    "i3d_flow",
    "segmenter_1024",
    "segmenter_2048",
    "relate_model",
    "pr",
)
"""Every measurement key, in the order they are timed (inputs before their consumers)."""

SEGMENTER_NAMES: tuple[str, ...] = tuple(SEGMENTERS)
"""The segmenter table's names (read without torch, for ``--help``)."""


def measurement_key(setup: str, stage: str) -> str:
    """The measurement that times ``stage`` of ``setup``."""
    if setup not in SETUPS or stage not in SETUPS[setup]:
        raise KeyError(f"setup {setup!r} has no stage {stage!r}")
    return SEGMENTER_MEASUREMENT[setup] if stage == "segmenter" else stage


def plan(setups: Sequence[str]) -> dict[str, list[str]]:
    """Measurement key -> the requested setups that use it, in :data:`MEASUREMENTS` order."""
    unknown = [s for s in setups if s not in SETUPS]
    if unknown or not setups:
        raise ValueError(f"unknown or no setups {unknown}; known: {', '.join(SETUPS)}")
    users: dict[str, list[str]] = {}
    for setup in setups:
        for stage in SETUPS[setup]:
            users.setdefault(measurement_key(setup, stage), []).append(setup)
    return {key: users[key] for key in MEASUREMENTS if key in users}
