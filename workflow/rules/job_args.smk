# Inputs and arguments of the training, evaluation and download jobs.

import os
import shlex

from relate.runs.methods import DISTILLED, METHODS


def teacher_of(run):
    """Run id of the teacher of a distilled run (None for baselines)."""
    method = METHODS.get(run_variant(run))
    if method is None or method.teacher_run is None:
        return None
    return method.teacher_run.format(preset=run_preset(run))


def train_inputs(wildcards):
    """Data, and a distilled run's teacher (and bridge) weights."""
    inputs = {"valid": validated(wildcards.dataset)}
    teacher = teacher_of(wildcards.run)
    if teacher is not None:
        teacher_dir = run_dir(
            wildcards.dataset, wildcards.split, wildcards.segmenter, teacher, wildcards.seed
        )
        inputs["teacher"] = os.path.join(teacher_dir, "model.pt")
    if run_variant(wildcards.run) == "relate" and run_preset(wildcards.run) == "paper_literal":
        inputs["bridge"] = bridge_weights(wildcards.dataset, wildcards.split, wildcards.seed)
    return inputs


def train_args(wildcards, input):
    """`relate train` arguments after --out: variant, teacher, preset, options, epochs, the
    config's train_settings and checkpoint_every."""
    run, variant = wildcards.run, run_variant(wildcards.run)
    args = []
    if variant == "teacher":  # flow at the architecture RELATE (with this preset) needs
        args += ["--variant", "flow", "--teacher-for", "relate"]
    else:
        args += ["--variant", variant]
    if variant in DISTILLED:
        args += ["--teacher", os.path.dirname(input.teacher)]
    if variant in ("relate", "teacher") and run_preset(run) != "release":
        args += ["--preset", run_preset(run)]
    if "bridge" in input.keys():
        args += ["--bridge", os.path.dirname(input.bridge)]
    for item in run_options(run):
        args += ["--option", item]
    epochs = configured_epochs(config, wildcards.segmenter, registry_name(wildcards.dataset))
    if epochs is not None:
        args += ["--epochs", str(epochs)]
    for item in train_settings(config, wildcards.segmenter):
        args += ["--set", item]
    if config.get("checkpoint_every", 1) != 1:
        args += ["--checkpoint-every", str(config["checkpoint_every"])]
    return " ".join(shlex.quote(arg) for arg in args)


def train_priority(wildcards):
    """Start order of the ready training jobs (higher first). Teachers first: every distilled
    run waits for one. Then the long runs (RELATE, ASFormer, FACT: 2-10x an MS-TCN baseline)
    before the short ones, so that on a few cores the short jobs fill the last minutes
    instead of one long job running alone at the end."""
    variant = run_variant(wildcards.run)
    if variant == "teacher":
        return 2
    if variant == "relate" or wildcards.segmenter != "mstcn":
        return 1
    return 0


def synthetic_size_args(wildcards):
    """`relate synth` size options of a paper dataset's stand-in (none: the shape's default)."""
    size = DATA.get("synthetic_sizes", {}).get(wildcards.paper, {})
    args = []
    if "videos" in size:
        args += ["--videos", str(size["videos"])]
    if "mean_frames" in size:
        args += ["--mean-frames", str(size["mean_frames"])]
    return " ".join(args)


def evaluate_inputs(wildcards):
    row = unslug(wildcards.rowslug)
    run = run_id(row, wildcards.preset)
    return {
        "valid": validated(wildcards.dataset),
        "npz": predictions(
            wildcards.dataset, wildcards.split, wildcards.segmenter, run, wildcards.seed
        ),
    }


def evaluate_head(wildcards):
    return head(unslug(wildcards.rowslug))


def evaluate_label(wildcards):
    return unslug(wildcards.rowslug)


def trivial_metrics():
    """Metrics JSONs of the sanity baselines on every run dataset (synthetic data only)."""
    if not SYNTHETIC:
        return []
    return [
        f"{RESULTS}/metrics/{dataset}/standard/split{split}/trivial/{predictor}.json"
        for dataset in run_datasets()
        for split in splits(dataset)
        for predictor in config["trivial_predictors"]
    ]


def data_dir_of(wildcards):
    """Input function: the dataset folder of a job's ``dataset`` wildcard."""
    return data_dir(wildcards.dataset)


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
