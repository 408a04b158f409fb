"""Figs. 1 and 4 of the paper from the suite's own outputs (docs/reports.md).

* :func:`fig1`: Acc and mean F1 (mean of F1@{10,25,50}) of the RGB-only Baseline (``rgb``),
  MARS (``mars``) and RELATE (``relate``), grouped bars per dataset × segmenter with the
  standard deviation over seeds as error bars.
* :func:`fig4`: the ground truth and each model's predicted labels of one test video as
  horizontal colour bars with one class legend.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` (Agg canvas, no pyplot state)
and written atomically as PNG.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from relate import io
from relate.data.layout import DatasetLayout, load_split, read_labels, read_mapping
from relate.data.registry import DATASETS
from relate.errors import DataError, RelateError
from relate.evaluation.evaluate import read_npz_predictions
from relate.reports.paper_results import parse_row
from relate.reports.tables import CellStats, cell_stats, in_preset, select

logger = logging.getLogger(__name__)

FIG1_METHODS: tuple[tuple[str, str], ...] = (
    ("rgb", "Baseline (RGB)"),
    ("mars", "MARS"),
    ("relate", "RELATE"),
)
"""(row, legend label) of Fig. 1, in bar order."""
FIG1_COLORS = ("#9e9e9e", "#4c72b0", "#dd8452")
DPI = 150


def _save(figure: Figure, out: Path) -> Path:
    """Write ``figure`` to ``out`` as PNG atomically."""
    FigureCanvasAgg(figure)
    with io.atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    return Path(out)


def _seed_values(stats: CellStats, what: str) -> list[float]:
    """Per-seed Acc (``acc``) or mean F1 (``mean_f1``)."""
    if what == "acc":
        return [scores["acc"] for scores in stats.per_seed.values()]
    return [
        math.fsum(scores[m] for m in ("f1@10", "f1@25", "f1@50")) / 3
        for scores in stats.per_seed.values()
    ]


def fig1_data(
    frame: pd.DataFrame, convention: str = "standard", preset: str = "release"
) -> pd.DataFrame:
    """Bars of Fig. 1: one line per (dataset, segmenter, row, quantity) with runs.

    Columns: dataset, segmenter, row, quantity (``acc`` / ``mean_f1``), mean, std (sample
    std over seeds, 0 for one seed), n_seeds, synthetic.
    """
    runs = in_preset(select(frame, convention=convention), preset)
    lines = []
    if runs.empty:
        return pd.DataFrame(lines)
    for (dataset, segmenter), group in runs.groupby(["dataset", "segmenter"]):
        for row, _ in FIG1_METHODS:
            stats = cell_stats(
                select(group, row=row), f"fig1: row {row!r} ({dataset}, {segmenter})"
            )
            if stats is None:
                continue
            for quantity in ("acc", "mean_f1"):
                values = _seed_values(stats, quantity)
                lines.append(
                    {
                        "dataset": dataset,
                        "segmenter": segmenter,
                        "row": row,
                        "quantity": quantity,
                        "mean": float(np.mean(values)),
                        "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                        "n_seeds": len(values),
                        "synthetic": stats.synthetic,
                    }
                )
    return pd.DataFrame(lines)


def fig1(
    frame: pd.DataFrame, out: Path, convention: str = "standard", preset: str = "release"
) -> pd.DataFrame:
    """Draw Fig. 1 to ``out`` (PNG); returns the plotted numbers (:func:`fig1_data`).

    Raises :class:`RelateError` when no ``rgb``, ``mars`` or ``relate`` run is in ``frame``.
    """
    data = fig1_data(frame, convention, preset)
    if data.empty:
        raise RelateError(
            "fig1: no `rgb`, `mars` or `relate` runs under convention "
            f"{convention!r} and preset {preset!r} in the metrics files"
        )
    groups = sorted(set(zip(data["dataset"], data["segmenter"])))
    synthetic = bool(data["synthetic"].any())
    figure = Figure(figsize=(max(7.0, 2.4 * len(groups) + 3.0), 4.4), layout="constrained")
    axes = figure.subplots(1, 2)
    width = 0.8 / len(FIG1_METHODS)
    x = np.arange(len(groups))
    for ax, quantity, ylabel in (
        (axes[0], "acc", "Frame accuracy (%)"),
        (axes[1], "mean_f1", "Mean F1@{10,25,50} (%)"),
    ):
        for index, ((row, label), color) in enumerate(zip(FIG1_METHODS, FIG1_COLORS)):
            offset = (index - (len(FIG1_METHODS) - 1) / 2) * width
            for gx, (dataset, segmenter) in enumerate(groups):
                hit = data[
                    (data["dataset"] == dataset)
                    & (data["segmenter"] == segmenter)
                    & (data["row"] == row)
                    & (data["quantity"] == quantity)
                ]
                if hit.empty:
                    ax.text(
                        gx + offset,
                        1,
                        "not run",
                        rotation=90,
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color="0.4",
                    )
                    continue
                ax.bar(
                    gx + offset,
                    hit["mean"].iloc[0],
                    width,
                    yerr=hit["std"].iloc[0],
                    capsize=3,
                    color=color,
                    label=label if gx == 0 else None,
                    edgecolor="black",
                    linewidth=0.5,
                )
        ax.set_xticks(x, [f"{d}\n{s}" for d, s in groups])
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, 100)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_title("Frame accuracy")
    axes[1].set_title("Mean segmental F1")
    handles = [
        Patch(facecolor=c, edgecolor="black", label=label)
        for (_, label), c in zip(FIG1_METHODS, FIG1_COLORS)
    ]
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False)
    seeds = int(data["n_seeds"].max())
    title = (
        f"Fig. 1: RGB-only inference, Baseline vs MARS vs RELATE\n(mean ± std over "
        f"up to {seeds} seed(s); {convention} protocol)"
    )
    if synthetic:
        title += "\nSYNTHETIC data: not comparable to the paper"
    figure.suptitle(title, fontsize=10)
    _save(figure, out)
    return data


# --- Fig. 4 -------------------------------------------------------------------------------


def parse_prediction_spec(text: str) -> tuple[str, Path, str]:
    """``LABEL=FILE.npz[:HEAD]`` -> (label, path, head).

    Without ``:HEAD`` the head is the one the label's paper row is scored on when the label
    is a row name (``relate_wo_pr`` -> ``joint``), else ``final``.
    """
    label, eq, rest = text.partition("=")
    if not eq or not label or not rest:
        raise RelateError(f"--predictions {text!r}: expected LABEL=FILE.npz[:HEAD]")
    if rest.endswith(".npz"):
        path, head = rest, None
    else:
        path, _, head = rest.rpartition(":")
        if not path.endswith(".npz") or not head:
            raise RelateError(f"--predictions {text!r}: expected LABEL=FILE.npz[:HEAD]")
    if head is None:
        try:
            head = parse_row(label).head
        except RelateError:
            head = "final"
    return label, Path(path), head


def _segments(ids: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, length, class id) of each run of equal ids."""
    if ids.size == 0:
        return []
    change = np.flatnonzero(np.diff(ids)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [ids.size]])
    return [(int(s), int(e - s), int(ids[s])) for s, e in zip(starts, ends)]


