"""Input variants of the baselines: which feature rows a segmenter sees.

A feature file holds (2048, T) I3D features: rows 0-1023 RGB, 1024-2047 flow
(:mod:`relate.data.registry`). The three label-supervised baselines of the paper differ
only in the rows they read:

=============  ===========  ======  ===================================================
variant        rows         in_dim  paper rows
=============  ===========  ======  ===================================================
``rgb``        0-1023       1024    "RGB" rows
``flow``       1024-2047    1024    Fig. 3 OF-only; at RELATE's depth it is the teacher
``two_stream`` 0-2047       2048    "RGB+OF" rows
=============  ===========  ======  ===================================================

The distillation and RELATE variants (docs/training.md) are built on top of these by their own
modules; this table is about inputs only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from relate.data.registry import FEATURE_DIM, FLOW_ROWS, RGB_ROWS
from relate.errors import RelateError


@dataclass(frozen=True)
class InputVariant:
    """One input variant: a contiguous block of feature rows.

    Attributes:
        name: registry key.
        rows: the slice of feature rows read (step 1).
        description: one line for help texts and docs.
    """

    name: str
    rows: slice
    description: str

    @property
    def in_dim(self) -> int:
        """Number of feature rows, i.e. the segmenter's input dimension D."""
        return self.rows.stop - self.rows.start

    def as_dict(self) -> dict[str, object]:
        """JSON-ready description (rows as ``[start, stop)``)."""
        return {"name": self.name, "rows": [self.rows.start, self.rows.stop], "in_dim": self.in_dim}


VARIANTS: Mapping[str, InputVariant] = MappingProxyType(
    {
        "rgb": InputVariant("rgb", RGB_ROWS, "I3D-RGB rows only"),
        "flow": InputVariant("flow", FLOW_ROWS, "I3D-flow rows only (also the teacher)"),
        "two_stream": InputVariant(
            "two_stream", slice(0, FEATURE_DIM), "RGB + flow, all 2048 rows"
        ),
    }
)
"""Name -> input variant; never mutated."""


def get_variant(name: str) -> InputVariant:
    """Look up an input variant; raises :class:`RelateError` listing the known names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise RelateError(f"unknown input variant {name!r}; known: {', '.join(VARIANTS)}") from None
