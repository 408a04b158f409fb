# Config validation, the experiment matrix, wildcard constraints and path helpers.
#
# The matrix is data (config["experiments"]): each report lists (dataset, segmenter) cells and
# paper rows. A row maps to a variant, options and a head (relate/reports/paper_rows.csv);
# the helpers below turn rows into runs (one run can feed several rows: `relate` and
# `relate_wo_pr` are two heads of one checkpoint), and runs into their teachers and bridges.
#
# Every bad config stops planning with one line, `error: <config file>: <key path>: <problem>`
# (exit 1), before any job is planned or anything is written: first the schema
# (workflow/schemas/config.schema.yaml, strict at every level), then the names (datasets,
# segmenters, paper rows, splits) against the registries.
import os
import shutil
import sys

import yaml
from snakemake.common.configfile import load_configfile
from snakemake.utils import validate

from relate.data.registry import get_dataset
from relate.reports.paper_results import parse_row
from relate.workflow_config import holds, key_text, name_problem, schema_problem

SCHEMA_FILE = os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")


# --- config errors ------------------------------------------------------------------------------


def config_origin(path):
    """Where the value at ``path`` came from: ``--config``, or the (last) config file that
    sets it; every config file in use when none does (a missing key)."""
    if path and path[0] in workflow.config_settings.config:
        return "--config"
    files = [str(name) for name in workflow.configfiles]
    for name in reversed(files):
        try:
            if holds(load_configfile(name), path):
                return name
        except Exception:  # unreadable here: Snakemake read it already; name them all
            break
    return ", ".join(dict.fromkeys(files)) or "config"


def stop_on(problem):
    """Stop planning on a ``(key path, words)`` problem: one line
    ``error: <config file>: <key path>: <problem>``, exit 1.

    SystemExit rather than WorkflowError: Snakemake prints a WorkflowError raised while it
    reads the Snakefile with a `File "...", line N` frame below the message (and its schema
    validation dumps the whole schema); this prints the line and nothing else.
    """
    if problem is not None:
        path, words = problem
        sys.exit(f"error: {config_origin(path)}: {key_text(path)}: {words}")


def check_schema():
    """The config against the schema (one line for the most relevant error), then defaults."""
    with open(SCHEMA_FILE) as handle:
        schema = yaml.safe_load(handle)
    stop_on(schema_problem(config, schema))
    validate(config, SCHEMA_FILE, set_default=True)


def find_relate():
    """Absolute path of the `relate` CLI: beside the Python running Snakemake (its venv, also
    on SLURM nodes: the same path on the shared filesystem), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "relate")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("relate")
    if found:
        return os.path.abspath(found)
    sys.exit(f"error: {beside}: the `relate` command is missing (not beside {sys.executable} "
             "nor on PATH); install the project into the environment that runs Snakemake "
             "(`make venv`, or `pip install -e .`) and run its snakemake (.venv/bin/snakemake)")


check_schema()

RESULTS = config["results_dir"]
REPORTS = config["reports_dir"]
DATA = config["data"]
SYNTHETIC = DATA["source"] == "synthetic"
SEEDS = config["seeds"]
EXPERIMENTS = config["experiments"]
PRESETS = ("release", "paper_literal")
STUDENTS = ("kd", "rkd", "gcr", "mars")
BASELINES = ("rgb", "flow", "two_stream")
GPU_JOBS = int(config["device"] in ("cuda", "auto"))
"""gpu resource of training, prediction and feature jobs: 1 for `cuda` and `auto`, 0 for
`cpu`. `relate ... --device cuda` fails with one line where CUDA is unavailable; only `auto`
falls back to the CPU (a CPU-only user sets `device: cpu` or `auto`)."""
LATENCY_DEVICE = config["latency"].get("device") or config["device"]
"""Device of `relate latency`: latency.device, else the top-level device (cpu or cuda)."""
LATENCY_GPU = int(LATENCY_DEVICE == "cuda")
RELATE = find_relate()
"""The `relate` executable of every shell command ({RELATE:q} in the shell strings; a global,
not a param: moving the venv must not rerun every job)."""


wildcard_constraints:
    dataset=r"[a-z0-9]+",
    split=r"\d+",
    seed=r"\d+",
    segmenter=r"mstcn|asformer|fact",
    run=r"[A-Za-z0-9_+=.-]+",
    rowslug=r"[A-Za-z0-9_+=.-]+",
    preset=r"release|paper_literal",
    convention=r"standard|fact|relate_release",
    table=r"[1-4]",
    method=r"[a-z_]+",
    rows=r"[a-z]+",


# --- cells and rows ---------------------------------------------------------------------------


def run_dataset(dataset):
    """The dataset a paper cell's runs use: itself, or `synthetic` standing in for it."""
    return "synthetic" if SYNTHETIC else dataset


def cells(experiment):
    """(dataset, segmenter) pairs of an experiment, mapped to the run datasets, deduplicated."""
    seen = []
    for dataset, segmenter in EXPERIMENTS[experiment]["cells"]:
        pair = (run_dataset(dataset), segmenter)
        if pair not in seen:
            seen.append(pair)
    return seen


