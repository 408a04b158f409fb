"""Measured shape statistics against a paper dataset's targets, with stated tolerances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from relate.data.synthetic_stats import QUANTILES

TOLERANCE = {"background_share": 0.05, "segments_mean": 0.20, "rel_quantile_factor": 1.5}
"""What a shaped dataset must meet: background share within 0.05 absolute, segments per
video within 20 % of the target mean, each of q25/q50/q75 of the relative segment lengths
within a factor 1.5; classes and splits exact, every class in some video and every action
class in every split's training videos."""

CHECKED_QUANTILES = (0.25, 0.5, 0.75)


class Row(NamedTuple):
    """One statistic: measured and target (formatted), tolerance, and whether it holds."""

    name: str
    measured: str
    target: str
    tolerance: str
    ok: bool | None  # None: reported, not checked


def _fmt(value: Any, digits: int | None) -> str:
    if value is None:
        return "-"
    return str(value) if digits is None else f"{value:.{digits}f}"


def _row(
    name: str,
    got: Any,
    want: Any,
    digits: int | None = None,
    tolerance: str = "",
    ok: bool | None = None,
) -> Row:
    checked = ok is not None and want is not None
    return Row(name, _fmt(got, digits), _fmt(want, digits), tolerance if checked else "",
               ok if checked else None)  # fmt: skip


def _within(got: float, want: float | None, absolute: float = 0.0, relative: float = 0.0) -> bool:
    return want is not None and abs(got - want) <= absolute + relative * abs(want)


def compare(measured: Mapping[str, Any], targets: Mapping[str, Any] | None) -> list[Row]:
    """Rows of measured statistics (:func:`relate.data.synthetic_stats.shape_stats`) next to
    ``targets`` (same keys; None: no targets), with tolerances and verdicts."""
    t = targets or {}
    m = measured
    untrained = sorted({c for s in m["per_split"].values() for c in s["missing_in_train"]})
    share_tol, segs_tol = TOLERANCE["background_share"], TOLERANCE["segments_mean"]
    want_classes, want_splits = t.get("classes"), t.get("splits")
    scaled = "scaled down" if targets else ""
    share, segs = m["background_share"], m["segments_mean"]
    want_share, want_segs = t.get("background_share"), t.get("segments_mean")
    rows = [
        _row("classes", m["classes"], want_classes, None, "exact", m["classes"] == want_classes),
        _row("splits", m["splits"], want_splits, None, "exact", m["splits"] == want_splits),
        _row("classes in no video", len(m["classes_missing"]), 0, None, "exact",
             not m["classes_missing"]),
        _row("action classes absent from a split's training videos", len(untrained), 0, None,
             "exact", not untrained),
        _row("videos", m["videos"], t.get("real_videos"))._replace(tolerance=scaled),
        _row("mean frames per video", m["mean_frames"], t.get("mean_frames"), 0)._replace(
             tolerance=scaled),
        _row("background share", share, want_share, 3, f"+-{share_tol}",
             _within(share, want_share, absolute=share_tol)),
        _row("segments per video (mean)", segs, want_segs, 1, f"+-{round(100 * segs_tol)}%",
             _within(segs, want_segs, relative=segs_tol)),
        _row("segments per video (std)", m["segments_std"], t.get("segments_std"), 1),
        _row("non-background segments per video", m["action_segments_mean"],
             t.get("action_segments_mean"), 1),
    ]  # fmt: skip
    factor = TOLERANCE["rel_quantile_factor"]
    wanted = t.get("rel_quantiles") or [None] * len(QUANTILES)
    for q, got, want in zip(QUANTILES, m["rel_quantiles"], wanted):
        ok = None
        if q in CHECKED_QUANTILES and want is not None:
            ok = want / factor <= got <= want * factor
        rows.append(_row(f"relative length q{round(100 * q)}", got, want, 4, f"x{factor}", ok))
    rows.append(_row("relative length mean", m["rel_mean"], t.get("rel_mean"), 4))
    return rows


def check_shape(measured: Mapping[str, Any], targets: Mapping[str, Any]) -> list[str]:
    """Where ``measured`` misses ``targets`` by more than :data:`TOLERANCE` (or a class is
    missing): one line per problem, empty when the dataset has the shape."""
    return [
        f"{r.name}: {r.measured}, target {r.target} ({r.tolerance})"
        for r in compare(measured, targets)
        if r.ok is False
    ]


def format_comparison(measured: Mapping[str, Any], targets: Mapping[str, Any] | None) -> str:
    """The comparison as a Markdown table (statistic, measured, target, tolerance, ok)."""
    from tabulate import tabulate

    verdict = {True: "yes", False: "NO", None: ""}
    rows = [[r.name, r.measured, r.target, r.tolerance, verdict[r.ok]] for r in compare(
        measured, targets
    )]  # fmt: skip
    headers = ["statistic", "measured", "target", "tolerance", "within"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
