"""Benchmark I3D throughput in windows per second (one window = one frame's feature).

Usage::

    .venv/bin/python benchmarks/bench_i3d.py [--sizes 112 224] [--batch-sizes 1 4]
        [--dtypes fp32 bf16] [--layouts contiguous channels_last] [--iters 2] [--warmup 1]
        [--device auto|cpu|cuda] [--threads N] [--json PATH]

Each configuration runs ``--warmup`` untimed batches, then ``--iters`` timed batches of
``batch`` windows of 21 frames x size² (random input, randomly initialised RGB I3D; weights do
not change the cost), under ``torch.inference_mode()``; bf16 means ``torch.autocast`` with
bfloat16. ``channels_last`` runs input and model in ``torch.channels_last_3d`` (what
``relate features`` uses); the ``vs contiguous`` column is the contiguous layout's median
over this one's, same size, batch and dtype. CUDA is synchronised around every timed batch.
Reported: median seconds per batch and windows/s = batch / median. At 224² the timed call
is ``extract_features`` (trunk + the [2, 7, 7] pool, exactly what ``relate features``
runs); at 112² Mixed_5c is only 4 x 4, too small for that pool, so the trunk up to
Mixed_5c is timed instead (the pool costs nothing).
Keep runs short on a shared CPU: a 224² window takes seconds there.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import platform
import statistics
import time

import torch
from tabulate import tabulate

from flow_extraction.features import WINDOW
from flow_extraction.i3d import InceptionI3d

LAYOUTS = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last_3d}


def run_once(model: InceptionI3d, x: torch.Tensor, size: int) -> torch.Tensor:
    if size >= 193:  # Mixed_5c is at least 7 x 7: the full feature path
        return model.extract_features(x)
    _, last = collections.deque(model.endpoints(x), maxlen=1)[0]
    return last


def bench(
    model: InceptionI3d,
    size: int,
    batch: int,
    dtype: str,
    layout: str,
    device: torch.device,
    iters: int,
    warmup: int,
) -> dict:
    gen = torch.Generator().manual_seed(0)
    memory_format = LAYOUTS[layout]
    model = model.to(memory_format=memory_format)
    x = (torch.rand(batch, 3, WINDOW, size, size, generator=gen) * 2 - 1).to(device)
    x = x.contiguous(memory_format=memory_format)
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16)
        if dtype == "bf16"
        else contextlib.nullcontext()
    )
    times = []
    with torch.inference_mode(), autocast:
        for step in range(warmup + iters):
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            run_once(model, x, size)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= warmup:
                times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {
        "size": size,
        "batch": batch,
        "dtype": dtype,
        "layout": layout,
        "iters": iters,
        "median_s_per_batch": median,
        "windows_per_s": batch / median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[112, 224])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--dtypes", nargs="+", choices=("fp32", "bf16"), default=["fp32", "bf16"])
    parser.add_argument(
        "--layouts", nargs="+", choices=tuple(LAYOUTS), default=["contiguous", "channels_last"]
    )
    parser.add_argument("--iters", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    model = InceptionI3d(3).eval().to(device)
    rows = [
        bench(model, size, batch, dtype, layout, device, args.iters, args.warmup)
        for size in args.sizes
        for batch in args.batch_sizes
        for dtype in args.dtypes
        for layout in args.layouts
    ]
    contiguous = {
        (r["size"], r["batch"], r["dtype"]): r["median_s_per_batch"]
        for r in rows
        if r["layout"] == "contiguous"
    }
    for r in rows:
        base = contiguous.get((r["size"], r["batch"], r["dtype"]))
        r["speedup_vs_contiguous"] = base / r["median_s_per_batch"] if base else None
    hardware = (
        torch.cuda.get_device_name(device)
        if use_cuda
        else (
            f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads"
        )
    )
    print(
        f"I3D windows of {WINDOW} frames on {device.type} ({hardware}), torch {torch.__version__}"
    )
    print(
        tabulate(
            [
                [
                    r["size"],
                    r["batch"],
                    r["dtype"],
                    r["layout"],
                    f"{r['median_s_per_batch']:.3f}",
                    f"{r['windows_per_s']:.2f}",
                    "-"
                    if r["speedup_vs_contiguous"] is None
                    else f"{r['speedup_vs_contiguous']:.2f}x",
                ]
                for r in rows
            ],
            headers=[
                "size",
                "batch",
                "dtype",
                "layout",
                "median s/batch",
                "windows/s",
                "vs contiguous",
            ],
            tablefmt="github",
        )
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "device": device.type,
                    "hardware": hardware,
                    "torch": torch.__version__,
                    "results": rows,
                },
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
