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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = "relate-gpu-check"
SCHEMA_VERSION = 1
DEFAULT_OUT = "results/gpu_check/gpu_check.json"
CHECKS = ("determinism", "predict", "latency", "throughput")
TAIL_CHARS = 2000


# --- running `relate` -----------------------------------------------------------------------


def relate_command() -> list[str]:
    """The `relate` installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "relate"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("relate")
    if found is None:
        raise SystemExit(f"error: no `relate` beside {sys.executable} nor on PATH (make venv)")
    return [found]


def run_step(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``relate ARGS``: its command line, exit code, wall time and output tail."""
    command = relate_command() + args
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        rc = None
        out = _text(expired.stdout)
        err = _text(expired.stderr) + f"\n(timed out after {timeout:g} s)"
    return {
        "command": " ".join(command),
        "rc": rc,
        "wall_s": time.perf_counter() - start,
        "stdout_tail": out[-TAIL_CHARS:],
        "stderr_tail": err[-TAIL_CHARS:],
    }


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_args(data: Path, out: Path, device: str, epochs: int, seed: int = 0) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dataset",
        "synthetic",
        "--split",
        "1",
        "--segmenter",
        "mstcn",
        "--variant",
        "rgb",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--device",
        device,
    ]


# --- the four checks ------------------------------------------------------------------------


def check_determinism(work: Path, data: Path, device: str, timeout: float) -> dict[str, Any]:
    """(a) The same 2-epoch training twice: are the two model.pt files the same bytes?"""
    runs = []
    for name in ("a", "b"):
        step = run_step(train_args(data, work / "runs" / name, device, epochs=2), timeout)
        step["model_sha256"] = sha256(work / "runs" / name / "model.pt")
        runs.append(step)
    ran = all(run["rc"] == 0 and run["model_sha256"] for run in runs)
    identical = ran and runs[0]["model_sha256"] == runs[1]["model_sha256"]
    result: dict[str, Any] = {"epochs": 2, "runs": runs, "identical_bytes": identical}
    if ran and not identical:
        result["max_abs_weight_diff"] = max_weight_diff(
            work / "runs/a/model.pt", work / "runs/b/model.pt"
        )
    result["ok"] = bool(identical)
    return result


def max_weight_diff(first: Path, second: Path) -> float | None:
    """Largest absolute difference between two saved state dicts (None: not comparable)."""
    import torch

    def tensors(path: Path) -> dict[str, Any]:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if isinstance(state, dict) and isinstance(state.get("model"), dict):
            state = state["model"]
        if not isinstance(state, dict):
            return {}
        return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}

    a, b = tensors(first), tensors(second)
    if not a or a.keys() != b.keys():
        return None
    diffs = [float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].numel()]
    return max(diffs, default=0.0)


def check_predict(work: Path, data: Path, device: str, timeout: float) -> dict[str, Any]:
    """(b) Predict split 1 with run a on DEVICE and on the CPU; compare the probabilities."""
    run = work / "runs" / "a"
    steps = {}
    if not (run / "model.pt").is_file():  # (a) skipped: train the run to predict with
        steps["train"] = run_step(train_args(data, run, device, epochs=2), timeout)
    for where in dict.fromkeys((device, "cpu")):
        out = work / f"predict_{where}.npz"
        args = ["predict", "--run", str(run), "--data", str(data), "--split", "1"]
        steps[where] = run_step([*args, "--out", str(out), "--device", where], timeout)
    result: dict[str, Any] = {"runs": steps}
    ok = all(step["rc"] == 0 for step in steps.values())
    if ok:
        result.update(compare_predictions(work / f"predict_{device}.npz", work / "predict_cpu.npz"))
        ok = result["arrays"] > 0
    result["ok"] = ok
    return result


def compare_predictions(first: Path, second: Path) -> dict[str, Any]:
    import numpy as np

    with np.load(first) as a, np.load(second) as b:
        keys = sorted(k for k in a.files if not k.startswith("__"))
        diffs = [float(np.abs(a[k] - b[k]).max()) for k in keys if k in b.files and a[k].size]
        final = [k for k in keys if k.endswith("/final")]
        agree = [float((a[k].argmax(0) == b[k].argmax(0)).mean()) for k in final if k in b.files]
    return {
        "arrays": len(keys),
        "max_abs_prob_diff_vs_cpu": max(diffs) if diffs else None,
        "final_label_agreement_vs_cpu": min(agree) if agree else None,
    }