def splits(dataset):
    """Configured splits of a run dataset (default: all of the dataset's splits)."""
    chosen = config["splits"].get(dataset)
    return list(chosen) if chosen else list(range(1, get_dataset(dataset).n_splits + 1))


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
    name = spec.variant
    if spec.options:
        name += "-" + "+".join(f"{k}={v}" for k, v in spec.options)
    if preset != "release":
        name += f"-{preset}"
    return name


def head(row):
    """The prediction head a row is scored on (final, or joint for "w/o PR")."""
    return parse_row(row).head


def run_variant(run):
    """Variant of a run id (rgb, flow, two_stream, kd, ..., relate, teacher, bridge)."""
    return run.split("-", 1)[0]


def run_preset(run):
    return "paper_literal" if run.endswith("-paper_literal") else "release"


def run_options(run):
    """``--option`` items encoded in a run id."""
    body = run.split("-", 1)[1] if "-" in run else ""
    body = body.removesuffix("paper_literal").rstrip("-")
    return [item for item in body.split("+") if "=" in item]


# --- paths --------------------------------------------------------------------------------------


def data_dir(dataset):
    if dataset == "synthetic":
        return f"{RESULTS}/data/synthetic"
    return f"{DATA.get('root', 'data')}/{dataset}"


def validated(dataset):
    return f"{RESULTS}/validated/{dataset}.txt"


def run_dir(dataset, split, segmenter, run, seed):
    return f"{RESULTS}/runs/{dataset}/split{split}/{segmenter}/{run}/seed{seed}"


def bridge_weights(dataset, split, seed):
    return f"{RESULTS}/runs/{dataset}/split{split}/bridge/seed{seed}/model.pt"


def predictions(dataset, split, segmenter, run, seed):
    return f"{RESULTS}/predictions/{dataset}/split{split}/{segmenter}/{run}/seed{seed}.npz"


def metrics_path(dataset, convention, split, segmenter, row, preset, seed):
    return (f"{RESULTS}/metrics/{dataset}/{convention}/split{split}/{segmenter}/{slug(row)}/"
            f"{preset}/seed{seed}.json")


def experiment_metrics(experiment, conventions=("standard",), presets=("release",)):
    """Every metrics JSON an experiment's report reads."""
    return [
        metrics_path(dataset, convention, split, segmenter, row, preset, seed)
        for dataset, segmenter in cells(experiment)
        for row in EXPERIMENTS[experiment]["rows"]
        for preset in presets
        for convention in conventions
        for split in splits(dataset)
        for seed in SEEDS
    ]


def table_metrics(wildcards):
    return experiment_metrics(f"table{wildcards.table}")


# --- run arguments ------------------------------------------------------------------------------


def teacher_of(run):
    """Run id of the teacher of a distilled run (None for baselines)."""
    variant = run_variant(run)
    if variant in STUDENTS:
        return "flow"  # the RGB baseline's architecture (D20)
    if variant == "relate":
        return f"teacher-{run_preset(run)}"
    return None


def train_inputs(wildcards):
    """Data, and a distilled run's teacher (and bridge) weights."""
    inputs = {"valid": validated(wildcards.dataset)}
    teacher = teacher_of(wildcards.run)
    if teacher is not None:
        inputs["teacher"] = run_dir(wildcards.dataset, wildcards.split, wildcards.segmenter,
                                    teacher, wildcards.seed) + "/model.pt"
    if run_variant(wildcards.run) == "relate" and run_preset(wildcards.run) == "paper_literal":
        inputs["bridge"] = bridge_weights(wildcards.dataset, wildcards.split, wildcards.seed)
    return inputs


def train_args(wildcards, input):
    """`relate train` arguments after --out: variant, teacher, preset, options, epochs."""
    run, variant = wildcards.run, run_variant(wildcards.run)
    args = []
    if variant == "teacher":  # flow at the architecture RELATE (with this preset) needs
        args += ["--variant", "flow", "--teacher-for", "relate"]
    else:
        args += ["--variant", variant]
    if variant in STUDENTS or variant == "relate":
        args += ["--teacher", os.path.dirname(input.teacher)]
    if variant in ("relate", "teacher") and run_preset(run) != "release":
        args += ["--preset", run_preset(run)]
    if "bridge" in input.keys():
        args += ["--bridge", os.path.dirname(input.bridge)]
    for item in run_options(run):
        args += ["--option", item]
    if config["epochs"] is not None:
        args += ["--epochs", str(config["epochs"])]
    return " ".join(args)


def evaluate_inputs(wildcards):
    row = unslug(wildcards.rowslug)
    run = run_id(row, wildcards.preset)
    return {
        "valid": validated(wildcards.dataset),
        "npz": predictions(wildcards.dataset, wildcards.split, wildcards.segmenter, run,
                           wildcards.seed),
    }


def evaluate_head(wildcards):
    return head(unslug(wildcards.rowslug))


def evaluate_label(wildcards):
    return unslug(wildcards.rowslug)


