"""The controlled study's figure: each method's gain over the baseline against the knob.

One row of panels per segmenter, one panel per metric (F1@50, Edit, Acc); one line per
method with its 95% interval shaded; the reference row (two_stream) drawn thicker. Drawn on a
bare :class:`matplotlib.figure.Figure` (Agg canvas) and written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from relate import io
from relate.reports.study import STUDY_METRICS

DPI = 150
COLORS = (
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#d62728", "#8c564b", "#e377c2", "#17becf",
)  # fmt: skip


def study_figure(frame: pd.DataFrame, knob: str, baseline: str, reference: str, out: Path) -> Path:
    """Draw the gains of ``frame`` (:func:`relate.reports.study.study_frame`) to ``out``."""
    segmenters = sorted(frame["segmenter"].unique())
    methods = [m for m in dict.fromkeys(frame["method"]) if m != baseline]
    colors = {m: COLORS[i % len(COLORS)] for i, m in enumerate(methods)}
    figure = Figure(figsize=(4.2 * len(STUDY_METRICS) + 2.4, 3.4 * len(segmenters)))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(segmenters), len(STUDY_METRICS), squeeze=False)
    for row, segmenter in enumerate(segmenters):
        part = frame[frame["segmenter"] == segmenter]
        for col, (metric, title) in enumerate(STUDY_METRICS):
            ax = axes[row][col]
            ax.axhline(0.0, color="black", linewidth=0.8, linestyle="--")
            for method in methods:
                line = part[(part["method"] == method) & (part["metric"] == metric)]
                line = line.sort_values("value")
                if line.empty:
                    continue
                x = line["value"].to_numpy()
                width = 2.4 if method == reference else 1.4
                ax.plot(x, line["gain"], marker="o", markersize=3, linewidth=width,
                        color=colors[method], label=method)  # fmt: skip
                lo, hi = line["gain_lo"].to_numpy(), line["gain_hi"].to_numpy()
                if np.isfinite(lo).all():
                    ax.fill_between(x, lo, hi, color=colors[method], alpha=0.12, linewidth=0)
            ax.set_title(f"{segmenter}: {title}", fontsize=10)
            ax.set_xlabel(f"{knob} (generator knob, unitless)")
            ax.set_ylabel(f"{title} gain over {baseline} (points)")
            ax.grid(alpha=0.3)
    legend: dict[str, object] = {}  # every method drawn in any panel, in first-seen order
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    figure.legend(list(legend.values()), list(legend), loc="center right", fontsize=9,
                  title="method")  # fmt: skip
    n = int(frame["n"].max())
    figure.suptitle(
        f"Synthetic data: gain over {baseline} (mean, shaded 95% interval of paired "
        f"differences over {n} runs) against {knob}",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0, 1 - 2.2 / figure.get_figwidth(), 0.95))
    with io.atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    return Path(out)
