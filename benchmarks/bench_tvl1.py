"""Benchmark TV-L1 (OpenCV contrib, CPU): frame pairs per second by frame size and threads.

Usage::

    .venv/bin/python benchmarks/bench_tvl1.py [--sizes 112 224] [--threads 1 2]
                                              [--pairs N] [--repeats R] [--seed S]

Frames are synthetic-video frames (relate.data.synthetic_videos, rendered in memory, not
encoded) starting at the first action segment, so the pairs contain a moving shape. Each
(size, threads) cell runs one warm-up pair, then ``--repeats`` timed runs of ``--pairs``
consecutive pairs through :func:`flow_extraction.tvl1.compute_flow`; the best run is
reported (the machine may be shared). The flows of every thread count must be bit-identical;
the benchmark says so, and exits 1 if they are not.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import cv2
import numpy as np
from tabulate import tabulate

from flow_extraction.tvl1 import compute_flow
from relate.data.synthetic_videos import (
    SynthVideoConfig,
    build_sprites,
    plan_segments,
    render_backdrop,
    render_frames,
)


def synthetic_frames(size: int, n_pairs: int, seed: int) -> np.ndarray:
    """(n_pairs + 1, size, size, 3) uint8 frames from the first action of a synthetic video."""
    config = SynthVideoConfig(size=size, min_frames=120, max_frames=120, n_videos=1, n_splits=1)
    rng = np.random.default_rng(seed)
    sprites = build_sprites(config, rng)
    segments = plan_segments(config, 0, sprites, rng)
    frames = render_frames(config, sprites, render_backdrop(config, rng), segments)
    start = next(s.start for s in segments if s.velocity is not None)
    chunk = frames[start : start + n_pairs + 1]
    if len(chunk) < n_pairs + 1:
        raise SystemExit(f"--pairs {n_pairs} is longer than the synthetic video allows")
    return chunk


def time_flow(frames: np.ndarray, threads: int, repeats: int) -> tuple[float, np.ndarray]:
    """Best wall time over ``repeats`` runs of compute_flow on all pairs, and the flow."""
    compute_flow(frames[:2], threads=threads)  # warm-up
    best, flow = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        flow = compute_flow(frames, threads=threads)
        best = min(best, time.perf_counter() - start)
    return best, flow


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[112, 224])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pairs", type=int, default=8, help="frame pairs per timed run")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per cell (best kept)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rows, identical = [], True
    for size in args.sizes:
        frames = synthetic_frames(size, args.pairs, args.seed)
        results = {t: time_flow(frames, t, args.repeats) for t in args.threads}
        base_seconds, base_flow = results[args.threads[0]]
        for threads, (seconds, flow) in results.items():
            same = bool(np.array_equal(flow, base_flow))
            identical &= same
            rows.append(
                [
                    f"{size}x{size}",
                    threads,
                    f"{args.pairs / seconds:.2f}",
                    f"{1000 * seconds / args.pairs:.0f}",
                    f"{base_seconds / seconds:.2f}",
                    "yes" if same else "NO",
                ]
            )
    headers = [
        "frame size",
        "threads",
        "pairs/s",
        "ms/pair",
        f"speed-up vs {args.threads[0]} thread(s)",
        "bit-identical",
    ]
    print(
        f"TV-L1 (OpenCV {cv2.__version__}), {args.pairs} pairs/run, best of {args.repeats}; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print(tabulate(rows, headers=headers, tablefmt="github"))
    if not identical:
        print("error: flows differ between thread counts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
