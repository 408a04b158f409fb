"""The GPU check's JSON (tools/gpu_check.py): environment, one-line summaries, atomic write."""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCHEMA = "relate-gpu-check"
SCHEMA_VERSION = 1
CHECKS = ("determinism", "predict", "latency", "throughput")


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
