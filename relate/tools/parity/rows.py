"""Result rows, the report that collects them, and the row builders with their tolerances."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch

from relate.tools.parity.constants import COUNT_TOLERANCE, RELEASE_URL, TENSOR_TOLERANCE


@dataclass(frozen=True)
class ParityRow:
    """One compared quantity.

    Attributes:
        segmenter: ``mstcn``, ``asformer``, or ``-`` for segmenter-free checks.
        quantity: what was compared (mode, head, stage).
        max_abs_diff: largest |ours - release| (a count for label/printout rows).
        tolerance: the absolute tolerance applied (already scaled, see ``TENSOR_TOLERANCE``).
        ok: ``max_abs_diff <= tolerance``.
        note: scale of the release's values or other context.
    """

    segmenter: str
    quantity: str
    max_abs_diff: float
    tolerance: float
    ok: bool
    note: str = ""

    def widened(self, allowance: float, reason: str) -> ParityRow:
        """This row with ``allowance`` added to its tolerance and ``reason`` to its note."""
        tolerance = self.tolerance + allowance
        note = f"{self.note}; {reason}" if self.note else reason
        return dataclasses.replace(
            self, tolerance=tolerance, ok=self.max_abs_diff <= tolerance, note=note
        )


@dataclass
class ParityReport:
    """All rows of one parity run, with where the release came from and the settings."""

    rows: list[ParityRow]
    release_path: str
    release_commit: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every row is within its tolerance."""
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[ParityRow]:
        """The rows outside their tolerance."""
        return [row for row in self.rows if not row.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``rows`` as a list of dicts; a non-finite number as a string)."""
        return {
            "release": {
                "url": RELEASE_URL,
                "path": self.release_path,
                "commit": self.release_commit,
            },
            "settings": self.settings,
            "ok": self.ok,
            "rows": [
                {
                    k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
                    for k, v in dataclasses.asdict(row).items()
                }
                for row in self.rows
            ],
        }

    def table(self, fmt: str = "github") -> str:
        """The rows as a ``tabulate`` table."""
        from tabulate import tabulate

        body = [
            (
                r.segmenter,
                r.quantity,
                _fmt(r.max_abs_diff),
                _fmt(r.tolerance),
                "ok" if r.ok else "FAIL",
                r.note,
            )
            for r in self.rows
        ]
        return tabulate(
            body,
            headers=("segmenter", "quantity", "max_abs_diff", "tolerance", "ok", "note"),
            tablefmt=fmt,
            disable_numparse=True,
        )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def tensor_row(
    segmenter: str, quantity: str, ours: torch.Tensor, theirs: torch.Tensor, note: str = ""
) -> ParityRow:
    """Row for two tensors of one shape (any shape, compared in float64):
    max |ours - theirs| against ``TENSOR_TOLERANCE * max(1, max |theirs|)``.

    A shape mismatch or a non-finite value fails the row with an infinite difference.
    """
    ours = torch.as_tensor(ours).detach().double()
    theirs = torch.as_tensor(theirs).detach().double()
    if ours.shape != theirs.shape:
        return ParityRow(
            segmenter,
            quantity,
            math.inf,
            0.0,
            False,
            f"shape {tuple(ours.shape)} vs release {tuple(theirs.shape)}",
        )
    if ours.numel() == 0:
        return ParityRow(segmenter, quantity, 0.0, TENSOR_TOLERANCE, True, "empty")
    if not (torch.isfinite(ours).all() and torch.isfinite(theirs).all()):
        return ParityRow(segmenter, quantity, math.inf, 0.0, False, "non-finite values")
    diff = float((ours - theirs).abs().max())
    scale = float(theirs.abs().max())
    tolerance = TENSOR_TOLERANCE * max(1.0, scale)
    scale_note = f"release max abs {scale:.3g}"
    return ParityRow(
        segmenter,
        quantity,
        diff,
        tolerance,
        diff <= tolerance,
        f"{scale_note}; {note}" if note else scale_note,
    )


def count_row(segmenter: str, quantity: str, differing: int, note: str = "") -> ParityRow:
    """Row for a count of differing labels or printed values (must be 0)."""
    return ParityRow(
        segmenter, quantity, float(differing), COUNT_TOLERANCE, differing <= COUNT_TOLERANCE, note
    )
