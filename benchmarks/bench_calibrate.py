"""Measure the per-frame costs ``relate plan`` uses, on this machine, and write them as JSON.

Usage::

    .venv/bin/python benchmarks/bench_calibrate.py --out calibration.json
        [--device cpu|cuda] [--threads 1] [--frames 2000] [--steps 3] [--warmup 1]

Times, on random data with randomly initialised models: one training step and one forward
pass per segmenter (MS-TCN, ASFormer, FACT) x input width (1024: rgb/flow, 2048:
two_stream) on a ``--frames``-frame video, a modality-bridge step, a TV-L1 pair and an I3D
window at 224x224, and the start-up of a ``relate`` job; each the median of ``--steps``
repetitions after ``--warmup``. Writes seconds per frame (per pair, per window, per job)
with the machine name, CPU model and count, device, torch version, threads and date. The
same as ``relate plan --calibrate FILE``; the code is :func:`relate.tools.plan.measure.measure`.
On a shared CPU it takes a few minutes; pass the file to ``relate plan --calibration``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from relate.tools.plan.calibration import write_calibration  # noqa: E402
from relate.tools.plan.measure import measure  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="calibration JSON to write")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=1, help="torch/OpenCV threads (default 1)")
    parser.add_argument("--frames", type=int, default=2000, help="frames of the timed video")
    parser.add_argument("--steps", type=int, default=3, help="timed repetitions (median)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed repetitions first")
    args = parser.parse_args()
    data = measure(
        device=args.device,
        threads=args.threads,
        frames=args.frames,
        steps=args.steps,
        warmup=args.warmup,
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    write_calibration(data, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
