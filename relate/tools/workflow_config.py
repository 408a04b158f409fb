"""Checks of a workflow config (the Snakemake ``config`` mapping) before any job is planned.

Each check returns the first problem as ``(key path, words)`` or None; the workflow turns it
into one line ``error: <config file>: <key path>: <problem>``. The schema is checked first
(strict at every level), then the names against the registries, so the name checks can
rely on the shapes.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import jsonschema

from relate.data.registry import DATASETS, get_dataset, recipe_dataset
from relate.errors import RelateError
from relate.reports.paper_results import SEGMENTERS, load_paper_rows, parse_row

KeyPath = tuple[str | int, ...]
Problem = tuple[KeyPath, str]

LATENCY_SETUPS = ("rgb", "flow", "two_stream", "relate")
"""`relate latency` setups: the variants a Fig. 3 row may have."""


def nvidia_gpu_count() -> int:
    """NVIDIA GPUs this machine shows (``/dev/nvidia<N>`` device files), without CUDA."""
    return len(glob.glob("/dev/nvidia[0-9]*"))


def key_text(path: KeyPath) -> str:
    """("experiments", "table1", "cells", 0, 1) -> "experiments.table1.cells[0][1]"."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def holds(tree: Any, path: KeyPath) -> bool:
    """Whether ``tree`` has a value at ``path``."""
    for part in path:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and isinstance(part, int) and part < len(tree):
            tree = tree[part]
        else:
            return False
    return True


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(error: jsonschema.ValidationError) -> Problem:
    """(key path, problem) of one jsonschema error, in words."""
    path, kind = tuple(error.absolute_path), error.validator
    expected, value = error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(key for key in value if key not in allowed)
        if extra:
            return path + (extra[0],), f"unknown key (allowed here: {', '.join(allowed)})"
    if kind == "required" and isinstance(value, dict):
        missing = [key for key in expected if key not in value]
        if missing:
            return path + (missing[0],), (
                "required key missing (a --configfile is used alone, not merged over "
                "config/config.yaml: set it in this config)"
            )
    if kind == "enum":
        return path, f"{_short(value)} is not one of: {', '.join(map(str, expected))}"
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return path, f"expected {wanted}, got {_short(value)}"
    if kind == "minItems":
        if not value:
            return path, "must not be empty"
        return path, f"needs at least {expected} items, got {len(value)}"
    if kind == "maxItems":
        return path, f"takes at most {expected} items, got {len(value)}"
    if kind == "uniqueItems":
        return path, f"items repeat: {_short(value)}"
    if kind == "minimum":
        return path, f"{_short(value)} is below the minimum {expected}"
    if kind == "minLength":
        return path, "must not be empty"
    if kind == "multipleOf":
        return path, f"{_short(value)} is not a multiple of {expected}"
    if kind == "pattern":
        return path, f"{_short(value)} does not match {expected}"
    return path, error.message[:200]


def schema_problem(config: Any, schema: Mapping[str, Any]) -> Problem | None:
    """The most relevant schema violation of ``config`` (jsonschema's best match), or None."""
    if not isinstance(config, dict):
        return (), "a config must be a mapping of keys"
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    return None if error is None else _describe(error)


def _known(names: Any) -> str:
    return ", ".join(sorted(names))


