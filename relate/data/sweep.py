"""Names of swept synthetic datasets: one registry dataset generated at one knob setting.

A study varies one generator knob of a synthetic stand-in (``relate synth --set KNOB=VALUE``)
and trains the same runs on each setting. Each setting is a dataset of its own on disk,
named ``{registry dataset}-{knob}-{value}`` (``synthetic_gtea-motion_leak-0.2``); its runs
use the registry row (classes, splits, recipes) of the part before the first ``-``. Registry
names never contain ``-``, knob names are :class:`~relate.data.synthetic_config.SynthConfig`
field names (letters and ``_``), so the name parses back without ambiguity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from relate.errors import RelateError

SEPARATOR = "-"
_PATTERN = re.compile(r"^(?P<base>[A-Za-z0-9_]+)-(?P<knob>[a-z_]+)-(?P<value>[0-9.eE+-]+)$")


def format_value(value: float) -> str:
    """A knob value as it appears in a dataset name: ``0``, ``0.2``, ``1.5``, ``1e-05``."""
    return f"{float(value):g}"


@dataclass(frozen=True)
class SweepDataset:
    """One swept setting: the registry dataset, the knob, and its value."""

    base: str
    knob: str | None = None
    value: float | None = None

    def __str__(self) -> str:
        if self.knob is None or self.value is None:
            return self.base
        return f"{self.base}{SEPARATOR}{self.knob}{SEPARATOR}{format_value(self.value)}"

    @classmethod
    def parse(cls, name: str) -> SweepDataset:
        """Parse a dataset name; a name without a knob part is the registry dataset itself."""
        if SEPARATOR not in name:
            return cls(name)
        match = _PATTERN.match(name)
        if match is None:
            raise RelateError(
                f"dataset name {name!r}: expected DATASET or DATASET-KNOB-VALUE "
                "(e.g. synthetic_gtea-motion_leak-0.2)"
            )
        try:
            value = float(match["value"])
        except ValueError:
            raise RelateError(
                f"dataset name {name!r}: {match['value']!r} is not a number"
            ) from None
        return cls(match["base"], match["knob"], value)


def registry_name(name: str) -> str:
    """The registry dataset a (possibly swept) dataset name runs as."""
    return SweepDataset.parse(name).base
