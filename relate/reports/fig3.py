"""Fig. 3: mean F1 against inference time per video, one point per setup (docs/latency.md).

Inputs are a ``relate latency`` JSON (total time per setup) and, per setup, the evaluation
results of that setup's predictor: ``relate evaluate`` JSON files (splits and seeds averaged
as in :func:`relate.reports.summary.summarize`) or a row of a ``relate summarize`` CSV.
Mean F1 = mean of F1@10, F1@25 and F1@50. Nothing is ever filled in: a missing input is a
one-line :class:`~relate.errors.DataError`.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from relate import io
from relate.errors import DataError, RelateError
from relate.tools.latency import SCHEMA, SCHEMA_VERSION

F1_COLUMNS = ("f1@10", "f1@25", "f1@50")
SETUP_LABELS = {
    "rgb": "RGB-only",
    "flow": "OF-only",
    "two_stream": "Two-stream",
    "relate": "RELATE",
}


@dataclass(frozen=True)
class Fig3Point:
    """One setup: total seconds per video, mean F1 (%) and where each came from."""

    setup: str
    seconds: float
    mean_f1: float
    metrics_sources: tuple[str, ...]
    synthetic_metrics: bool


def load_latency(path: Path) -> dict[str, Any]:
    """A ``relate latency`` JSON; ``DataError`` if missing, unreadable or another schema."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "latency JSON not found (write it with `relate latency --out`)")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"cannot read latency JSON ({error})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise DataError(path, f"not a `relate latency` output (schema is not {SCHEMA!r})")
    if report.get("schema_version") != SCHEMA_VERSION:
        raise DataError(
            path,
            f"latency schema version {report.get('schema_version')!r}, "
            f"this code reads {SCHEMA_VERSION}",
        )
    if not isinstance(report.get("setups"), dict) or not report["setups"]:
        raise DataError(path, "latency JSON has no setups")
    return report


def mean_f1(source: str) -> tuple[float, tuple[str, ...], bool]:
    """Mean F1 (%) from ``PATH[,PATH...]`` of evaluate JSONs or ``FILE.csv#PREDICTOR``.

    Returns (mean F1, the files read, whether the metrics are on synthetic data).
    """
    from relate.reports.summary import read_metrics, summarize

    if "#" in source and source.split("#", 1)[0].endswith(".csv"):
        csv_name, predictor = source.split("#", 1)
        return _mean_f1_csv(Path(csv_name), predictor), (csv_name,), False
    paths = [Path(p) for p in source.split(",") if p]
    if not paths:
        raise RelateError("--metrics: no file given")
    for path in paths:
        if not path.is_file():
            raise DataError(path, "metrics file not found (write it with `relate evaluate --out`)")
        if path.suffix == ".csv":
            raise DataError(path, "a summary CSV needs its row: FILE.csv#PREDICTOR")
    table = summarize(paths)
    if len(table) != 1:
        names = ", ".join(f"{r.dataset}/{r.convention}/{r.predictor}" for r in table.itertuples())
        raise DataError(paths[0], f"metrics files mix several predictors or datasets: {names}")
    row = table.iloc[0]
    synthetic = any(bool(read_metrics(p)["synthetic"]) for p in paths)
    value = float(sum(row[c] for c in F1_COLUMNS) / len(F1_COLUMNS))
    return value, tuple(map(str, paths)), synthetic


def _mean_f1_csv(path: Path, predictor: str) -> float:
    if not path.is_file():
        raise DataError(path, "summary CSV not found (write it with `relate summarize`)")
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DataError(path, f"cannot read summary CSV ({error})") from None
    missing = [c for c in ("predictor", *F1_COLUMNS) if c not in table.columns]
    if missing:
        raise DataError(path, f"not a `relate summarize` CSV: missing columns {missing}")
    rows = table[table["predictor"].astype(str) == predictor]
    if len(rows) != 1:
        raise DataError(path, f"{len(rows)} rows for predictor {predictor!r}, expected exactly 1")
    return float(sum(float(rows.iloc[0][c]) for c in F1_COLUMNS) / len(F1_COLUMNS))


