"""``relate plan``: jobs, CPU-hours and GPU-hours per Snakemake rule of a config (docs/plan.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from relate.errors import DataError, RelateError


def register(subparsers: argparse._SubParsersAction) -> None:
    from relate.tools.plan.model import DEFAULT_GPU_SPEEDUP

    parser = subparsers.add_parser(
        "plan",
        help="jobs and estimated CPU-/GPU-hours per workflow rule of a config (cost model)",
        description=(
            "Plan every job of a workflow config with a Snakemake dry run (--forceall, in an "
            "empty temporary folder) and cost each from per-frame seconds measured by a "
            "calibration (frames per video and videos per split from the dataset statistics, "
            "epochs from the official recipes or the config). Prints one row per rule and the "
            "total. GPU-hours of a CUDA config are the calibration's CPU seconds divided by "
            "--gpu-speedup (an assumption) unless the calibration was measured on CUDA."
        ),
    )
    parser.add_argument("--configfile", type=Path, help="workflow config (e.g. config/config.yaml)")
    parser.add_argument(
        "--calibration",
        type=Path,
        metavar="FILE.json",
        help="calibration JSON (default: the shipped one, measured on the project's 2-core CPU VM)",
    )
    parser.add_argument(
        "--gpu-speedup",
        type=float,
        default=DEFAULT_GPU_SPEEDUP,
        metavar="X",
        help=f"assumed GPU speed-up over the CPU calibration for GPU jobs (default "
        f"{DEFAULT_GPU_SPEEDUP:g}; an assumption, not a measurement; ignored with a CUDA "
        "calibration)",
    )
    parser.add_argument(
        "--calibrate",
        type=Path,
        metavar="OUT.json",
        help="first measure this machine and write a calibration here (minutes), then plan "
        "with it if --configfile is given",
    )
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda"), help="--calibrate on this device"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="--calibrate with this many torch threads (1)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write the plan here")
    parser.set_defaults(handler=run)


def _load_config(path: Path) -> dict:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "no such config file") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a config file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise DataError(path, f"invalid YAML{where}") from None
    if not isinstance(data, dict):
        raise DataError(path, "a config must be a YAML mapping")
    return data


def run(args: argparse.Namespace) -> int:
    from relate.tools.plan.calibration import load_calibration, write_calibration
    from relate.tools.plan.dag import dry_run
    from relate.tools.plan.measure import measure
    from relate.tools.plan.model import plan_costs, render

    if args.calibrate is None and args.configfile is None:
        raise RelateError("give --configfile (and/or --calibrate OUT.json)")
    if not args.gpu_speedup > 0:
        raise RelateError(f"--gpu-speedup must be > 0, got {args.gpu_speedup}")
    calibration_path = args.calibration
    if args.calibrate is not None:
        data = measure(
            device=args.device,
            threads=args.threads,
            log=lambda text: print(text, file=sys.stderr, flush=True),
        )
        write_calibration(data, args.calibrate)
        print(f"wrote {args.calibrate}", file=sys.stderr)
        calibration_path = args.calibrate
        if args.configfile is None:
            return 0
    calibration = load_calibration(calibration_path)
    config = _load_config(args.configfile)
    dag = dry_run(args.configfile)
    text = render(plan_costs(dag, config, calibration, args.gpu_speedup), str(args.configfile))
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0
