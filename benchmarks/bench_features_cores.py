"""Feature extraction over several videos through Snakemake: --cores 1 against --cores 2.

Renders N small synthetic videos and runs the raw-video path (TV-L1 flow per video, I3D RGB +
flow features per video, the validated dataset) twice from nothing, in fresh folders, with
``--cores 1`` and ``--cores 2``, and prints the wall times and their ratio. Each job uses one
thread (``--set-threads flow=1 features=1``), so the ratio measures Snakemake running jobs side
by side, not intra-op threading.

    .venv/bin/python benchmarks/bench_features_cores.py [--videos 4] [--frames 30] [--size 64]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def config_text(videos: int, frames: int, size: int) -> str:
    smoke = (REPO / "config" / "smoke.yaml").read_text()
    head = smoke.split("video_pipeline:")[0]
    return head + (
        f"video_pipeline:\n  enabled: true\n  videos: {videos}\n"
        f"  frames: {frames}\n  size: {size}\n"
    )


def run(cores: int, config: Path, workdir: Path) -> float:
    target = "results/smoke/data/synthetic_videos_features"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [
        str(BIN / "snakemake"),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        target,
        "--cores",
        str(cores),
        "--set-threads",
        "flow=1",
        "features=1",
        "--configfile",
        str(config),
    ]
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"snakemake --cores {cores} failed:\n{result.stderr[-3000:]}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(config_text(args.videos, args.frames, args.size))
        times = {}
        for cores in (1, 2):
            times[cores] = run(cores, config, Path(tmp) / f"cores{cores}")
            rows.append([cores, round(times[cores], 1)])
    print(
        f"{args.videos} synthetic videos x {args.frames} frames at {args.size}^2: synth-videos, "
        f"TV-L1 and I3D features per video, validation; {os.cpu_count()} CPUs "
        f"({platform.processor() or platform.machine()})"
    )
    print(tabulate(rows, headers=["snakemake --cores", "wall s"], tablefmt="github"))
    print(f"speed-up --cores 2 vs --cores 1: {times[1] / times[2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