def check_latency(work: Path, device: str, args: argparse.Namespace) -> dict[str, Any]:
    """(c) `relate latency` on a synthetic clip, I3D and the models on DEVICE."""
    out = work / "latency.json"
    latency_args = [
        "latency",
        "--synthetic-frames",
        str(args.latency_frames),
        "--device",
        device,
        "--repeats",
        str(args.latency_repeats),
        "--warmup",
        str(args.latency_warmup),
        "--sample-pairs",
        str(args.latency_sample_pairs),
        "--out",
        str(out),
    ]
    if args.latency_sample_windows:
        latency_args += ["--sample-windows", str(args.latency_sample_windows)]
    step = run_step(latency_args, args.timeout)
    result: dict[str, Any] = {"run": step}
    if step["rc"] == 0 and out.is_file():
        report = json.loads(out.read_text())
        result["totals_median_s"] = {
            name: setup.get("total_median_s") for name, setup in report.get("setups", {}).items()
        }
        result["ratios"] = report.get("ratios")
        result["devices"] = sorted(
            {
                stage.get("device")
                for setup in report.get("setups", {}).values()
                for stage in setup.get("stages", [])
            }
        )
        result["extrapolated_measurements"] = report.get("extrapolated_measurements")
        result["report"] = report
    result["ok"] = step["rc"] == 0 and "totals_median_s" in result
    return result


class GpuMemoryPoller:
    """Samples the GPU's used memory (nvidia-smi, MiB) every ``interval`` s in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.available = shutil.which("nvidia-smi") is not None

    def _loop(self) -> None:
        while not self._stop.is_set():
            used = gpu_memory_used_mib()
            if used is not None:
                self.samples.append(used)
            self._stop.wait(self.interval)

    def __enter__(self) -> GpuMemoryPoller:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join(timeout=5)

    @property
    def peak_mib(self) -> int | None:
        return max(self.samples) if self.samples else None


def gpu_memory_used_mib() -> int | None:
    """Used memory of the first visible GPU per nvidia-smi (MiB), None without it."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return int(out.split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def run_concurrently(jobs: list[list[str]], timeout: float) -> dict[str, Any]:
    """Start every ``relate`` job at once, wait for all; wall time and each one's exit code."""
    base = relate_command()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(base + job, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for job in jobs
    ]
    codes, tails = [], []
    for proc in procs:
        remaining = max(1.0, timeout - (time.perf_counter() - start))
        try:
            _, err = proc.communicate(timeout=remaining)
            codes.append(proc.returncode)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            codes.append(None)
        tails.append((err or "")[-TAIL_CHARS:])
    return {"wall_s": time.perf_counter() - start, "rcs": codes, "stderr_tails": tails}


def check_throughput(work: Path, data: Path, device: str, args: argparse.Namespace) -> dict:
    """(d) 1 training alone, then N identical ones started together on the same device."""
    epochs = args.throughput_epochs
    rounds = []
    for jobs in (1, args.jobs):
        runs = [
            train_args(data, work / "throughput" / f"n{jobs}" / f"job{i}", device, epochs, seed=i)
            for i in range(jobs)
        ]
        with GpuMemoryPoller() as poller:
            done = run_concurrently(runs, args.timeout)
        rounds.append(
            {
                "jobs": jobs,
                "epochs": epochs,
                "wall_s": done["wall_s"],
                "rcs": done["rcs"],
                "stderr_tails": [t for t, rc in zip(done["stderr_tails"], done["rcs"]) if rc],
                "peak_gpu_memory_used_mib": poller.peak_mib,
            }
        )
    return summarize_throughput(rounds, baseline_mib=args.baseline_gpu_mib)


def summarize_throughput(rounds: list[dict[str, Any]], baseline_mib: int | None) -> dict:
    """Throughput (trainings/s) per round; the N-job round's gain over 1 job; memory per job."""
    for entry in rounds:
        entry["ok"] = all(rc == 0 for rc in entry["rcs"])
        entry["trainings_per_s"] = entry["jobs"] / entry["wall_s"] if entry["wall_s"] > 0 else None
    solo, shared = rounds[0], rounds[-1]
    result: dict[str, Any] = {"rounds": rounds, "jobs": shared["jobs"]}
    result["ok"] = all(entry["ok"] for entry in rounds)
    if result["ok"] and solo["trainings_per_s"] and shared["trainings_per_s"]:
        result["speedup_vs_one_job"] = shared["trainings_per_s"] / solo["trainings_per_s"]
    peak = shared.get("peak_gpu_memory_used_mib")
    if peak is not None and baseline_mib is not None:
        result["gpu_memory_per_job_mib"] = max(0, peak - baseline_mib) / shared["jobs"]
    return result


