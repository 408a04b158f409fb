"""Measuring the per-frame costs of this machine: the numbers of a calibration file.

See :mod:`relate.tools.plan.calibration` for what each number is and how it is timed (CPU
seconds of this process on the CPU, wall seconds on CUDA). Needs torch, and OpenCV for TV-L1;
every heavy import happens inside the functions.
"""

from __future__ import annotations

import functools
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relate.tools.plan.calibration import FORMAT, SEGMENTERS, WIDTHS


def _median_time(
    call: Callable[[], Any],
    warmup: int,
    repeats: int,
    sync: Callable[[], None],
    clock: Callable[[], float] = time.process_time,
) -> float:
    """Median seconds of ``call``: CPU seconds of this process by default (on a shared CPU
    the wall clock also counts other jobs' time; with 1 thread CPU seconds are core-seconds),
    wall seconds (``time.perf_counter``) for CUDA."""
    for _ in range(warmup):
        call()
    sync()
    times = []
    for _ in range(repeats):
        began = clock()
        call()
        sync()
        times.append(clock() - began)
    return statistics.median(times)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _train_step(
    model: Any, optimizer: Any, x: Any, mask: Any, target: Any, clip: float | None
) -> None:
    """One optimiser step of ``model`` on input ``x`` (1, D, T) with the official loss."""
    import torch

    optimizer.zero_grad(set_to_none=True)
    model.loss(model(x, mask), target, mask)["total"].backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()


def _infer(model: Any, x: Any, mask: Any) -> None:
    """One forward pass without gradients."""
    import torch

    with torch.no_grad():
        model(x, mask)


