"""The timing harness: stage tasks, timed repetitions, per-setup totals and sampling.

It knows nothing about video: a provider ``(key, outputs) -> StageTask`` supplies each
measurement's work, so tests inject fake stages and a fake clock.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from relate.tools.latency.setups import SETUPS, measurement_key, plan

logger = logging.getLogger("relate.tools.latency")

Clock = Callable[[], float]


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
        "n": int(runs.size),
        "median": median,
        "mean": float(runs.mean()),
        "min": float(runs.min()),
        "max": float(runs.max()),
        "q1": q1,
        "q3": q3,
        "iqr": q3 - q1,
        "runs": [float(v) for v in runs],
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
        stages.append(
            {
                "stage": stage,
                "measurement": key,
                "device": record["device"],
                "median_s": record["seconds"]["median"],
                "extrapolated": record["extrapolated"],
            }
        )
    sums = {
        stat: math.fsum(measurements[s["measurement"]]["seconds"][stat] for s in stages)
        for stat in ("median", "min", "max")
    }
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
    """How many indices of ``range(total)`` ``index`` selects."""
    return len(range(*index.indices(total)))