def trivial_metrics():
    """Metrics JSONs of the sanity baselines (synthetic data only)."""
    if not SYNTHETIC:
        return []
    return [
        f"{RESULTS}/metrics/synthetic/standard/split{split}/trivial/{predictor}.json"
        for split in splits("synthetic")
        for predictor in config["trivial_predictors"]
    ]


def data_dir_of(wildcards):
    """Input function: the dataset folder of a job's ``dataset`` wildcard."""
    return data_dir(wildcards.dataset)


# --- report inputs ------------------------------------------------------------------------------


def params_cells(wildcards):
    """``--cell`` flags: one parameter table per (dataset, segmenter) of Table 1 (paper
    dataset names: the counts depend on the class count only)."""
    pairs = []
    for dataset, segmenter in EXPERIMENTS["table1"]["cells"]:
        if (dataset, segmenter) not in pairs:
            pairs.append((dataset, segmenter))
    return " ".join(f"--cell {d}:{s}" for d, s in pairs)


def latency_args(wildcards):
    lat = config["latency"]
    args = ["--setups", "rgb,flow,two_stream,relate", "--dataset", run_dataset("gtea"),
            "--device", LATENCY_DEVICE, "--repeats", str(lat["repeats"]),
            "--warmup", str(lat["warmup"])]
    if lat.get("video"):
        args += ["--video", lat["video"]]
    else:
        args += ["--synthetic-frames", str(lat["frames"]), "--size", f"{lat['size']}x{lat['size']}"]
    if lat.get("sample_windows"):
        args += ["--sample-windows", str(lat["sample_windows"])]
    if lat.get("sample_pairs"):
        args += ["--sample-pairs", str(lat["sample_pairs"])]
    return " ".join(args)


def fig3_latency(wildcards):
    """The latency JSON of Fig. 3's segmenter (its first cell)."""
    _, segmenter = EXPERIMENTS["fig3"]["cells"][0]
    return f"{RESULTS}/latency/{segmenter}.json"


def fig3_setup(row):
    """The latency setup of a Fig. 3 row (rgb, flow, two_stream, relate)."""
    return parse_row(row).variant


def fig3_metrics(wildcards):
    """Metrics JSONs of each Fig. 3 row, keyed by setup."""
    dataset, segmenter = cells("fig3")[0]
    return {
        fig3_setup(row): [
            metrics_path(dataset, "standard", split, segmenter, row, "release", seed)
            for split in splits(dataset) for seed in SEEDS
        ]
        for row in EXPERIMENTS["fig3"]["rows"]
    }


def fig3_metrics_flags(wildcards, input):
    return " ".join(f"--metrics {setup}={','.join(input[setup])}"
                    for setup in fig3_metrics(wildcards))


def fig4_cell():
    dataset, segmenter = EXPERIMENTS["fig4"]["cells"][0]
    return run_dataset(dataset), segmenter


def fig4_inputs(wildcards):
    dataset, segmenter = fig4_cell()
    split = config["experiments"]["fig4"]["split"]
    seed = SEEDS[0]
    inputs = {"data": data_dir(dataset), "valid": validated(dataset)}
    for row in EXPERIMENTS["fig4"]["rows"]:
        inputs[slug(row)] = predictions(dataset, split, segmenter, run_id(row), seed)
    return inputs


def fig4_args(wildcards, input):
    dataset, segmenter = fig4_cell()
    fig4 = config["experiments"]["fig4"]
    args = ["--data", input.data, "--dataset", dataset, "--split", str(fig4["split"]),
            "--video-index", str(fig4["video"])]
    for row in fig4["rows"]:
        args += ["--predictions", f"'{row}={input[slug(row)]}:{head(row)}'"]
    return " ".join(args)


def all_metrics():
    """Every metrics JSON of every experiment (the scorecard reads them all)."""
    paths = []
    for name in EXPERIMENTS:
        if name == "fig4":
            continue
        conventions = ("standard", "relate_release") if name == "conventions" else ("standard",)
        presets = PRESETS if name == "presets" else ("release",)
        for path in experiment_metrics(name, conventions, presets):
            if path not in paths:
                paths.append(path)
    return paths


def report_files(exclude_index=False):
    """Every report of this config."""
    files = [f"{REPORTS}/table{n}.md" for n in range(1, 5)]
    files += [f"{REPORTS}/{name}.md" for name in ("side_conventions", "side_presets", "params")]
    files += [f"{REPORTS}/{name}.png" for name in ("fig1_acc_f1", "fig3_latency",
                                                   "fig4_qualitative")]
    if config["trivial_predictors"] and SYNTHETIC:
        files.append(f"{REPORTS}/sanity.md")
    if config["video_pipeline"].get("enabled"):
        files.append(f"{RESULTS}/data/synthetic_videos_features")
    if not exclude_index:
        files.append(f"{REPORTS}/index.md")
    return files


def download_checksum_flags(wildcards):
    """`relate download` checksum flags from config["download"] for one dataset."""
    download = config["download"]
    flags = []
    sha = (download.get("sha256") or {}).get(wildcards.dataset)
    if sha:
        flags += ["--sha256", sha]
    if download.get("allow_unpinned"):
        flags.append("--allow-unpinned")
    return " ".join(flags)


stop_on(name_problem(config, run_dataset, splits))
