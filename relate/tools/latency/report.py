"""The ``relate latency`` JSON document: settings, results, hardware and provenance."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from relate.tools.latency.environment import hardware, library_versions, thread_counts
from relate.tools.latency.harness import no_sync
from relate.tools.latency.stages import StageOptions

SCHEMA = "relate-latency"
SCHEMA_VERSION = 1


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
            + ", ".join(extrapolated)
            + "; see each part's measured_units / total_units."
        )
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
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
