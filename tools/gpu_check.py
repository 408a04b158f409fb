"""GPU readiness check (`make gpu-check`): one script, one JSON.

On a CUDA machine, against a tiny synthetic dataset (`relate synth`), it

(a) trains the same run twice for 2 epochs with ``--device cuda`` and compares the two
    model.pt files byte for byte (and, when they differ, the largest weight difference);
(b) predicts the test split with the first run on CUDA and on the CPU and compares the
    probabilities;
(c) times ``relate latency --device cuda`` (I3D and the segmenters on the GPU) on a
    synthetic clip;
(d) times 1 training alone and N identical trainings started together on the one GPU:
    throughput (trainings per second) of each and the GPU memory the N used, the numbers
    behind the local profile's jobs-per-GPU setting (docs/cluster.md).

It writes every result, the versions and the GPU's name to one JSON (its path is printed
last) and exits 0 when every check passed, 1 otherwise. Without CUDA it prints one line
and exits 0: there is nothing to check. ``--device cpu`` rehearses the whole script on the
CPU (for testing the script itself; the JSON then says ``"device": "cpu"``).

    .venv/bin/python tools/gpu_check.py [--out FILE.json] [--jobs N] [--keep DIR]

The parts live beside this script: ``gpu_check_run`` (running ``relate``, GPU memory),
``gpu_check_checks`` (the four checks) and ``gpu_check_report`` (the JSON).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # the sibling modules, also when imported by path (the tests)
    sys.path.insert(0, HERE)

from gpu_check_checks import (  # noqa: E402
    check_determinism,
    check_latency,
    check_predict,
    check_throughput,
    summarize_throughput,
)
from gpu_check_report import (  # noqa: E402
    CHECKS,
    assemble_report,
    environment,
    summarize,
    write_json,
)
from gpu_check_run import gpu_memory_used_mib, run_step  # noqa: E402

__all__ = ["CHECKS", "assemble_report", "cuda_status", "main", "summarize_throughput", "write_json"]

DEFAULT_OUT = "results/gpu_check/gpu_check.json"


def cuda_status() -> tuple[bool, str]:
    """(CUDA usable, why not) without failing on a torch build without CUDA."""
    try:
        import torch
    except ImportError as error:
        return False, f"torch cannot be imported ({error})"
    if not torch.cuda.is_available():
        build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        return False, f"torch {torch.__version__}, {build}"
    return True, ""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"JSON (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--jobs", type=int, default=4, help="trainings run together in (d) (default: 4)"
    )
    parser.add_argument(
        "--device",
        choices=("cuda", "cpu"),
        default="cuda",
        help="cuda (default; pick the GPU with CUDA_VISIBLE_DEVICES); cpu rehearses the script",
    )
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (default: a temp)")
    parser.add_argument("--videos", type=int, default=8, help="synthetic videos (default: 8)")
    parser.add_argument("--throughput-epochs", type=int, default=5, help="(d) (default: 5)")
    parser.add_argument("--latency-frames", type=int, default=550, help="(c) (default: 550)")
    parser.add_argument("--latency-repeats", type=int, default=3, help="(c) (default: 3)")
    parser.add_argument("--latency-warmup", type=int, default=1, help="(c) (default: 1)")
    parser.add_argument(
        "--latency-sample-pairs",
        type=int,
        default=32,
        help="(c) TV-L1 (always CPU) on K pairs, extrapolated (default: 32)",
    )
    parser.add_argument(
        "--latency-sample-windows",
        type=int,
        default=0,
        help="(c) I3D on K windows, extrapolated (default: 0, every window)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="per command, seconds (default: 1800)"
    )
    parser.add_argument("--skip", default="", help=f"comma-separated checks to skip: {CHECKS}")
    args = parser.parse_args(argv)
    if args.jobs < 2:
        parser.error("--jobs must be >= 2 (1 job alone is always the baseline)")
    unknown = {name for name in args.skip.split(",") if name} - set(CHECKS)
    if unknown:
        parser.error(f"--skip: unknown check(s) {sorted(unknown)}; choose from {CHECKS}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cuda":
        usable, why = cuda_status()
        if not usable:
            print(f"gpu-check: no CUDA device here ({why}); nothing checked, exit 0")
            return 0
    started = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    args.baseline_gpu_mib = gpu_memory_used_mib() if args.device == "cuda" else None
    skip = {name for name in args.skip.split(",") if name}
    keep = Path(args.keep) if args.keep else None
    with tempfile.TemporaryDirectory(prefix="relate-gpu-check-") as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = work / "data"
        results: dict[str, dict[str, Any]] = {}
        synth_args = ["synth", "--out", str(data), "--videos", str(args.videos)]
        synth = run_step(
            [*synth_args, "--min-frames", "300", "--max-frames", "600", "--splits", "2"],
            args.timeout,
        )
        if synth["rc"] != 0:
            error = f"relate synth failed (rc {synth['rc']}): {synth['stderr_tail'][-300:]}"
            results = {name: {"ok": False, "error": error} for name in CHECKS}
        else:
            plan = {
                "determinism": lambda: check_determinism(work, data, args.device, args.timeout),
                "predict": lambda: check_predict(work, data, args.device, args.timeout),
                "latency": lambda: check_latency(work, args.device, args),
                "throughput": lambda: check_throughput(work, data, args.device, args),
            }
            for name, check in plan.items():
                if name in skip:
                    results[name] = {"ok": True, "skipped": True}
                    continue
                print(f"gpu-check: {name} ...", flush=True)
                results[name] = check()
                print(f"gpu-check: {name}: {summarize(name, results[name])}", flush=True)
        settings = {k: v for k, v in vars(args).items() if k != "baseline_gpu_mib"}
        settings["baseline_gpu_memory_used_mib"] = args.baseline_gpu_mib
        settings["synth"] = synth
        report = assemble_report(
            results, environment(args.device), settings, started, time.perf_counter() - clock
        )
    out = Path(args.out)
    write_json(out, report)
    print(f"gpu-check: {'all checks passed' if report['ok'] else 'SOME CHECKS FAILED'}")
    print(out.resolve())
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
