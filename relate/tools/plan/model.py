"""The cost model: seconds of each planned job, summed per rule into CPU- and GPU-hours.

Per job (all seconds come from a :class:`~relate.tools.plan.calibration.Calibration`; ``o`` is its
``job_overhead_s``, paid by every job; frames are after the dataset's sample rate):

* ``train``: o + epochs x (train videos of the split x mean frames per video) x s, where s is
  the per-frame training seconds of the run's segmenter and model:
  ``rgb``/``flow``/``teacher``: train(width 1024); ``two_stream``: train(2048);
  students ``kd``/``rkd``/``gcr``/``mars``: train(1024) + forward(1024) (the student, plus the
  frozen teacher's forward); ``relate``: 3 x train(1024) + forward(1024) (RGB, flow and joint
  branches taken as three 1024-wide segmenters, plus the teacher; fusion, anchors and the
  bridge are left out). Epochs: the config's ``epochs``, else the official recipe
  (:func:`relate.segmenters.defaults` for the baselines, the distilled schedule of
  :func:`relate.runs.methods.distilled.distilled_training` for students, RELATE and its teacher).
* ``train_bridge``: o + bridge_epochs x train frames x bridge_train.
* ``predict``: o + test frames x the forward seconds of the run's model (``relate``: 3 x).
* ``flow`` (TV-L1) and ``features`` (I3D RGB + flow): o + frames x tvl1 (per pair), resp.
  2 x i3d (per window), scaled by (frame side / calibration side)^2.
* ``latency``: o + (warmup + repeats) x (pairs x tvl1 + 2 x windows x i3d, scaled as above,
  + frames x the forward seconds of the rgb, flow, two_stream and relate setups).
* every other rule (downloads, validation, evaluation, reports): o; ``all`` (no command): 0.

A job that asks for a GPU (``resources: gpu=N`` in the dry run) is counted in GPU-hours,
every other job in CPU-hours (core-hours: the calibration is single-threaded by default).
GPU seconds are the measured ones when the calibration was made on CUDA; otherwise o +
(the CPU seconds - o) / ``gpu_speedup``, an assumption, and the table says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from relate.blocks.distill.table import student_losses
from relate.data.variants import VARIANTS
from relate.errors import RelateError
from relate.runs.naming import RunId
from relate.tools.plan.calibration import Calibration
from relate.tools.plan.dag import Dag, Job
from relate.tools.plan.stats import dataset_stats

BASELINES = {name: variant.in_dim for name, variant in VARIANTS.items()}
"""Label-supervised variants and their input width."""
STUDENTS = student_losses()
RELATE_BRANCHES = 3
"""RELATE's trained segmenters: RGB branch, flow branch, joint segmenter."""
DEFAULT_GPU_SPEEDUP = 10.0
"""Assumed GPU/CPU speed-up when a CUDA config is planned from a CPU calibration."""
COSTED_RULES = ("train", "train_bridge", "predict", "flow", "features", "latency")
"""Rules with a per-frame cost; every other rule costs its job start-up."""
NO_COMMAND_RULES = ("all",)
"""Target-only rules (no shell command): no cost."""
POST_CHECKPOINT_RULES = ("flow", "features")
"""Rules of the raw-video pipeline whose jobs exist only after checkpoint ``synth_videos``."""


@dataclass
class RuleCost:
    """One row of the plan: a rule, its jobs and their hours."""

    rule: str
    jobs: int = 0
    cpu_hours: float = 0.0
    gpu_hours: float = 0.0
    basis: set[str] = field(default_factory=set)
    estimated_jobs: bool = False


@dataclass
class Plan:
    rows: list[RuleCost]
    calibration: Calibration
    gpu_speedup: float
    notes: list[str]

    @property
    def total(self) -> RuleCost:
        total = RuleCost("total")
        for row in self.rows:
            total.jobs += row.jobs
            total.cpu_hours += row.cpu_hours
            total.gpu_hours += row.gpu_hours
            total.basis |= row.basis
        return total


# --- run ids (as workflow/rules/matrix.smk builds them) -------------------------------------


def run_variant(run: str) -> str:
    return RunId.parse(run).variant


def run_preset(run: str) -> str:
    return RunId.parse(run).preset


def run_options(run: str) -> dict[str, str]:
    return dict(RunId.parse(run).options)


# --- epochs ----------------------------------------------------------------------------------


def train_epochs(config: Mapping[str, Any], dataset: str, segmenter: str, run: str) -> int:
    """Epochs of a ``train`` job: ``train.epochs=`` in the run's options, the config's
    ``epochs`` (:func:`relate.tools.workflow_config.configured_epochs`), else the recipe the run
    trains under."""
    options = run_options(run)
    if "train.epochs" in options:
        return int(options["train.epochs"])
    from relate.tools.workflow_config import configured_epochs  # pandas: not at `relate` start-up

    epochs = configured_epochs(config, segmenter, dataset)
    if epochs is not None:
        return epochs
    from relate import segmenters

    variant = run_variant(run)
    try:
        if variant in BASELINES:
            return segmenters.defaults(segmenter, dataset).epochs
        if variant == "teacher" or variant == "relate" or variant in STUDENTS:
            from relate.blocks.presets import expand_options
            from relate.runs.methods.distilled import distilled_training

            distilled = "relate" if variant == "teacher" else variant
            model = expand_options(distilled, run_preset(run), options).model
            schedule = str(model.get("schedule", "release"))
            return distilled_training(dataset, segmenter, schedule, None, {}).epochs
    except (KeyError, ValueError) as error:
        raise RelateError(f"no {segmenter} recipe for {dataset} run {run}: {error}") from None
    raise RelateError(f"train job of unknown variant {variant!r} (run {run})")