def fig3_points(
    latency: Mapping[str, Any], metrics: Mapping[str, str], latency_path: Path
) -> list[Fig3Point]:
    """One point per setup in ``metrics`` (setup -> source); each needs a latency total."""
    if not metrics:
        raise RelateError("no --metrics given: Fig. 3 needs each setup's evaluation results")
    points = []
    for setup, source in metrics.items():
        if setup not in latency["setups"]:
            raise DataError(
                latency_path,
                f"no latency for setup {setup!r} (it has: {', '.join(latency['setups'])})",
            )
        seconds = float(latency["setups"][setup]["total_median_s"])
        if not (math.isfinite(seconds) and seconds > 0):
            raise DataError(latency_path, f"setup {setup!r} has total {seconds!r} s")
        value, files, synthetic = mean_f1(source)
        points.append(Fig3Point(setup, seconds, value, files, synthetic))
    return points


def speedup(latency: Mapping[str, Any]) -> float | None:
    """Two-stream total over RELATE total, or None when either is absent."""
    setups = latency["setups"]
    if "two_stream" not in setups or "relate" not in setups:
        return None
    return setups["two_stream"]["total_median_s"] / setups["relate"]["total_median_s"]


def flow_share(latency: Mapping[str, Any]) -> float | None:
    """Share of the two-stream total spent in TV-L1, or None."""
    setup = latency["setups"].get("two_stream")
    if setup is None:
        return None
    tvl1 = sum(s["median_s"] for s in setup["stages"] if s["stage"] == "tvl1")
    return tvl1 / setup["total_median_s"]


def caption(latency: Mapping[str, Any], points: Sequence[Fig3Point]) -> str:
    """Footnote: hardware, video, extrapolation and weights, so the plot says what it is."""
    hw, video, config = latency["hardware"], latency["video"], latency["config"]
    where = hw.get("gpu_name") or hw.get("cpu_model", "unknown CPU")
    clip = (
        f"synthetic {video.get('frames')}-frame video"
        if video.get("synthetic")
        else f"{Path(str(video.get('source'))).name} ({video.get('frames')} frames)"
    )
    parts = [
        f"latency: {config['device']} ({where}), {clip}, median of {config['repeats']} runs",
        "random-weight models (timing only)",
    ]
    if latency.get("extrapolated_measurements"):
        parts.append("extrapolated: " + ", ".join(latency["extrapolated_measurements"]))
    if any(p.synthetic_metrics for p in points):
        parts.append("F1 on SYNTHETIC data")
    return "; ".join(parts)


def plot_fig3(
    points: Sequence[Fig3Point], latency: Mapping[str, Any], out: Path, title: str | None = None
) -> None:
    """Write the scatter plot (log time axis) to ``out`` atomically; format from the suffix."""
    fig = draw_fig3(points, latency, title)
    out = Path(out)
    with io.atomic_path(out) as tmp:
        fig.savefig(tmp, format=out.suffix.lstrip(".") or "png", dpi=150)


