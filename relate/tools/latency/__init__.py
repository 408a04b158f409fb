"""Per-video inference latency of the Fig. 3 setups (docs/latency.md).

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
clock. The real stages are :class:`VideoStages`; they import :mod:`flow_extraction` and the
models lazily, so the harness runs without them.

Modules: ``setups`` (setups, stages and measurement keys), ``harness`` (stage tasks, timing,
totals, sampling), ``stages`` (the real stages of one video), ``environment`` (hardware,
threads, library versions), ``report`` (the JSON document).
"""

from __future__ import annotations

from relate.tools.latency.environment import cpu_model, hardware, library_versions, thread_counts
from relate.tools.latency.harness import (
    Clock,
    Part,
    Provider,
    StageTask,
    no_sync,
    ratios,
    run_benchmark,
    sample_slice,
    setup_total,
    slice_len,
    summarize_runs,
    time_stage,
)
from relate.tools.latency.report import SCHEMA, SCHEMA_VERSION, build_report, synchronizer
from relate.tools.latency.setups import (
    MEASUREMENTS,
    SEGMENTER_MEASUREMENT,
    SEGMENTER_NAMES,
    SETUPS,
    STAGES,
    measurement_key,
    plan,
)
from relate.tools.latency.stages import RANDOM_WEIGHTS, StageOptions, VideoStages

__all__ = [
    "MEASUREMENTS",
    "RANDOM_WEIGHTS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SEGMENTER_MEASUREMENT",
    "SEGMENTER_NAMES",
    "SETUPS",
    "STAGES",
    "Clock",
    "Part",
    "Provider",
    "StageOptions",
    "StageTask",
    "VideoStages",
    "build_report",
    "cpu_model",
    "hardware",
    "library_versions",
    "measurement_key",
    "no_sync",
    "plan",
    "ratios",
    "run_benchmark",
    "sample_slice",
    "setup_total",
    "slice_len",
    "summarize_runs",
    "synchronizer",
    "thread_counts",
    "time_stage",
]
