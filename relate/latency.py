"""Per-video inference latency of the Fig. 3 setups (design.md §12; docs/latency.md).

A *setup* is a chain of *stages*:

==============  ==============================================================
setup           stages
==============  ==============================================================
``rgb``         decode, i3d_rgb, segmenter (1024-d input)
``flow``        decode, tvl1, i3d_flow, segmenter (1024-d input)
``two_stream``  decode, tvl1, i3d_rgb, i3d_flow, segmenter (2048-d input)
``relate``      decode, i3d_rgb, segmenter (the RELATE model on RGB rows), pr
==============  ==============================================================

Each distinct piece of work is a *measurement*, timed once and reused by every setup that
contains it (:data:`MEASUREMENTS`): decode, tvl1, i3d_rgb, i3d_flow, ``segmenter_1024``
(the same architecture and input shape serve ``rgb`` and ``flow``), ``segmenter_2048``,
``relate_model`` and ``pr``. A measurement has one or more *parts* (e.g. I3D
pre-processing, then the network); each part may run on a subset of its units (I3D
windows, TV-L1 pairs) and is then scaled linearly to the full count. A setup's total is
the sum of its stages' medians.

The harness (:func:`time_stage`, :func:`run_benchmark`) knows nothing about video: stages
come from a provider ``(key, outputs) -> StageTask``, so tests inject fake stages and a fake
clock. The real stages are :class:`VideoStages` below; they import :mod:`flow_extraction`
and the models lazily, so the harness runs without them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SCHEMA = "relate-latency"
SCHEMA_VERSION = 1

STAGES: tuple[str, ...] = ("decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter", "pr")
SETUPS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "rgb": ("decode", "i3d_rgb", "segmenter"),
        "flow": ("decode", "tvl1", "i3d_flow", "segmenter"),
        "two_stream": ("decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter"),
        "relate": ("decode", "i3d_rgb", "segmenter", "pr"),
    }
)
SEGMENTER_MEASUREMENT: Mapping[str, str] = MappingProxyType(
    {"rgb": "segmenter_1024", "flow": "segmenter_1024", "two_stream": "segmenter_2048",
     "relate": "relate_model"}
)
MEASUREMENTS: tuple[str, ...] = (
    "decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter_1024", "segmenter_2048",
    "relate_model", "pr",
)
"""Every measurement key, in the order they are timed (inputs before their consumers)."""

SEGMENTER_NAMES: tuple[str, ...] = ("mstcn", "asformer", "fact")
"""Same as :data:`relate.models.SEGMENTER_NAMES`, without importing torch for ``--help``."""

Clock = Callable[[], float]


def measurement_key(setup: str, stage: str) -> str:
    """The measurement that times ``stage`` of ``setup``."""
    if setup not in SETUPS or stage not in SETUPS[setup]:
        raise KeyError(f"setup {setup!r} has no stage {stage!r}")
    return SEGMENTER_MEASUREMENT[setup] if stage == "segmenter" else stage


def plan(setups: Sequence[str]) -> dict[str, list[str]]:
    """Measurement key -> the requested setups that use it, in :data:`MEASUREMENTS` order."""
    unknown = [s for s in setups if s not in SETUPS]
    if unknown or not setups:
        raise ValueError(f"unknown or no setups {unknown}; known: {', '.join(SETUPS)}")
    users: dict[str, list[str]] = {}
    for setup in setups:
        for stage in SETUPS[setup]:
            users.setdefault(measurement_key(setup, stage), []).append(setup)
    return {key: users[key] for key in MEASUREMENTS if key in users}


@dataclass(frozen=True)
class Part:
    """One timed call inside a stage.

    Attributes:
        name: e.g. ``"preprocess"``, ``"network"``.
        fn: called with the previous part's output (None for the first part).
        measured_units: units processed per call when sampling (None = the whole video).
        total_units: units of the whole video; the part's time is scaled by total/measured.
        unit: what a unit is (``"windows"``, ``"pairs"``).
    """

    name: str
    fn: Callable[[Any], Any]
    measured_units: int | None = None
    total_units: int | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if (self.measured_units is None) != (self.total_units is None):
            raise ValueError("give both measured_units and total_units, or neither")
        if self.measured_units is not None and not 0 < self.measured_units <= self.total_units:
            raise ValueError(
                f"need 0 < measured ({self.measured_units}) <= total ({self.total_units})"
            )

    @property
    def factor(self) -> float:
        """Linear extrapolation factor (1 when the whole video is processed)."""
        return 1.0 if self.measured_units is None else self.total_units / self.measured_units

    @property
    def extrapolated(self) -> bool:
        return self.measured_units is not None and self.measured_units < self.total_units


@dataclass(frozen=True)
class StageTask:
    """What the harness times for one measurement.

    Attributes:
        stage: one of :data:`STAGES`.
        device: where it runs (``cpu``, ``cuda``, ``cuda:0``).
        parts: run in order on every repetition.
        info: JSON-ready facts about the work (model, input shape, weights, ...).
    """

    stage: str
    device: str
    parts: tuple[Part, ...]
    info: Mapping[str, Any] = field(default_factory=dict)


def summarize_runs(seconds: Sequence[float]) -> dict[str, Any]:
    """Median, mean, min, max, quartiles and IQR (numpy's linear percentiles) of the runs."""
    runs = np.asarray(seconds, dtype=np.float64)
    if runs.ndim != 1 or runs.size == 0:
        raise ValueError("need at least one timed run")
    q1, median, q3 = (float(v) for v in np.percentile(runs, [25, 50, 75]))
    return {
        "n": int(runs.size), "median": median, "mean": float(runs.mean()),
        "min": float(runs.min()), "max": float(runs.max()), "q1": q1, "q3": q3,
        "iqr": q3 - q1, "runs": [float(v) for v in runs],
    }


def no_sync() -> None:
    """The CPU's synchronize: nothing to wait for."""


def time_stage(
    task: StageTask,
    *,
    warmup: int,
    repeats: int,
    clock: Clock = time.perf_counter,
    synchronize: Callable[[], None] = no_sync,
) -> tuple[dict[str, Any], Any]:
    """Run ``task`` ``warmup`` times untimed, then ``repeats`` times timed.

    Each part is bracketed by ``synchronize(); clock()``; a repetition's stage time is the
    sum over parts of ``factor * seconds``. Returns the JSON record and the last output.
    """
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1, got {warmup}, {repeats}")
    part_runs: list[list[float]] = [[] for _ in task.parts]
    stage_runs: list[float] = []
    output: Any = None
    for index in range(warmup + repeats):
        output, total = None, 0.0
        for part, runs in zip(task.parts, part_runs):
            synchronize()
            start = clock()
            output = part.fn(output)
            synchronize()
            elapsed = clock() - start
            total += part.factor * elapsed
            if index >= warmup:
                runs.append(elapsed)
        if index >= warmup:
            stage_runs.append(total)
    parts = {
        part.name: {
            "measured_seconds": summarize_runs(runs),
            "extrapolated": part.extrapolated,
            "unit": part.unit,
            "measured_units": part.measured_units,
            "total_units": part.total_units,
            "factor": part.factor,
        }
        for part, runs in zip(task.parts, part_runs)
    }
    record = {
        "stage": task.stage,
        "device": task.device,
        "seconds": summarize_runs(stage_runs),
        "extrapolated": any(p.extrapolated for p in task.parts),
        "parts": parts,
        "info": dict(task.info),
    }
    return record, output


Provider = Callable[[str, Mapping[str, Any]], StageTask]
"""(measurement key, outputs of the measurements timed so far) -> the task to time."""


def run_benchmark(
    setups: Sequence[str],
    provider: Provider,
    *,
    warmup: int,
    repeats: int,
    clock: Clock = time.perf_counter,
    synchronize: Callable[[], None] = no_sync,
) -> dict[str, Any]:
    """Time every measurement the setups need once; per-setup stage medians and totals.

    Returns ``{"measurements": {key: record + used_by}, "setups": {...}, "ratios": {...}}``.
    """
    outputs: dict[str, Any] = {}
    measurements: dict[str, Any] = {}
    for key, users in plan(setups).items():
        task = provider(key, outputs)
        logger.info("timing %s (%d warm-up + %d timed runs)", key, warmup, repeats)
        record, outputs[key] = time_stage(
            task, warmup=warmup, repeats=repeats, clock=clock, synchronize=synchronize
        )
        record["used_by"] = users
        measurements[key] = record
    summary = {setup: setup_total(setup, measurements) for setup in setups}
    return {"measurements": measurements, "setups": summary, "ratios": ratios(summary)}


def setup_total(setup: str, measurements: Mapping[str, Any]) -> dict[str, Any]:
    """Stage medians of ``setup`` and their sums (median, min and max summed stage-wise)."""
    stages = []
    for stage in SETUPS[setup]:
        key = measurement_key(setup, stage)
        record = measurements[key]
        stages.append({"stage": stage, "measurement": key, "device": record["device"],
                       "median_s": record["seconds"]["median"],
                       "extrapolated": record["extrapolated"]})
    sums = {stat: math.fsum(measurements[s["measurement"]]["seconds"][stat] for s in stages)
            for stat in ("median", "min", "max")}
    return {
        "stages": stages,
        "total_median_s": sums["median"],
        "total_min_s": sums["min"],
        "total_max_s": sums["max"],
        "extrapolated": any(s["extrapolated"] for s in stages),
    }


def ratios(summary: Mapping[str, Any]) -> dict[str, float]:
    """``two_stream_over_relate`` (and others vs relate) when both totals exist."""
    out = {}
    if "relate" in summary and summary["relate"]["total_median_s"] > 0:
        base = summary["relate"]["total_median_s"]
        for setup in ("two_stream", "flow", "rgb"):
            if setup in summary:
                out[f"{setup}_over_relate"] = summary[setup]["total_median_s"] / base
    return out


def sample_slice(total: int, count: int | None) -> slice:
    """``count`` evenly spaced indices of ``range(total)`` as a slice (all when None or >=)."""
    if count is None or count >= total:
        return slice(0, total)
    if count < 1:
        raise ValueError(f"sample count must be >= 1, got {count}")
    step = total // count
    start = (total - step * (count - 1) - 1) // 2  # centre the sampled indices
    return slice(start, start + step * (count - 1) + 1, step)


def slice_len(index: slice, total: int) -> int:
    return len(range(*index.indices(total)))


# --------------------------------------------------------------------------- real stages


@dataclass(frozen=True)
class StageOptions:
    """Settings of the real stages.

    Attributes:
        segmenter: mstcn, asformer or fact (randomly initialised: timing only).
        dataset: selects the segmenter's settings and the class count.
        device: torch device of I3D, segmenters and the RELATE model (decode, TV-L1 and PR
            always run on the CPU).
        sample_windows: time I3D on this many evenly spaced windows and scale linearly.
        sample_pairs: time TV-L1 on this many consecutive frame pairs and scale linearly.
        i3d_batch_size: windows per I3D forward pass.
        threads: OpenCV threads for TV-L1 (None = OpenCV's setting).
        frame_size: (H, W) to resize decoded frames to, inside the timed decode stage.
        seed: seeds model initialisation and the segmenters' random input features.
    """

    segmenter: str = "mstcn"
    dataset: str = "gtea"
    device: str = "cpu"
    sample_windows: int | None = None
    sample_pairs: int | None = None
    i3d_batch_size: int = 8
    threads: int | None = None
    frame_size: tuple[int, int] | None = None
    seed: int = 0


RANDOM_WEIGHTS = "random initialisation (timing only: cost does not depend on weight values)"


class VideoStages:
    """Provider of the real stages for one video file (see the module docstring)."""

    def __init__(self, video: Any, options: StageOptions) -> None:
        self.video = video
        self.options = options

    def __call__(self, key: str, outputs: Mapping[str, Any]) -> StageTask:
        return getattr(self, f"_{key}")(outputs)

    # -- helpers
    def _torch_device(self) -> Any:
        import torch

        return torch.device(self.options.device)

    def _num_classes(self) -> int:
        from relate.data.registry import get_dataset

        return get_dataset(self.options.dataset).n_classes

    def _features(self, rows: int, frames: int) -> Any:
        rng = np.random.default_rng(self.options.seed)
        return rng.standard_normal((rows, frames), dtype=np.float32)  # (D, T)

    # -- stages
    def _decode(self, outputs: Mapping[str, Any]) -> StageTask:
        from flow_extraction.video import read_frames

        size = self.options.frame_size
        info: dict[str, Any] = {"video": str(self.video),
                                "frame_size": list(size) if size else "native"}

        def decode(_: Any) -> np.ndarray:
            frames = read_frames(self.video)  # (T, H, W, 3) uint8
            if size is not None and frames.shape[1:3] != size:
                import cv2

                frames = np.stack([cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                                   for f in frames])
            info["decoded_shape"] = list(frames.shape)  # (T, H, W, 3)
            return frames

        return StageTask("decode", "cpu", (Part("read_frames", decode),), info)

    def _tvl1(self, outputs: Mapping[str, Any]) -> StageTask:
        from flow_extraction.tvl1 import TVL1_PARAMS, compute_flow

        frames = outputs["decode"]
        pairs = len(frames) - 1
        if pairs < 1:
            raise ValueError("TV-L1 needs at least 2 frames")
        count = min(self.options.sample_pairs or pairs, pairs)
        start = (pairs - count) // 2
        clip = frames[start : start + count + 1]
        part = Part("tvl1", lambda _: compute_flow(clip, threads=self.options.threads),
                    count, pairs, "pairs")
        info = {"frames_hw": list(frames.shape[1:3]), "params": dict(TVL1_PARAMS),
                "pairs_timed": [start, start + count], "threads": self.options.threads}
        return StageTask("tvl1", "cpu", (part,), info)

    def _i3d(self, stream: str, inputs: np.ndarray, frames: int) -> StageTask:
        import torch

        from flow_extraction import features

        model, weights = _load_i3d(stream, self.options.seed)
        model = model.to(self._torch_device()).eval()
        prep = features.preprocess_rgb if stream == "rgb" else features.preprocess_flow
        centres = sample_slice(frames, self.options.sample_windows)

        def network(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return features.stream_features(
                    x, model, kind=stream, device=self.options.device,
                    batch_size=self.options.i3d_batch_size,
                    frames=None if slice_len(centres, frames) == frames else centres,
                )

        parts = (Part("preprocess", lambda _: prep(inputs)),
                 Part("network", network, slice_len(centres, frames), frames, "windows"))
        info = {"weights": weights, "batch_size": self.options.i3d_batch_size, "window": 21,
                "dtype": "float32", "windows_timed": [centres.start, centres.stop, centres.step],
                "input_shape": list(inputs.shape)}
        return StageTask(f"i3d_{stream}", self.options.device, parts, info)

    def _i3d_rgb(self, outputs: Mapping[str, Any]) -> StageTask:
        frames = outputs["decode"]
        return self._i3d("rgb", frames, len(frames))

    def _i3d_flow(self, outputs: Mapping[str, Any]) -> StageTask:
        frames, flow = len(outputs["decode"]), outputs["tvl1"]
        task = self._i3d("flow", _tile(flow, frames - 1), frames)
        if len(flow) < frames - 1:
            note = (f"input: the {len(flow)} timed TV-L1 pairs repeated to {frames - 1} pairs "
                    "(I3D cost does not depend on the values)")
            task = StageTask(task.stage, task.device, task.parts, {**task.info, "note": note})
        return task

    def _segmenter(self, in_dim: int, outputs: Mapping[str, Any]) -> StageTask:
        import torch

        from relate import segmenters
        from relate.models import count_parameters

        frames = len(outputs["decode"])
        torch.manual_seed(self.options.seed)
        model = segmenters.build(self.options.segmenter, in_dim, self._num_classes(),
                                 self.options.dataset).to(self._torch_device()).eval()
        x_np, device = self._features(in_dim, frames), self._torch_device()

        def forward(_: Any) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(x_np).unsqueeze(0).to(device)  # (1, D, T)
                mask = torch.ones(1, 1, frames, device=device)
                return model.probabilities(model(x, mask))[0].float().cpu().numpy()  # (C, T)

        info = {"segmenter": self.options.segmenter, "in_dim": in_dim, "frames": frames,
                "num_classes": self._num_classes(), "parameters": count_parameters(model),
                "weights": RANDOM_WEIGHTS, "input": "seeded random features of shape (D, T)"}
        return StageTask("segmenter", self.options.device, (Part("forward", forward),), info)

    def _segmenter_1024(self, outputs: Mapping[str, Any]) -> StageTask:
        return self._segmenter(1024, outputs)

    def _segmenter_2048(self, outputs: Mapping[str, Any]) -> StageTask:
        return self._segmenter(2048, outputs)

    def _relate_model(self, outputs: Mapping[str, Any]) -> StageTask:
        import torch

        from relate.models import RelateModel, RelateSpec, count_parameters

        frames = len(outputs["decode"])
        torch.manual_seed(self.options.seed)
        spec = RelateSpec(self.options.segmenter, self.options.dataset, self._num_classes())
        model = RelateModel(spec).to(self._torch_device()).eval()
        x_np, device = self._features(spec.in_dim, frames), self._torch_device()

        def forward(_: Any) -> dict[str, np.ndarray]:
            with torch.inference_mode():
                x = torch.from_numpy(x_np).unsqueeze(0).to(device)  # (1, 1024, T)
                mask = torch.ones(1, 1, frames, device=device)
                probs = model.probabilities(model(x, mask))
                return {k: v[0].float().cpu().numpy().T for k, v in probs.items()}  # (T, C)

        info = {"segmenter": self.options.segmenter, "in_dim": spec.in_dim, "frames": frames,
                "num_classes": spec.num_classes, "parameters": count_parameters(model),
                "spec": "RelateSpec defaults (the authors' release); RGB rows only at inference",
                "weights": RANDOM_WEIGHTS, "input": "seeded random features of shape (1024, T)"}
        return StageTask("segmenter", self.options.device, (Part("forward", forward),), info)

    def _pr(self, outputs: Mapping[str, Any]) -> StageTask:
        from relate.refine import DEFAULT_DELTA, refine_prediction, resolve_pr_options

        probs = outputs["relate_model"]

        def refine(_: Any) -> np.ndarray:
            return refine_prediction(
                probs["rgb"], probs["flow"], probs["joint"], delta=DEFAULT_DELTA
            )  # (T, C)

        info = {"delta": DEFAULT_DELTA, "options": resolve_pr_options({}),
                "input": "the relate_model stage's (T, C) probabilities"}
        return StageTask("pr", "cpu", (Part("refine", refine),), info)


def _tile(flow: np.ndarray, pairs: int) -> np.ndarray:
    """``flow`` (K, H, W, 2) repeated along time to ``pairs`` entries."""
    if len(flow) == pairs:
        return flow
    return flow[np.arange(pairs) % len(flow)]


def _load_i3d(stream: str, seed: int) -> tuple[Any, dict[str, Any]]:
    """The I3D stream via ``load_i3d``; a randomly initialised one if its weights are absent."""
    import dataclasses

    import torch

    from flow_extraction.i3d import InceptionI3d
    from relate.errors import RelateError

    try:
        from flow_extraction.i3d_weights import load_i3d

        model, info = load_i3d(stream)  # type: ignore[arg-type]
        weights = dataclasses.asdict(info) if dataclasses.is_dataclass(info) else {"info": repr(info)}
        return model, {k: str(v) if v is not None else None for k, v in weights.items()}
    except (ImportError, OSError, RelateError) as error:
        logger.warning("I3D %s weights unavailable (%s); timing a random-weight I3D", stream, error)
        torch.manual_seed(seed)
        model = InceptionI3d(3 if stream == "rgb" else 2)
        return model, {"source": RANDOM_WEIGHTS, "reason": str(error)}


# --------------------------------------------------------------------------- context and input


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform's processor string."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware(device: str) -> dict[str, Any]:
    """CPU model and logical CPUs; GPU name, memory and CUDA/cuDNN versions on CUDA."""
    import os

    import torch

    record: dict[str, Any] = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        record["cpus_usable"] = len(os.sched_getaffinity(0))
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        record.update(gpu_name=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 2),
                      cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    else:
        record["gpu_name"] = None
    return record


def thread_counts() -> dict[str, Any]:
    """torch intra/inter-op threads, OpenCV threads and the thread environment variables."""
    import os

    import cv2
    import torch

    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    env = {k: os.environ.get(k) for k in names}
    return {"torch": torch.get_num_threads(), "torch_interop": torch.get_num_interop_threads(),
            "opencv": cv2.getNumThreads(), "env": env}


def library_versions() -> dict[str, str]:
    """Versions of the libraries the stages run on (beyond :func:`relate.provenance`)."""
    from importlib import metadata

    import cv2
    import torch

    versions = {"opencv": str(cv2.__version__), "torch": torch.__version__}
    for name in ("av", "opencv-contrib-python-headless", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


# --------------------------------------------------------------------------- report


def synchronizer(device: str) -> Callable[[], None]:
    """``torch.cuda.synchronize`` for a CUDA device (waits for queued kernels), else a no-op."""
    if device.startswith("cuda"):
        import torch

        return lambda: torch.cuda.synchronize(device)
    return no_sync


def build_report(
    result: Mapping[str, Any],
    *,
    video: Mapping[str, Any],
    options: StageOptions,
    warmup: int,
    repeats: int,
    command: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON document: ``result`` of :func:`run_benchmark` plus settings and provenance."""
    import dataclasses
    import datetime as dt

    from relate.provenance import provenance

    shared = {k: m["used_by"] for k, m in result["measurements"].items() if len(m["used_by"]) > 1}
    extrapolated = sorted(k for k, m in result["measurements"].items() if m["extrapolated"])
    notes = [
        "Segmenters and the RELATE model are randomly initialised: the numbers are timings "
        "only, not a trained model's predictions.",
        "Each measurement is timed once and reused by every setup listed in its used_by "
        "(see shared_measurements); segmenter_1024 serves rgb and flow (same architecture "
        "and input shape).",
        "A setup's total is the sum of its stages' medians (total_min_s / total_max_s sum "
        "the stage minima / maxima).",
    ]
    if extrapolated:
        notes.append(
            "Extrapolated (timed on a subset, scaled linearly to the whole video): "
            + ", ".join(extrapolated) + "; see each part's measured_units / total_units."
        )
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": list(command) if command is not None else None,
        "video": dict(video),
        "config": {**dataclasses.asdict(options), "warmup": warmup, "repeats": repeats},
        "timing": {
            "clock": "time.perf_counter",
            "cuda_synchronized": options.device.startswith("cuda"),
            "statistics": "median, mean, min, max, q1, q3, iqr (numpy linear percentiles) "
                          "over the timed repeats, after the warm-up runs",
        },
        "measurements": result["measurements"],
        "setups": result["setups"],
        "ratios": result["ratios"],
        "shared_measurements": shared,
        "extrapolated_measurements": extrapolated,
        "hardware": hardware(options.device),
        "threads": thread_counts(),
        "versions": library_versions(),
        "provenance": provenance(),
        "notes": notes,
    }