# --- environment and report -----------------------------------------------------------------


def environment(device: str) -> dict[str, Any]:
    """Versions, host and (on CUDA) the GPU: name, memory, driver, CUDA and cuDNN."""
    import numpy
    import torch

    env: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "versions": {
            "torch": torch.__version__,
            "torch_cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version()
            if torch.backends.cudnn.is_available()
            else None,
            "numpy": numpy.__version__,
            "relate-repro": package_version("relate-repro"),
            "snakemake": package_version("snakemake"),
            "opencv": module_version("cv2"),
        },
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env["gpu"] = {
            "name": torch.cuda.get_device_name(0),
            "count": torch.cuda.device_count(),
            "memory_total_mib": props.total_memory // 2**20,
            "capability": f"{props.major}.{props.minor}",
            "driver": nvidia_smi_field("driver_version"),
        }
    else:
        env["gpu"] = None
    return env


def module_version(name: str) -> str | None:
    try:
        return getattr(__import__(name), "__version__", None)
    except ImportError:
        return None


def package_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def nvidia_smi_field(field: str) -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--query-gpu={field}", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return out.splitlines()[0].strip() or None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def assemble_report(
    results: dict[str, dict[str, Any]],
    env: dict[str, Any],
    settings: dict[str, Any],
    started: str,
    wall_s: float,
) -> dict[str, Any]:
    """The JSON: every check's result (a missing one counts as failed), a one-line summary
    of each, and ``ok`` when all of them passed."""
    checks = {name: results.get(name, {"ok": False, "error": "not run"}) for name in CHECKS}
    summary = {name: summarize(name, check) for name, check in checks.items()}
    gpu = env.get("gpu") or {}
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_utc": started,
        "wall_s": wall_s,
        "device": settings.get("device"),
        "gpu_name": gpu.get("name"),
        "ok": all(bool(check.get("ok")) for check in checks.values()),
        "summary": summary,
        "settings": settings,
        "environment": env,
        "checks": checks,
    }


def summarize(name: str, check: dict[str, Any]) -> str:
    """One line per check for the console and the JSON's ``summary``."""
    status = "ok" if check.get("ok") else "FAILED"
    if check.get("skipped"):
        return "skipped"
    if "error" in check:
        return f"{status}: {check['error']}"
    if name == "determinism":
        same = "identical" if check.get("identical_bytes") else "different"
        diff = check.get("max_abs_weight_diff")
        extra = f" (max |weight diff| {diff:.3g})" if diff is not None else ""
        return f"{status}: two {check.get('epochs')}-epoch trainings, model.pt bytes {same}{extra}"
    if name == "predict":
        diff = check.get("max_abs_prob_diff_vs_cpu")
        agree = check.get("final_label_agreement_vs_cpu")
        if diff is None:
            return f"{status}: predict failed"
        return (
            f"{status}: {check.get('arrays')} arrays; vs CPU: max |prob diff| {diff:.3g}, "
            f"final labels agree on {100 * (agree or 0):.2f} % of frames (worst video)"
        )
    if name == "latency":
        totals = check.get("totals_median_s") or {}
        if not totals:
            return f"{status}: relate latency failed"
        parts = ", ".join(f"{setup} {seconds:.3g} s" for setup, seconds in totals.items())
        ratio = (check.get("ratios") or {}).get("two_stream_over_relate")
        tail = f"; two_stream/relate {ratio:.3g}" if ratio else ""
        return f"{status}: totals {parts}{tail}"
    if name == "throughput":
        rounds = check.get("rounds") or []
        parts = ", ".join(
            f"{r['jobs']} job(s) {r['wall_s']:.1f} s ({r.get('trainings_per_s') or 0:.3g}/s)"
            for r in rounds
        )
        speedup = check.get("speedup_vs_one_job")
        tail = f"; throughput x{speedup:.2f} with {check.get('jobs')} at once" if speedup else ""
        memory = check.get("gpu_memory_per_job_mib")
        tail += f"; ~{memory:.0f} MiB GPU memory per job" if memory is not None else ""
        return f"{status}: {parts}{tail}"
    return status


def write_json(path: Path, report: dict[str, Any]) -> None:
    """Atomic: a temporary file beside PATH, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(report, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
    os.replace(tmp, path)


# --- main -----------------------------------------------------------------------------------


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