def _cell_problem(config: Mapping[str, Any]) -> Problem | None:
    """Datasets, segmenters and paper rows of every experiment against the registries."""
    known_rows = tuple(load_paper_rows()["row"])
    for name, experiment in config.get("experiments", {}).items():
        for index, (dataset, segmenter) in enumerate(experiment["cells"]):
            where: KeyPath = ("experiments", name, "cells", index)
            if dataset not in DATASETS:
                return where + (0,), f"unknown dataset {dataset!r} (known: {_known(DATASETS)})"
            if segmenter not in SEGMENTERS:
                known = ", ".join(SEGMENTERS)
                return where + (1,), f"unknown segmenter {segmenter!r} (known: {known})"
        for segmenter, narrowed in experiment.get("rows_for", {}).items():
            for index, row in enumerate(narrowed):
                if row not in experiment["rows"]:
                    return ("experiments", name, "rows_for", segmenter, index), (
                        f"row {row!r} is not among the experiment's rows"
                    )
        for index, row in enumerate(experiment["rows"]):
            where = ("experiments", name, "rows", index)
            try:
                spec = parse_row(row)
            except RelateError as error:
                return where, str(error)
            if row not in known_rows:
                return where, (
                    f"unknown paper row {row!r} (the rows of relate/reports/paper_rows.csv: "
                    f"{', '.join(known_rows)})"
                )
            if name == "fig3" and spec.variant not in LATENCY_SETUPS:
                return where, (
                    f"row {row!r} has no latency setup (Fig. 3 rows are variants "
                    f"{', '.join(LATENCY_SETUPS)})"
                )
    return None


def name_problem(
    config: Mapping[str, Any],
    run_dataset: Callable[[str], str],
    splits: Callable[[str], list[int]],
) -> Problem | None:
    """Names, splits and ranges against the registries (after :func:`schema_problem`).

    ``run_dataset`` maps a paper dataset to the dataset its runs use; ``splits`` gives the
    splits the config runs of a run dataset.
    """
    problem = _cell_problem(config)
    if problem:
        return problem
    for dataset, chosen in config["splits"].items():
        if dataset not in DATASETS:
            return ("splits", dataset), f"unknown dataset {dataset!r} (known: {_known(DATASETS)})"
        n_splits = get_dataset(dataset).n_splits
        for index, split in enumerate(chosen):
            if split > n_splits:
                return ("splits", dataset, index), (
                    f"split {split} is beyond {dataset}'s {n_splits} splits"
                )
    for paper, size in config["data"].get("synthetic_sizes", {}).items():
        n_splits = get_dataset(paper).n_splits
        videos = size.get("videos")
        if videos is not None and videos % n_splits:
            return ("data", "synthetic_sizes", paper, "videos"), (
                f"{videos} is not a multiple of {paper}'s {n_splits} splits (one subject "
                "per split, each with the same number of videos)"
            )
    problem = _study_problem(config) or _settings_problem(config) or _video_problem(config)
    if problem:
        return problem
    fig4 = config.get("experiments", {}).get("fig4")
    dataset = run_dataset(fig4["cells"][0][0]) if fig4 else ""
    if fig4 and fig4["split"] not in splits(dataset):
        chosen = ", ".join(map(str, splits(dataset)))
        return ("experiments", "fig4", "split"), (
            f"split {fig4['split']} is not among the splits this config runs of {dataset} "
            f"({chosen})"
        )
    if config["latency"].get("device") is None and config["device"] == "auto":
        return ("latency", "device"), (
            "required when device is auto (relate latency times one named device: cpu or cuda)"
        )
    return None


def _study_problem(config: Mapping[str, Any]) -> Problem | None:
    """The ``study`` section against the generator's knobs and the paper rows."""
    study = config.get("study")
    if study is None:
        return None
    if config["data"]["source"] != "synthetic":
        return ("data", "source"), "a study sweeps a synthetic stand-in: needs source synthetic"
    from relate.data.synthetic_config import SynthConfig  # dataclass only, no numpy

    numeric = {f.name for f in fields(SynthConfig) if f.type in ("float", "int")}
    if study["knob"] not in numeric:
        return ("study", "knob"), (
            f"{study['knob']!r} is not a numeric generator setting (known: {_known(numeric)})"
        )
    known_rows = tuple(load_paper_rows()["row"])
    for index, row in enumerate(study["rows"]):
        if row not in known_rows:
            return ("study", "rows", index), (
                f"unknown paper row {row!r} (the rows of relate/reports/paper_rows.csv: "
                f"{', '.join(known_rows)})"
            )
    for segmenter, rows in study.get("rows_for", {}).items():
        for index, row in enumerate(rows):
            if row not in study["rows"]:
                return ("study", "rows_for", segmenter, index), (
                    f"row {row!r} is not among the study's rows"
                )
    for preset, rows in study.get("presets", {}).items():
        for index, row in enumerate(rows):
            if row not in study["rows"]:
                return ("study", "presets", preset, index), (
                    f"row {row!r} is not among the study's rows"
                )
            if parse_row(row).variant != "relate":
                return ("study", "presets", preset, index), (
                    f"row {row!r}: presets apply to relate rows only"
                )
    for key in ("baseline", "reference"):
        row = study.get(key, {"baseline": "rgb", "reference": "two_stream"}[key])
        if row not in study["rows"]:
            return ("study", key), f"row {row!r} is not among the study's rows"
        for segmenter, rows in study.get("rows_for", {}).items():
            if row not in rows:
                return ("study", "rows_for", segmenter), f"lacks the {key} row {row!r}"
    return None


