# Config validation, the workflow's constants and wildcard constraints.
#
# The matrix is data (config["experiments"]): each report lists (dataset, segmenter) cells and
# paper rows. A row maps to a variant, options and a head (relate/reports/paper_rows.csv);
# the helpers in matrix.smk turn rows into runs (one run can feed several rows: `relate` and
# `relate_wo_pr` are two heads of one checkpoint), and runs into their teachers and bridges.
#
# Every bad config stops planning with one line, `error: <config file>: <key path>: <problem>`
# (exit 1), before any job is planned or anything is written: first the schema
# (workflow/schemas/config.schema.yaml, strict at every level), then the names (datasets,
# segmenters, paper rows, splits) against the registries, at the end of matrix.smk.
#
# The helpers live beside this file, included by the Snakefile in this order: matrix.smk
# (rows, runs, splits), paths.smk (file paths), job_args.smk (inputs and arguments of the
# training, evaluation and download jobs), report_inputs.smk (those of the reports).
import os
import shutil
import sys

import yaml
from snakemake.common.configfile import load_configfile
from snakemake.utils import validate

from relate.runs.naming import PRESETS as RUN_PRESETS
from relate.tools.workflow_config import holds, key_text, nvidia_gpu_count, schema_problem

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


def put_relate_on_path():
    """Make `relate` in every shell command the CLI installed beside the Python running
    Snakemake (its venv; on SLURM nodes the same path on the shared filesystem): that bin
    folder goes first on PATH, which jobs inherit. Without one there, the `relate` already
    on PATH is used; with neither, planning stops with one line. With --use-conda, each job's
    conda environment comes first on PATH instead."""
    bin_dir = os.path.dirname(sys.executable)
    beside = os.path.join(bin_dir, "relate")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    elif shutil.which("relate") is None:
        sys.exit(
            f"error: {beside}: the `relate` command is missing (not beside {sys.executable} "
            "nor on PATH); install the project into the environment that runs Snakemake "
            "(`make venv`, or `pip install -e .`) and run its snakemake (.venv/bin/snakemake)"
        )


check_schema()

RESULTS = config["results_dir"]
REPORTS = config["reports_dir"]
DATA = config["data"]
SYNTHETIC = DATA["source"] == "synthetic"
SEEDS = config["seeds"]
EXPERIMENTS = config.get("experiments", {})
STUDY = config.get("study")
PRESETS = RUN_PRESETS


def jobs_per_gpu():
    """N, the small GPU jobs (train, train_bridge, predict) that share one device: the
    ``jobs_per_gpu`` global resource (the local profile sets it, with ``gpu`` = GPUs x N;
    docs/cluster.md), else 1. ``gpu`` then counts slots: a small job takes 1, a whole-device
    job (features, latency) takes N. N > 1 without a ``gpu`` limit stops planning with one
    line: under the SLURM profile (no global limits) it would turn every whole-device job
    into ``sbatch --gpus=N``."""
    resources = workflow.global_resources
    value = resources.get("jobs_per_gpu").value  # a Resource, value None when unset
    if value is None:
        return 1
    if not isinstance(value, int) or value < 1:
        sys.exit(f"error: --resources jobs_per_gpu={value}: must be a whole number >= 1")
    if value > 1 and resources.get("gpu").value is None:
        sys.exit(
            f"error: --resources jobs_per_gpu={value} needs the GPU slot limit beside it, "
            f"--resources gpu=<GPUs x {value}> jobs_per_gpu={value} (a local run: "
            "workflow/profiles/local sets both; SLURM jobs cannot share a GPU, docs/cluster.md)"
        )
    return value


JOBS_PER_GPU = jobs_per_gpu()
GPU_SHARED = int(config["device"] in ("cuda", "auto"))
"""gpu resource of training and prediction jobs (train, train_bridge, predict): 1 for `cuda`
and `auto`, 0 for `cpu`: one slot, so JOBS_PER_GPU of them share a device. `relate ...
--device cuda` fails with one line where CUDA is unavailable; only `auto` falls back to the
CPU (a CPU-only user sets `device: cpu` or `auto`)."""
GPU_JOBS = GPU_SHARED * JOBS_PER_GPU
"""gpu resource of feature jobs (I3D): every slot of a device (1 when JOBS_PER_GPU is 1, as
under SLURM, where it becomes sbatch --gpus=1), so none runs beside another GPU job."""
LATENCY_DEVICE = config["latency"].get("device") or config["device"]
"""Device of `relate latency`: latency.device, else the top-level device (cpu or cuda)."""
LATENCY_GPU = int(LATENCY_DEVICE == "cuda") * JOBS_PER_GPU
"""gpu resource of `relate latency`: a whole device (JOBS_PER_GPU slots) for `cuda`, so
nothing else runs on the GPU it times."""
CONDA_ENV = os.path.join(workflow.basedir, "environment.yml")
"""The conda environment of each job under --use-conda, with the suite's pinned packages."""

put_relate_on_path()


def warn_cuda_without_gpu():
    """One warning line when the config asks for CUDA and this machine shows no NVIDIA GPU:
    fine on a cluster login node (jobs run on GPU nodes), but local GPU jobs will fail."""
    if config["device"] == "cuda" and nvidia_gpu_count() == 0:
        print(
            "warning: device: cuda, and this machine shows no NVIDIA GPU: jobs run here stop "
            "with one error line. Submit to GPU nodes (--profile workflow/profiles/slurm), or "
            "use a config with device: cpu or auto.",
            file=sys.stderr,
        )


warn_cuda_without_gpu()