def draw_fig3(
    points: Sequence[Fig3Point], latency: Mapping[str, Any], title: str | None = None
) -> Any:
    """The Fig. 3 :class:`matplotlib.figure.Figure`: one labelled point per setup."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global figure state
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fig = Figure(figsize=(6.4, 5.0))
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.92, bottom=0.2)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    # labelled ticks at 1, 2 and 5 x 10^k in plain numbers; matplotlib's own labels of the
    # minor ticks ("3x10^2", "4x10^2") run into each other within one decade
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    for point in points:
        ax.scatter(point.seconds, point.mean_f1, s=60, zorder=3)
    two = next((p for p in points if p.setup == "two_stream"), None)
    share = flow_share(latency)
    if two is not None and share is not None and share > 0:
        start = two.seconds * (1 - share)
        ax.plot(
            [max(start, 1e-9), two.seconds],
            [two.mean_f1] * 2,
            ls="--",
            color="gray",
            zorder=2,
            label=f"TV-L1 flow: {100 * share:.{0 if share >= 0.1 else 1}f}% of two-stream time",
        )
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("inference time per video (s, log scale)")
    ax.set_ylabel("mean F1@{10,25,50} (%)")
    config = latency["config"]
    ax.set_title(title or f"Mean F1 vs inference time ({config['dataset']}, {config['segmenter']})")
    ax.grid(True, which="both", alpha=0.3)
    xs = [p.seconds for p in points]
    ax.set_xlim(min(xs) / 3, max(xs) * 3)
    ax.margins(y=0.2)
    place_labels(fig, ax, points)
    fig.text(0.01, 0.01, textwrap.fill(caption(latency, points), 130), fontsize=6, va="bottom")
    return fig


LABEL_OFFSETS = tuple(
    (dx * step, dy * step)
    for step in (8, 18, 30, 44)
    for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
)
"""Candidate label offsets from a point, in points: nearest first, eight directions each."""


def place_labels(fig: Any, ax: Any, points: Sequence[Fig3Point]) -> list[Any]:
    """Annotate each point with its setup and time where the label overlaps no other label,
    no marker and stays inside the axes; returns the annotations.

    Tries :data:`LABEL_OFFSETS` in order with the figure's renderer; where none fits (very
    crowded plots), the candidate with the least overlap is kept.
    """
    renderer = fig.canvas.get_renderer()
    area = ax.get_window_extent(renderer)
    markers = [ax.transData.transform((p.seconds, p.mean_f1)) for p in points]
    placed: list[Any] = []
    boxes: list[Any] = []
    for point in points:
        text = f"{SETUP_LABELS.get(point.setup, point.setup)}\n{_duration(point.seconds)}"
        best, best_cost = None, math.inf
        for dx, dy in LABEL_OFFSETS:
            label = ax.annotate(
                text,
                (point.seconds, point.mean_f1),
                textcoords="offset points",
                xytext=(dx, dy),
                fontsize=9,
                ha="left" if dx >= 0 else "right",
                va="bottom" if dy >= 0 else "top",
                arrowprops={"arrowstyle": "-", "color": "gray", "lw": 0.5} if abs(dx) > 8 else None,
            )
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            cost = sum(_overlap(box, other) for other in boxes)
            cost += sum(box.contains(x, y) for x, y in markers)
            if not (area.contains(box.x0, box.y0) and area.contains(box.x1, box.y1)):
                cost += 0.5
            if cost < best_cost:
                if best is not None:
                    best.remove()
                best, best_cost = label, cost
            else:
                label.remove()
            if cost == 0:
                break
        placed.append(best)
        boxes.append(best.get_window_extent(renderer).expanded(1.05, 1.1))
    return placed


def _overlap(first: Any, second: Any) -> float:
    """Overlap area of two display-space boxes, as a share of the smaller one (0 if apart)."""
    width = min(first.x1, second.x1) - max(first.x0, second.x0)
    height = min(first.y1, second.y1) - max(first.y0, second.y0)
    if width <= 0 or height <= 0:
        return 0.0
    smaller = min(first.width * first.height, second.width * second.height)
    return 1.0 + width * height / smaller


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:.2f} s"


def points_json(
    points: Sequence[Fig3Point], latency_path: Path, latency: Mapping[str, Any]
) -> dict[str, Any]:
    """The plotted numbers, written beside the figure."""
    return {
        "latency": str(latency_path),
        "points": [asdict(p) for p in points],
        "two_stream_over_relate": speedup(latency),
        "tvl1_share_of_two_stream": flow_share(latency),
    }
