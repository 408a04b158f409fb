# The experiment matrix: paper cells and rows -> run datasets, splits and run ids.

from relate.data.registry import DATASETS, get_dataset
from relate.data.sweep import SweepDataset, registry_name
from relate.reports.paper_results import parse_row
from relate.runs.naming import RunId
from relate.tools.workflow_config import configured_epochs, name_problem, train_settings


def run_dataset(dataset):
    """The dataset a paper cell's runs use: itself, or its synthetic counterpart
    (`synthetic_gtea` for gtea, ...) standing in for it."""
    return f"synthetic_{dataset}" if SYNTHETIC else dataset


def run_datasets():
    """Every run dataset of the config's experiments and study, in first-use order."""
    found = []
    for experiment in EXPERIMENTS.values():
        for dataset, _ in experiment["cells"]:
            if run_dataset(dataset) not in found:
                found.append(run_dataset(dataset))
    for segmenter in (STUDY or {}).get("values", {}):
        for dataset in study_datasets(segmenter):
            if dataset not in found:
                found.append(dataset)
    return found


def registry_dataset(wildcards):
    """The registry dataset a job's ``dataset`` wildcard runs as (a swept stand-in,
    ``synthetic_gtea-motion_leak-0.2``, runs as ``synthetic_gtea``)."""
    return registry_name(wildcards.dataset)


def study_datasets(segmenter):
    """The swept datasets a study trains ``segmenter`` on, one per knob value."""
    base = run_dataset(STUDY["dataset"])
    return [str(SweepDataset(base, STUDY["knob"], value)) for value in STUDY["values"][segmenter]]


def cells(experiment):
    """(dataset, segmenter) pairs of an experiment, mapped to the run datasets, deduplicated."""
    seen = []
    for dataset, segmenter in EXPERIMENTS.get(experiment, {"cells": []})["cells"]:
        pair = (run_dataset(dataset), segmenter)
        if pair not in seen:
            seen.append(pair)
    return seen


def experiment_rows(experiment, segmenter):
    """Rows of an experiment's cells of ``segmenter`` (``rows_for`` narrows ``rows``)."""
    spec = EXPERIMENTS.get(experiment, {"rows": []})
    return spec.get("rows_for", {}).get(segmenter, spec["rows"])


def splits(dataset):
    """Configured splits of a run dataset (default: all of the dataset's splits)."""
    name = registry_name(dataset)
    chosen = config["splits"].get(name)
    return list(chosen) if chosen else list(range(1, get_dataset(name).n_splits + 1))


def slug(text):
    """A file-name-safe form of a row name or option string (':' '__', ',' '+')."""
    return text.replace(":", "__").replace(",", "+")


def unslug(text):
    return text.replace("__", ":").replace("+", ",")


def option_items(row):
    """``--option`` items of a paper row (e.g. ("aga=none",))."""
    return tuple(f"{k}={v}" for k, v in parse_row(row).options)


def run_id(row, preset="release"):
    """The run folder name that produces ``row``: the variant, its options, the preset."""
    spec = parse_row(row)
    return str(RunId(spec.variant, spec.options, preset))


def head(row):
    """The prediction head a row is scored on (final, or joint for "w/o PR")."""
    return parse_row(row).head


def run_variant(run):
    """Variant of a run id (rgb, flow, two_stream, kd, ..., relate, teacher, bridge)."""
    return RunId.parse(run).variant


def run_preset(run):
    return RunId.parse(run).preset


def run_options(run):
    """``--option`` items encoded in a run id."""
    return RunId.parse(run).option_items()


stop_on(name_problem(config, run_dataset, splits))