# --- per-job seconds -------------------------------------------------------------------------


def _train_per_frame(cal: Calibration, segmenter: str, variant: str) -> float:
    if variant in BASELINES:
        return cal.train(segmenter, BASELINES[variant])
    if variant == "teacher":
        return cal.train(segmenter, 1024)
    if variant in STUDENTS:
        return cal.train(segmenter, 1024) + cal.forward(segmenter, 1024)
    if variant == "relate":
        return RELATE_BRANCHES * cal.train(segmenter, 1024) + cal.forward(segmenter, 1024)
    raise RelateError(f"no cost model for variant {variant!r}")


def _forward_per_frame(cal: Calibration, segmenter: str, variant: str) -> float:
    if variant in BASELINES:
        return cal.forward(segmenter, BASELINES[variant])
    if variant == "relate":
        return RELATE_BRANCHES * cal.forward(segmenter, 1024)
    return cal.forward(segmenter, 1024)  # teacher, students


def _pixels(cal: Calibration, side: float) -> float:
    return (float(side) / cal.video_size) ** 2


def _wildcard(job: Job, name: str) -> str:
    try:
        return job.wildcards[name]
    except KeyError:
        raise RelateError(f"{job.rule} job without wildcard {name!r} in the dry run") from None


def _video_frames(config: Mapping[str, Any], dataset: str) -> tuple[float, float]:
    """(frames, frame side) of one raw video of ``dataset`` (synthetic videos: the config;
    real videos: the dataset's mean frames at an assumed 224-pixel side)."""
    if dataset == "synthetic_videos":
        pipeline = config.get("video_pipeline", {}) or {}
        return float(pipeline.get("frames", 25)), float(pipeline.get("size", 112))
    return dataset_stats(dataset, config).mean_frames, 224.0


def job_seconds(job: Job, config: Mapping[str, Any], cal: Calibration) -> float:
    """Seconds of one job on the calibration's device (see the module doc)."""
    o = cal.job_overhead_s
    rule = job.rule
    if rule in NO_COMMAND_RULES:
        return 0.0
    if rule == "train":
        dataset, segmenter, run = (_wildcard(job, k) for k in ("dataset", "segmenter", "run"))
        split = int(_wildcard(job, "split"))
        epochs = train_epochs(config, dataset, segmenter, run)
        frames = dataset_stats(dataset, config).frames("train", split)
        return o + epochs * frames * _train_per_frame(cal, segmenter, run_variant(run))
    if rule == "train_bridge":
        dataset, split = _wildcard(job, "dataset"), int(_wildcard(job, "split"))
        frames = dataset_stats(dataset, config).frames("train", split)
        return o + int(config.get("bridge_epochs", 100)) * frames * cal.bridge_train_s_per_frame
    if rule == "predict":
        dataset, segmenter, run = (_wildcard(job, k) for k in ("dataset", "segmenter", "run"))
        frames = dataset_stats(dataset, config).frames("test", int(_wildcard(job, "split")))
        return o + frames * _forward_per_frame(cal, segmenter, run_variant(run))
    if rule == "flow":
        frames, side = _video_frames(config, _wildcard(job, "dataset"))
        return o + max(frames - 1, 0) * cal.tvl1_s_per_pair * _pixels(cal, side)
    if rule == "features":
        frames, side = _video_frames(config, _wildcard(job, "dataset"))
        return o + frames * 2 * cal.i3d_s_per_window * _pixels(cal, side)
    if rule == "latency":
        latency = config.get("latency", {}) or {}
        frames = int(latency.get("frames", 550))
        pairs = latency.get("sample_pairs") or frames - 1
        windows = latency.get("sample_windows") or frames
        scale = _pixels(cal, latency.get("size", 224))
        segmenter = _wildcard(job, "segmenter")
        setups = sum(
            _forward_per_frame(cal, segmenter, v) for v in ("rgb", "flow", "two_stream", "relate")
        )
        passes = int(latency.get("warmup", 1)) + int(latency.get("repeats", 3))
        video = pairs * cal.tvl1_s_per_pair * scale + 2 * windows * cal.i3d_s_per_window * scale
        return o + passes * (video + frames * setups)
    return o


# --- the plan --------------------------------------------------------------------------------