def class_colors(n_classes: int) -> list[tuple[float, float, float]]:
    """A distinct colour per class id (tab20 up to 20 classes, evenly spaced hues beyond)."""
    from matplotlib import colormaps

    if n_classes <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i)[:3] for i in range(n_classes)]
    cmap = colormaps["hsv"]
    return [cmap(i / n_classes)[:3] for i in range(n_classes)]


def fig4(
    predictions: Mapping[str, Path | tuple[Path, str]],
    data_dir: Path,
    split: int,
    video: str,
    out: Path,
    dataset: str | None = None,
) -> dict[str, list[str]]:
    """Draw Fig. 4 for ``video`` (a test video of ``split``) to ``out`` (PNG).

    ``predictions``: label -> ``relate predict`` .npz (head ``final``) or (npz, head). Time
    is in seconds when ``dataset`` is a registry name (its fps), else in frames. Returns the
    label names per bar (``"ground truth"`` first). Raises :class:`DataError` for a video not
    in the split, a missing file or head, or classes that differ from mapping.txt.
    """
    if not predictions:
        raise RelateError("fig4: give at least one --predictions LABEL=FILE.npz")
    layout = DatasetLayout(Path(data_dir))
    if not layout.root.is_dir():
        raise DataError(layout.root, "dataset folder does not exist")
    mapping = read_mapping(layout.mapping_path)
    id_to_name = {class_id: name for name, class_id in mapping.items()}
    videos = load_split(layout, "test", split)
    if video not in videos:
        raise DataError(
            layout.split_path("test", split),
            f"video {video!r} is not a test video of split {split}",
        )
    bars = {"ground truth": read_labels(layout.label_path(video), mapping)}
    for label, spec in predictions.items():
        path, head = (spec, "final") if isinstance(spec, (str, Path)) else spec
        bars[label] = read_npz_predictions(Path(path), [video], id_to_name, head, split)[0]
    info = DATASETS.get(dataset) if dataset else None
    if dataset and info is None:
        raise RelateError(f"fig4: unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    fps = info.fps if info else None
    scale = 1.0 / fps if fps else 1.0
    colors = class_colors(max(id_to_name) + 1)
    used = sorted({mapping[name] for labels in bars.values() for name in labels})
    figure = Figure(figsize=(10, 0.55 * len(bars) + 1.9))
    ax = figure.subplots()
    for index, labels in enumerate(bars.values()):
        ids = np.array([mapping[name] for name in labels])
        y = len(bars) - 1 - index
        for start, length, class_id in _segments(ids):
            ax.broken_barh(
                [(start * scale, length * scale)],
                (y - 0.4, 0.8),
                facecolors=colors[class_id],
                edgecolors="none",
            )
    ax.set_yticks(range(len(bars)), list(bars)[::-1])
    ax.set_ylim(-0.6, len(bars) - 0.4)
    longest = max(len(labels) for labels in bars.values())
    ax.set_xlim(0, longest * scale)
    ax.set_xlabel("Time (s)" if fps else "Time (frames)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    handles = [Patch(facecolor=colors[i], label=id_to_name[i]) for i in used]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.35 if len(bars) < 4 else -0.25),
        ncol=min(6, len(handles)),
        fontsize=7,
        frameon=False,
    )
    title = f"Fig. 4: segmentation of {video!r} (split {split}"
    title += f", {dataset})" if dataset else ")"
    if info is not None and info.synthetic:
        title += " - SYNTHETIC data"
    ax.set_title(title, fontsize=10)
    _save(figure, out)
    return bars


def test_video(data_dir: Path, split: int, index: int) -> str:
    """The ``index``-th (0-based) test video of ``split``, in bundle order."""
    layout = DatasetLayout(Path(data_dir))
    videos = load_split(layout, "test", split)
    if not 0 <= index < len(videos):
        raise DataError(
            layout.split_path("test", split),
            f"video index {index} out of range: the bundle lists {len(videos)} video(s)",
        )
    return videos[index]


def predictions_from_specs(specs: Sequence[str]) -> dict[str, tuple[Path, str]]:
    """``LABEL=FILE.npz[:HEAD]`` items -> {label: (path, head)}; labels must be distinct."""
    out: dict[str, tuple[Path, str]] = {}
    for text in specs:
        label, path, head = parse_prediction_spec(text)
        if label in out or label == "ground truth":
            raise RelateError(f"--predictions: label {label!r} given twice or reserved")
        out[label] = (path, head)
    return out
