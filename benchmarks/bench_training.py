"""Training-step time and peak memory per segmenter x input variant x video length (CPU).

Usage::

    .venv/bin/python benchmarks/bench_training.py [--segmenters mstcn,asformer,fact]
        [--variants rgb,flow,two_stream] [--sizes gtea,50salads] [--steps 5] [--warmup 2]
        [--threads N] [--json FILE]

Each configuration runs in a fresh subprocess (so the memory numbers of one do not leak
into the next). The worker builds the segmenter with the official settings of the dataset
(``relate.segmenters.build`` / ``defaults``), makes one random video of the size's length
(features >= 0, piecewise-constant labels), and times ``--warmup`` + ``--steps`` optimiser
steps, each: zero_grad, forward, the official loss, backward, gradient clipping where the
recipe has it, Adam step. Reported: the median and the fastest step, the current RSS just
before the first step, the peak RSS (``ru_maxrss``) after the last, and their difference
(what training one video of that length adds on top of the model, data and libraries).

Sizes: ``gtea`` is a GTEA-length video (T = 1100 frames, 11 classes); ``50salads`` is a
50Salads video after the x2 subsampling (T = 6000, 19 classes). Segmenters whose module is
not present are skipped with a message.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZES = {"gtea": (1100, 11), "50salads": (6000, 19)}
"""Size name -> (frames T, classes C); the name is also the dataset whose settings are used."""
SEGMENTERS = ("mstcn", "asformer", "fact")
VARIANTS = ("rgb", "flow", "two_stream")


def current_rss_mib() -> float:
    """Resident set size now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mib()


def peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def worker(args: argparse.Namespace) -> dict[str, object]:
    """One configuration, in this (fresh) process."""
    import numpy as np
    import torch

    from relate import segmenters
    from relate.data.variants import get_variant

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    frames, n_classes = SIZES[args.size]
    variant = get_variant(args.variant)
    model = segmenters.build(args.segmenter, variant.in_dim, n_classes, args.size)
    recipe = segmenters.defaults(args.segmenter, args.size)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((1, variant.in_dim, frames), dtype=np.float32))  # (1, D, T)
    cuts = np.sort(rng.choice(np.arange(1, frames), size=20, replace=False))
    labels = np.repeat(rng.integers(0, n_classes, size=21), np.diff(np.r_[0, cuts, frames]))
    target = torch.from_numpy(labels).unsqueeze(0)  # (1, T)
    mask = torch.ones(1, 1, frames)  # (1, 1, T)
    model.train()

    def step() -> float:
        began = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        model.loss(model(x, mask), target, mask)["total"].backward()
        if recipe.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_grad_norm)
        optimizer.step()
        return time.perf_counter() - began

    before = current_rss_mib()
    for _ in range(args.warmup):
        step()
    times = [step() for _ in range(args.steps)]
    peak = peak_rss_mib()
    return {
        "segmenter": args.segmenter,
        "variant": args.variant,
        "size": args.size,
        "frames": frames,
        "params": sum(p.numel() for p in model.parameters()),
        "step_median_s": statistics.median(times),
        "step_min_s": min(times),
        "rss_before_mib": before,
        "peak_rss_mib": peak,
        "training_extra_mib": peak - before,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }


def run_one(segmenter: str, variant: str, size: str, args: argparse.Namespace) -> dict[str, object]:
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--segmenter-one",
        segmenter,
        "--variant-one",
        variant,
        "--size-one",
        size,
        "--steps",
        str(args.steps),
        "--warmup",
        str(args.warmup),
        "--threads",
        str(args.threads),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"segmenter": segmenter, "variant": variant, "size": size, "error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict[str, object]]) -> str:
    from tabulate import tabulate

    body = []
    for r in rows:
        if "error" in r:
            body.append(
                [
                    r["segmenter"],
                    r["variant"],
                    r["size"],
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"error: {r['error']}",
                ]
            )
            continue
        body.append(
            [
                r["segmenter"],
                r["variant"],
                f"{r['size']} (T={r['frames']})",
                f"{r['params']:,}",
                f"{1000 * r['step_median_s']:.0f}",
                f"{1000 * r['step_min_s']:.0f}",
                f"{r['rss_before_mib']:.0f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{r['training_extra_mib']:.0f}",
            ]
        )
    headers = [
        "segmenter",
        "variant",
        "video",
        "params",
        "step median ms",
        "step min ms",
        "RSS before MiB",
        "peak RSS MiB",
        "training extra MiB",
    ]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--steps", type=int, default=5, help="timed steps (after warm-up)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--segmenter-one", help=argparse.SUPPRESS)
    parser.add_argument("--variant-one", help=argparse.SUPPRESS)
    parser.add_argument("--size-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.segmenter, args.variant, args.size = (
            args.segmenter_one,
            args.variant_one,
            args.size_one,
        )
        print(json.dumps(worker(args)))
        return 0

    rows = []
    for segmenter in args.segmenters.split(","):
        if importlib.util.find_spec(f"relate.segmenters.{segmenter}") is None:
            print(
                f"skipping {segmenter}: relate/segmenters/{segmenter}.py is not present",
                file=sys.stderr,
            )
            continue
        for size in args.sizes.split(","):
            for variant in args.variants.split(","):
                row = run_one(segmenter, variant, size, args)
                rows.append(row)
                print(
                    f"{segmenter} {variant} {size}: "
                    + (row.get("error") or f"{1000 * row['step_median_s']:.0f} ms/step"),
                    file=sys.stderr,
                )
    print(
        f"CPU training step: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"median of {args.steps} steps after {args.warmup} warm-up; one fresh process per row"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