def plan_costs(
    dag: Dag, config: Mapping[str, Any], cal: Calibration, gpu_speedup: float = DEFAULT_GPU_SPEEDUP
) -> Plan:
    """Per-rule jobs and hours of a planned DAG (rules in the dry run's order)."""
    if not gpu_speedup > 0:
        raise RelateError(f"--gpu-speedup must be > 0, got {gpu_speedup}")
    gpu_measured = cal.device == "cuda"
    rows: dict[str, RuleCost] = {rule: RuleCost(rule, jobs=n) for rule, n in dag.counts.items()}
    notes: list[str] = []
    jobs = list(dag.jobs)
    extra = _post_checkpoint_jobs(dag, config)
    if extra:
        for rule in POST_CHECKPOINT_RULES:
            rows[rule] = RuleCost(
                rule, jobs=sum(job.rule == rule for job in extra), estimated_jobs=True
            )
        jobs += extra
        notes.append(
            "flow, features: jobs made after checkpoint synth_videos are not in the dry run; "
            "counted from video_pipeline.videos (marked +)"
        )
    printed = {job.rule for job in jobs}
    for rule, row in rows.items():
        if (
            rule not in printed
            and row.jobs
            and rule in ("train", "train_bridge", "predict", "latency")
        ):
            raise RelateError(f"the dry run printed no {rule} job details; cannot cost them")
    for job in jobs:
        row = rows.setdefault(job.rule, RuleCost(job.rule))
        seconds = job_seconds(job, config, cal)
        if job.gpus > 0:
            if gpu_measured:
                row.gpu_hours += seconds / 3600
                row.basis.add("measured (CUDA)")
            else:
                o = cal.job_overhead_s
                row.gpu_hours += (o + (seconds - o) / gpu_speedup) / 3600
                row.basis.add(f"CPU measured / {gpu_speedup:g} (assumed)")
        else:
            row.cpu_hours += seconds / 3600
            if job.rule in NO_COMMAND_RULES:
                row.basis.add("no command")
            else:
                row.basis.add("measured" if job.rule in COSTED_RULES else "measured start-up")
    # rules with a message: (no printed job blocks): start-up cost per counted job
    for rule, row in rows.items():
        if rule not in printed and row.jobs:
            row.cpu_hours += row.jobs * cal.job_overhead_s / 3600
            row.basis.add("measured start-up")
    if "download_features" in rows:
        notes.append("download_features: start-up only; network time is not modelled")
    if gpu_measured and any(job.gpus == 0 and job.rule in ("train", "predict") for job in jobs):
        notes.append("CPU training/prediction jobs costed with a CUDA calibration's numbers")
    return Plan(list(rows.values()), cal, gpu_speedup, notes)


def _post_checkpoint_jobs(dag: Dag, config: Mapping[str, Any]) -> list[Job]:
    """flow + features jobs of the rendered synthetic videos (unknown to a dry run)."""
    if "synth_videos" not in dag.checkpoints or "video_dataset" not in dag.counts:
        return []
    if any(rule in dag.counts for rule in POST_CHECKPOINT_RULES):
        return []
    pipeline = config.get("video_pipeline", {}) or {}
    gpu = {"gpu": "1"} if config.get("device") == "cuda" else {}
    jobs = []
    for _ in range(int(pipeline.get("videos", 2))):
        jobs.append(Job("flow", {"dataset": "synthetic_videos"}))
        jobs.append(Job("features", {"dataset": "synthetic_videos"}, dict(gpu)))
    return jobs


def render(plan: Plan, config_name: str) -> str:
    """The header lines and the per-rule table (tabulate, github style)."""
    from tabulate import tabulate

    cal = plan.calibration

    def hours(value: float, used: bool) -> str:
        return f"{value:,.2f}" if used else "-"

    body = []
    for row in plan.rows:
        name = row.rule + (" +" if row.estimated_jobs else "")
        body.append(
            [
                name,
                f"{row.jobs:,}",
                hours(row.cpu_hours, row.cpu_hours > 0),
                hours(row.gpu_hours, row.gpu_hours > 0),
                "; ".join(sorted(row.basis)),
            ]
        )
    total = plan.total
    body.append(
        ["total", f"{total.jobs:,}", hours(total.cpu_hours, True), hours(total.gpu_hours, True), ""]
    )
    gpu_line = (
        "GPU-hours: measured on CUDA (the calibration's device)"
        if cal.device == "cuda"
        else f"GPU-hours: the CPU-measured seconds / {plan.gpu_speedup:g}, an ASSUMED GPU "
        "speed-up (--gpu-speedup), not a measurement"
    )
    header = [
        f"Cost plan of {config_name} (per-frame cost model; docs/plan.md)",
        f"Calibration: {cal.path}",
        f"  machine: {cal.describe()}",
        "CPU-hours: core-hours of the jobs that need no GPU, from the measured seconds",
        gpu_line,
        "Assumed: cost linear in frames; RELATE = 3 segmenter branches + teacher forward; "
        "students = 1 + teacher forward; every job pays the measured start-up once",
        *[f"Note: {note}" for note in plan.notes],
    ]
    table = tabulate(
        body,
        headers=["rule", "jobs", "CPU-hours", "GPU-hours", "basis"],
        tablefmt="github",
        disable_numparse=True,
        colalign=("left", "right", "right", "right", "left"),
    )
    return "\n".join(header) + "\n\n" + table
