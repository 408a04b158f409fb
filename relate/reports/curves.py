"""Learning curves: training loss and training-set frame accuracy per epoch, from run folders.

The loss is drawn relative to the run's first epoch (its terms and scale differ between
methods: RELATE sums several losses), so every curve starts at 1.

Each run folder holds ``config.json`` (dataset, segmenter, variant, split, seed) and
``log.jsonl`` (one line per epoch: ``loss.total``, ``train_acc``). Runs are grouped into
*families* (dataset × segmenter), one row of two panels per family, one line per run.
``train_acc`` is the accuracy of the predictions made while training (dropout active, the
training resolution after the sample rate; RELATE: the joint head), so it shows convergence,
not test quality.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from relate import io
from relate.errors import DataError
from relate.runs.files import LOG_FILE, read_config

logger = logging.getLogger(__name__)

DPI = 150
VARIANT_COLORS = {
    "rgb": "#7f7f7f",
    "flow": "#2ca02c",
    "two_stream": "#1f77b4",
    "relate": "#ff7f0e",
    "kd": "#9467bd",
    "rkd": "#8c564b",
    "gcr": "#e377c2",
    "mars": "#17becf",
}


@dataclass(frozen=True)
class RunCurve:
    """One run's per-epoch training record."""

    family: tuple[str, str]  # (dataset, segmenter)
    label: str  # variant, options and preset, split and seed
    variant: str
    loss: tuple[float, ...]
    train_acc: tuple[float, ...]


def read_run_curve(run: Path) -> RunCurve:
    """The curve of one run folder; a missing or malformed file is a :class:`DataError`."""
    config = read_config(run, hint="not a finished run folder?")
    log_path = run / LOG_FILE
    try:
        lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
    except FileNotFoundError as error:
        raise DataError(Path(error.filename), "missing (not a finished run folder?)") from None
    except (OSError, ValueError) as error:
        raise DataError(run, f"unreadable run record ({error})") from None
    try:
        variant = config["variant"]["name"]
        family = (str(config["dataset"]["name"]), str(config["segmenter"]["name"]))
        loss = tuple(float(line["loss"]["total"]) for line in lines)
        accuracy = tuple(float(line.get("train_acc", float("nan"))) for line in lines)
        name = run.parent.name if run.parent.name.startswith(variant) else variant
        label = f"{name} (split {config.get('split', '?')}, seed {config.get('seed', '?')})"
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(log_path, f"not a training log ({error})") from None
    if not lines:
        raise DataError(log_path, "no epochs logged")
    return RunCurve(family, label, variant, loss, accuracy)


def draw_curves(curves: Sequence[RunCurve], caption: str) -> Figure:
    """Rows = families (sorted), columns = loss and training accuracy."""
    families = sorted({c.family for c in curves})
    figure = Figure(figsize=(10.0, 2.6 * len(families) + 0.6))
    axes = figure.subplots(len(families), 2, squeeze=False)
    for row, family in enumerate(families):
        members = sorted((c for c in curves if c.family == family), key=lambda c: c.label)
        for curve in members:
            color = VARIANT_COLORS.get(curve.variant, "#bcbd22")
            epochs = range(1, len(curve.loss) + 1)
            first = curve.loss[0] if curve.loss[0] > 0 else 1.0
            relative = [loss / first for loss in curve.loss]
            axes[row][0].plot(epochs, relative, color=color, lw=1.2, label=curve.label)
            axes[row][1].plot(epochs, curve.train_acc, color=color, lw=1.2, label=curve.label)
        dataset, segmenter = family
        axes[row][0].set_ylim(bottom=0)
        axes[row][0].set_ylabel("training loss\n(÷ epoch 1's)")
        axes[row][1].set_ylabel("training frame acc. (%)")
        axes[row][1].set_ylim(0, 100)
        for ax in axes[row]:
            ax.set_title(f"{dataset} · {segmenter}", fontsize=9)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
        axes[row][1].legend(fontsize=6, loc="lower right", ncol=2)
    figure.suptitle(caption, fontsize=9, y=1.0)
    figure.tight_layout()
    return figure


def learning_curves(runs: Sequence[Path], out: Path, caption: str) -> Path:
    """Read every run folder, draw the curves and write ``out`` (PNG) atomically."""
    curves = [read_run_curve(Path(run)) for run in runs]
    if not curves:
        raise DataError(out, "no run folders given")
    figure = draw_curves(curves, caption)
    FigureCanvasAgg(figure)
    with io.atomic_path(out) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    logger.info("%s: %d runs in %d families", out, len(curves), len({c.family for c in curves}))
    return out
