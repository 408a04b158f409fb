"""The Fig. 3 claims, checked on the totals of a ``relate latency`` JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relate.errors import DataError
from relate.reports.paper_results import FIG3_TEXT
from relate.reports.scorecard.evidence import FAILS, HOLDS, NOT_RUN


def load_latency_totals(path: Path) -> dict[str, dict[str, Any]]:
    """``setups`` of a ``relate latency`` JSON: setup -> {total_median_s, stages}.

    Read defensively: setups without a finite positive ``total_median_s`` are skipped.
    Raises :class:`DataError` for a missing or unreadable file.
    """
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"cannot read latency JSON ({error})") from None
    setups = report.get("setups") if isinstance(report, dict) else None
    if not isinstance(setups, dict):
        raise DataError(path, "no `setups` object (not a `relate latency` output?)")
    totals = {}
    for name, setup in setups.items():
        total = setup.get("total_median_s") if isinstance(setup, dict) else None
        if isinstance(total, (int, float)) and math.isfinite(total) and total > 0:
            stages = setup.get("stages") if isinstance(setup.get("stages"), list) else []
            totals[name] = {"total_median_s": float(total), "stages": stages}
    return totals


def claim_latency_speedup(latency: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    if not latency or "relate" not in latency or "two_stream" not in latency:
        return NOT_RUN, []
    a, b = latency["relate"]["total_median_s"], latency["two_stream"]["total_median_s"]
    return (HOLDS if b > a else FAILS), [
        f"per video: two-stream {b:.3g} s, RELATE {a:.3g} s, ratio {b / a:.1f}× (paper: "
        f"{FIG3_TEXT['two_stream_seconds']:.0f} s vs {FIG3_TEXT['relate_seconds']} s, "
        f"≈{FIG3_TEXT['speedup']:.0f}×)"
    ]


def claim_flow_dominates(latency: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    if not latency or "two_stream" not in latency:
        return NOT_RUN, []
    setup = latency["two_stream"]
    flow = math.fsum(
        float(s.get("median_s", 0.0))
        for s in setup["stages"]
        if isinstance(s, dict) and s.get("stage") == "tvl1"
    )
    if flow <= 0:
        return NOT_RUN, ["no `tvl1` stage timing in the two-stream setup"]
    share = flow / setup["total_median_s"]
    return (HOLDS if share > 0.5 else FAILS), [
        f"TV-L1 {flow:.3g} s of {setup['total_median_s']:.3g} s = {100 * share:.1f}% "
        f"(paper: {100 * FIG3_TEXT['flow_extraction_share']:.0f}%)"
    ]