def measure(
    device: str = "cpu",
    threads: int = 1,
    frames: int = 2000,
    steps: int = 3,
    warmup: int = 1,
    video_size: int = 224,
    segmenter_names: tuple[str, ...] = SEGMENTERS,
    log: Callable[[str], None] = lambda text: None,
) -> dict[str, Any]:
    """Time every cost the planner uses on this machine; returns the calibration dict.

    Random data, randomly initialised models (weights do not change the cost); one video of
    ``frames`` frames (11 classes, GTEA's official settings); the median of ``steps`` timed
    repetitions after ``warmup`` untimed ones. ``threads`` torch (and OpenCV) threads: 1 by
    default, as the workflow's training jobs run (``OMP_NUM_THREADS=1``), so seconds are
    core-seconds."""
    import numpy as np
    import torch

    from relate import segmenters
    from relate.blocks.distill import ModalityBridge, bridge_loss
    from relate.runs.fast_path import make_adam

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    dev = torch.device(device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    clock = time.perf_counter if dev.type == "cuda" else time.process_time
    rng = np.random.default_rng(0)
    n_classes = 11
    cuts = np.sort(rng.choice(np.arange(1, frames), size=20, replace=False))
    labels = np.repeat(rng.integers(0, n_classes, size=21), np.diff(np.r_[0, cuts, frames]))
    target = torch.from_numpy(labels).unsqueeze(0).to(dev)  # (1, T)
    mask = torch.ones(1, 1, frames, device=dev)  # (1, 1, T)

    train: dict[str, dict[str, float]] = {}
    forward: dict[str, dict[str, float]] = {}
    for name in segmenter_names:
        recipe = segmenters.defaults(name, "gtea")
        train[name], forward[name] = {}, {}
        for width in WIDTHS:
            model = segmenters.build(name, width, n_classes, "gtea").to(dev)
            x = torch.rand(1, width, frames, device=dev)  # (1, D, T)
            optimizer = make_adam(model.parameters(), recipe.lr, recipe.weight_decay, False, dev)

            step = functools.partial(
                _train_step, model, optimizer, x, mask, target, recipe.clip_grad_norm
            )
            infer = functools.partial(_infer, model, x, mask)

            model.train()
            train[name][str(width)] = _median_time(step, warmup, steps, sync, clock) / frames
            model.eval()
            forward[name][str(width)] = _median_time(infer, warmup, steps, sync, clock) / frames
            log(
                f"{name} width {width}: train {1e3 * train[name][str(width)]:.4f} ms/frame, "
                f"forward {1e3 * forward[name][str(width)]:.4f} ms/frame"
            )

    bridge = ModalityBridge(1024, hidden=256).to(dev)
    rgb, flow = torch.rand(1, 1024, frames, device=dev), torch.rand(1, 1024, frames, device=dev)
    bridge_optimizer = make_adam(bridge.parameters(), 1e-4, 0.0, False, dev)

    def bridge_step() -> None:
        bridge_optimizer.zero_grad(set_to_none=True)
        bridge_loss(bridge(rgb), flow, mask).backward()
        bridge_optimizer.step()

    bridge_s = _median_time(bridge_step, warmup, steps, sync, clock) / frames
    log(f"bridge: train {1e3 * bridge_s:.4f} ms/frame")

    tvl1_s = _tvl1_pair_seconds(video_size, threads, warmup, steps)
    log(f"TV-L1 {video_size}x{video_size}: {tvl1_s:.3f} s/pair")
    i3d_s = _i3d_window_seconds(video_size, dev, sync, clock)
    log(f"I3D {video_size}x{video_size}: {i3d_s:.3f} s/window")
    overhead = _job_overhead_seconds()
    log(f"job start-up: {overhead:.2f} s")

    gpu_name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else None
    return {
        "format": FORMAT,
        "machine": {
            "name": platform.node(),
            "cpu_model": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "device": dev.type,
            "gpu_name": gpu_name,
        },
        "torch": torch.__version__,
        "threads": threads,
        "created": datetime.now(UTC).strftime("%Y-%m-%d"),
        "frames": frames,
        "video_size": video_size,
        "repeats": {"warmup": warmup, "timed": steps, "statistic": "median"},
        "train_s_per_frame": train,
        "forward_s_per_frame": forward,
        "bridge_train_s_per_frame": bridge_s,
        "tvl1_s_per_pair": tvl1_s,
        "i3d_s_per_window": i3d_s,
        "job_overhead_s": overhead,
    }


def _tvl1_pair_seconds(size: int, threads: int, warmup: int, repeats: int) -> float:
    """Seconds per TV-L1 pair on moving random-noise frames (OpenCV on the CPU)."""
    import numpy as np

    from flow_extraction.tvl1 import compute_flow

    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(size + 8, size + 8, 3), dtype=np.uint8)
    frames = np.stack([base[i : i + size, i : i + size] for i in range(3)])  # (3, H, W, 3)
    seconds = _median_time(  # CPU seconds: OpenCV runs ``threads`` threads (1 by default)
        lambda: compute_flow(frames, threads=threads), warmup, repeats, lambda: None
    )
    return seconds / (len(frames) - 1)


def _i3d_window_seconds(
    size: int, dev: Any, sync: Callable[[], None], clock: Callable[[], float]
) -> float:
    """Seconds per I3D window (one RGB-stream window; the flow stream costs about the same)."""
    import torch

    from flow_extraction.features import WINDOW
    from flow_extraction.i3d import InceptionI3d

    model = InceptionI3d(3).eval().to(dev)
    x = torch.rand(1, 3, WINDOW, size, size, device=dev)

    def run() -> None:
        with torch.inference_mode():
            if size >= 193:
                model.extract_features(x)
            else:  # Mixed_5c is too small for the final pool below 193 pixels
                for _ in model.endpoints(x):
                    pass

    return _median_time(run, 1, 2, sync, clock)


def _job_overhead_seconds() -> float:
    """CPU seconds (user + system) to start Python and import torch and the training modules
    in a child process (best of 2)."""
    import resource

    command = [
        sys.executable,
        "-c",
        "import torch, relate.runs.train, relate.runs.methods.distilled",
    ]
    best = float("inf")
    for _ in range(2):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, used)
    return best