def _settings_problem(config: Mapping[str, Any]) -> Problem | None:
    """``train_settings`` items: KEY=VALUE, training keys among the recipe's fields (a
    segmenter option's name is checked by ``relate train`` itself), never ``train.epochs``."""
    from relate.segmenters.training_defaults import TrainingDefaults

    known = {field.name for field in fields(TrainingDefaults)} - {"epochs"}
    for segmenter, items in config.get("train_settings", {}).items():
        for index, item in enumerate(items):
            key, sep, value = item.partition("=")
            where = ("train_settings", segmenter, index)
            if not sep or not key.strip() or not value.strip():
                return where, f"{item!r} is not KEY=VALUE"
            if key.strip() == "train.epochs":
                return where, "set epochs with the config's `epochs`, not here"
            if key.startswith("train.") and key[len("train.") :] not in known:
                return where, (
                    f"unknown training setting {key!r} (known: "
                    f"{', '.join('train.' + name for name in sorted(known))})"
                )
    return None


def _video_problem(config: Mapping[str, Any]) -> Problem | None:
    """``video_pipeline.videos`` and ``frames`` against what the video generator needs (its
    own defaults: one video per subject at least, five segments of a few frames each)."""
    from relate.data.synthetic_videos_config import SynthVideoConfig

    pipeline = config.get("video_pipeline", {})
    if not pipeline.get("enabled", False):
        return None
    defaults = {field.name: field.default for field in fields(SynthVideoConfig)}
    videos, subjects = pipeline.get("videos", defaults["n_videos"]), int(defaults["n_splits"])
    if videos < subjects:
        return ("video_pipeline", "videos"), (
            f"{videos} is too few: the rendered videos are split by subject, "
            f"{subjects} subjects, so at least {subjects}"
        )
    segments = 2 * int(defaults["n_motion_pairs"]) + 1
    least = segments * int(defaults["min_segment_frames"])
    frames = pipeline.get("frames", least)
    if frames < least:
        return ("video_pipeline", "frames"), (
            f"{frames} is too few: a rendered video has {segments} segments of at least "
            f"{defaults['min_segment_frames']} frames, so at least {least}"
        )
    return None


def train_settings(config: Mapping[str, Any], segmenter: str) -> list[str]:
    """The config's ``relate train --set`` items of ``segmenter``'s runs (none by default)."""
    return list(config.get("train_settings", {}).get(segmenter, []))


def configured_epochs(config: Mapping[str, Any], segmenter: str, dataset: str) -> int | None:
    """The config's ``epochs`` for a run of ``segmenter`` on run dataset ``dataset`` (a
    stand-in counts as its paper dataset), or None for the recipe's official number."""
    epochs = config.get("epochs")
    if isinstance(epochs, Mapping):
        epochs = epochs.get(segmenter)
    if isinstance(epochs, Mapping):
        epochs = epochs.get(recipe_dataset(dataset))
    return None if epochs is None else int(epochs)
