"""The four checks of tools/gpu_check.py: determinism, predict, latency and throughput.

Each returns a JSON-ready dict with ``ok``; the trainings, predictions and timings are
``relate`` subprocesses (:mod:`gpu_check_run`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from gpu_check_run import GpuMemoryPoller, run_concurrently, run_step, sha256, train_args


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
