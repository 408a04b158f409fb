"""Reading ``relate evaluate`` JSON files into one frame (one line per file)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from relate.blocks.presets import DISTILLED, PRESETS
from relate.errors import DataError, RelateError
from relate.evaluation.metrics import CONVENTIONS
from relate.reports.paper_results import RELATE_OPTIONS, parse_row
from relate.reports.summary import read_metrics
from relate.reports.tables.layout import FRAME_COLUMNS, KEY, METRICS, NO_PRESET


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _record_row(path: Path) -> dict[str, object]:
    """One metrics JSON as a frame row; ``DataError`` naming ``path`` for a bad field."""
    record = read_metrics(path)
    label = record.get("label")
    if not isinstance(label, str) or not label:
        raise DataError(path, "no `label` (evaluate with --label ROW, e.g. --label relate)")
    try:
        spec = parse_row(label)
    except RelateError as error:
        raise DataError(path, f"label: {error}") from None
    if not isinstance(record["dataset"], str) or not record["dataset"]:
        raise DataError(path, f"bad `dataset` {record['dataset']!r}")
    if not _is_int(record["split"]) or record["split"] < 1:
        raise DataError(path, f"bad `split` {record['split']!r} (an integer >= 1)")
    if not _is_int(record.get("seed")) or record["seed"] < 0:
        raise DataError(
            path, f"bad or missing `seed` {record.get('seed')!r} (evaluate with --seed S)"
        )
    if record["convention"] not in CONVENTIONS:
        raise DataError(path, f"unknown `convention` {record['convention']!r}")
    if not isinstance(record["synthetic"], bool):
        raise DataError(path, f"`synthetic` must be true or false, not {record['synthetic']!r}")
    scores = record["metrics"]
    if not isinstance(scores, dict):
        raise DataError(path, "`metrics` is not an object")
    for metric in METRICS:
        value = scores.get(metric)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or not 0 <= value <= 100
        ):
            raise DataError(path, f"metrics[{metric!r}] is {value!r}, not a number in [0, 100]")
    run = record.get("run")
    if not isinstance(run, dict) or not isinstance(run.get("segmenter"), str):
        raise DataError(
            path,
            "no `run.segmenter` (score the .npz of `relate predict`; tables need the segmenter)",
        )
    if run.get("variant") not in (None, spec.variant):
        raise DataError(
            path,
            f"label {label!r} is variant {spec.variant!r}, but the run is "
            f"variant {run['variant']!r}",
        )
    head = record.get("head")
    if head is not None and head != spec.head:
        raise DataError(
            path, f"label {label!r} is scored on head {spec.head!r}, this file on head {head!r}"
        )
    options = run.get("options") or {}
    if not isinstance(options, dict):
        raise DataError(path, f"`run.options` is not an object: {options!r}")
    if spec.variant == "relate":
        wanted = dict(spec.options)
        for key, allowed in RELATE_OPTIONS.items():
            found = str(options.get(key, allowed[0]))
            if found != wanted.get(key, allowed[0]):
                raise DataError(
                    path,
                    f"label {label!r} needs {key}="
                    f"{wanted.get(key, allowed[0])}, the run has {key}={found}",
                )
    preset = (run.get("preset") or "release") if spec.variant in DISTILLED else NO_PRESET
    if preset not in (*PRESETS, NO_PRESET):
        raise DataError(path, f"unknown `run.preset` {preset!r}; known: {', '.join(PRESETS)}")
    epochs = run.get("epochs")
    if epochs is not None and not _is_int(epochs):
        raise DataError(path, f"bad `run.epochs` {epochs!r}")
    lr = run.get("lr")
    if lr is not None and (
        not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr)
    ):
        raise DataError(path, f"bad `run.lr` {lr!r}")
    return {
        "dataset": record["dataset"],
        "segmenter": run["segmenter"],
        "settings": _settings_text(path, run),
        "row": label,
        "variant": spec.variant,
        "preset": preset,
        "convention": record["convention"],
        "split": record["split"],
        "seed": record["seed"],
        "epochs": epochs,
        "lr": lr,
        "synthetic": record["synthetic"],
        "head": head or spec.head,
        "options": json.dumps(options, sort_keys=True),
        **{metric: float(scores[metric]) for metric in METRICS},
        "path": str(path),
    }


def _settings_text(path: Path, run: dict[str, Any]) -> str:
    """What the run changed from its recipe besides epochs and lr, as header text: the lr decay
    of a step_reset recipe when it falls inside the run, and the segmenter overrides."""
    overrides = run.get("overrides") or {}
    if not isinstance(overrides, dict):
        raise DataError(path, f"`run.overrides` is not an object: {overrides!r}")
    parts = []
    decay, epochs = run.get("lr_decay_every"), run.get("epochs")
    if _is_int(decay) and _is_int(epochs) and 0 < decay < epochs:
        parts.append(f"lr x0.1 after epoch {decay}")
    parts += [f"{key}={json.dumps(value)}" for key, value in sorted(overrides.items())]
    return ", ".join(parts)


def collect(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One frame line per ``relate evaluate`` JSON (columns :data:`FRAME_COLUMNS`).

    ``preset`` is ``run.preset`` for the distilled variants (``release`` when the run had
    none) and :data:`NO_PRESET` for the others. Raises
    :class:`DataError` naming the file for an unreadable file, a missing or bad field, a label
    that disagrees with its run (variant, head, RELATE options), or a second file with the
    same :data:`KEY`.
    """
    rows = [_record_row(Path(path)) for path in paths]
    frame = pd.DataFrame(rows, columns=list(FRAME_COLUMNS))
    if frame.empty:
        return frame
    frame["split"] = frame["split"].astype(int)
    frame["seed"] = frame["seed"].astype(int)
    twice = frame[frame.duplicated(list(KEY), keep=False)]
    if len(twice):
        first = twice.iloc[0]
        other = twice[(twice[list(KEY)] == first[list(KEY)]).all(axis=1)].iloc[1]
        key = ", ".join(f"{k}={first[k]}" for k in KEY)
        raise DataError(other["path"], f"duplicate run ({key}); also in {first['path']}")
    return frame


def read_path_list(path: Path) -> list[Path]:
    """Paths listed one per line in ``path`` (blank lines and ``#`` comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read the list of metrics files ({error})") from None
    return [Path(line.strip()) for line in lines if line.strip() and not line.startswith("#")]
