"""GPU sharing (the `gpu` slot resource, docs/cluster.md) and tools/gpu_check.py.

No GPU is needed: the resource arithmetic is read from Snakemake dry runs, the profile is
rendered as Snakemake renders it (YTE), the check's no-CUDA path runs for real and its JSON
is assembled from fake results.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

BIN = Path(sys.executable).parent
SMOKE = REPO_ROOT / "config/smoke.yaml"
PROFILES = REPO_ROOT / "workflow/profiles"
SHARED_RULES = {"train", "train_bridge", "predict"}
WHOLE_DEVICE_RULES = {"latency"}  # and features (not in the smoke DAG)


def load_gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO_ROOT / "tools/gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module
    spec.loader.exec_module(module)
    return module


gpu_check = load_gpu_check()


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("snakemake", path=str(BIN)) is None:
        pytest.skip("snakemake is not installed beside this Python")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("RELATE_JOBS_PER_GPU", None)
    return subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO_ROOT / "Snakefile")]
        + ["--directory", str(workdir), "--dry-run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def cuda_config(tmp_path: Path) -> Path:
    """The smoke config with every device (training and latency) set to cuda."""
    text = SMOKE.read_text()
    assert text.count("device: cpu") == 2
    path = tmp_path / "smoke_cuda.yaml"
    path.write_text(text.replace("device: cpu", "device: cuda"))
    return path


def gpu_requests(stdout: str) -> dict[str, set[int]]:
    """rule -> the gpu values its planned jobs request (0 when a job names none)."""
    requests: dict[str, set[int]] = {}
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:\n)", stdout):
        rule = re.match(r"\s*(?:local)?rule (\w+):\n", block)
        resources = re.search(r"^\s*resources: (.*)$", block, re.MULTILINE)
        if rule and resources:
            gpu = re.search(r"(?:^|, )gpu=(\d+)", resources.group(1))
            requests.setdefault(rule.group(1), set()).add(int(gpu.group(1)) if gpu else 0)
    return requests


def most_at_once(requests: dict[str, set[int]], slots: int, rule: str) -> int:
    """How many jobs of RULE fit the slot limit at once (Snakemake's resource check)."""
    (need,) = requests[rule]
    return slots // need if need else sys.maxsize


def test_n_small_jobs_share_one_gpu_whole_device_jobs_take_it_all(tmp_path: Path) -> None:
    # one GPU shared by 3 jobs: --resources gpu=3 jobs_per_gpu=3 (the local profile's values
    # on a 1-GPU machine with RELATE_JOBS_PER_GPU=3)
    config = cuda_config(tmp_path)
    result = snakemake(
        tmp_path,
        "--profile",
        str(PROFILES / "local"),
        "--configfile",
        str(config),
        "--resources",
        "gpu=3",
        "jobs_per_gpu=3",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    requests = gpu_requests(result.stdout)
    assert SHARED_RULES | WHOLE_DEVICE_RULES <= set(requests), requests
    for rule in SHARED_RULES:
        assert requests[rule] == {1}, (rule, requests[rule])
        assert most_at_once(requests, 3, rule) == 3
    for rule in WHOLE_DEVICE_RULES:
        assert requests[rule] == {3}, (rule, requests[rule])
        assert most_at_once(requests, 3, rule) == 1
    # CPU-only rules ask for no slot
    assert requests["evaluate"] == {0} and requests["table"] == {0}


def test_default_and_slurm_keep_one_gpu_per_job(tmp_path: Path) -> None:
    config = cuda_config(tmp_path)
    for args in (
        ("--resources", "gpu=1"),  # the local profile on a 1-GPU machine, N = 1
        ("--profile", str(PROFILES / "slurm")),  # sbatch --gpus=1 for every GPU job
    ):
        result = snakemake(tmp_path, "--configfile", str(config), *args)
        assert result.returncode == 0, (args, result.stderr[-3000:])
        requests = gpu_requests(result.stdout)
        for rule in SHARED_RULES | WHOLE_DEVICE_RULES:
            assert requests[rule] == {1}, (args, rule, requests[rule])


def test_jobs_per_gpu_without_a_slot_limit_is_one_error_line(tmp_path: Path) -> None:
    # Under the SLURM profile (no global limits) N > 1 would give features/latency --gpus=N.
    result = snakemake(
        tmp_path, "--configfile", str(cuda_config(tmp_path)), "--resources", "jobs_per_gpu=3"
    )
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "gpu=<GPUs x 3> jobs_per_gpu=3" in errors[0], result.stderr


@pytest.mark.parametrize("env_value, per_gpu", [(None, 1), ("4", 4)])
def test_local_profile_counts_slots(monkeypatch, env_value, per_gpu) -> None:
    yte = pytest.importorskip("yte")
    if env_value is None:
        monkeypatch.delenv("RELATE_JOBS_PER_GPU", raising=False)
    else:
        monkeypatch.setenv("RELATE_JOBS_PER_GPU", env_value)
    with open(PROFILES / "local/config.yaml") as handle:
        profile = yte.process_yaml(handle, require_use_yte=True)
    gpus = len(list(Path("/dev").glob("nvidia[0-9]*")))
    assert profile["resources"] == {"gpu": gpus * per_gpu, "jobs_per_gpu": per_gpu}
    # the SLURM profile sets no global limits: every GPU job stays its own sbatch --gpus=1
    slurm = yaml.safe_load((PROFILES / "slurm/config.yaml").read_text())
    assert "resources" not in slurm and "jobs_per_gpu" not in json.dumps(slurm)


# --- tools/gpu_check.py -----------------------------------------------------------------------


def test_gpu_check_without_cuda_says_so_in_one_line_and_exits_0(tmp_path: Path) -> None:
    usable, _ = gpu_check.cuda_status()
    if usable:
        pytest.skip("this machine has CUDA: `make gpu-check` runs the real check")
    out = tmp_path / "gpu_check.json"
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools/gpu_check.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu-check: no CUDA device here"), lines
    assert not out.exists()


def fake_results(identical: bool = True) -> dict:
    return {
        "determinism": {
            "epochs": 2,
            "runs": [{"rc": 0, "model_sha256": "a" * 64}, {"rc": 0, "model_sha256": "a" * 64}],
            "identical_bytes": identical,
            **({} if identical else {"max_abs_weight_diff": 3e-7}),
            "ok": identical,
        },
        "predict": {
            "runs": {"cuda": {"rc": 0}, "cpu": {"rc": 0}},
            "arrays": 15,
            "max_abs_prob_diff_vs_cpu": 2.5e-6,
            "final_label_agreement_vs_cpu": 0.9995,
            "ok": True,
        },
        "latency": {
            "run": {"rc": 0},
            "totals_median_s": {"rgb": 1.5, "two_stream": 80.0, "relate": 1.6},
            "ratios": {"two_stream_over_relate": 50.0},
            "ok": True,
        },
        "throughput": gpu_check.summarize_throughput(
            [
                {
                    "jobs": 1,
                    "epochs": 5,
                    "wall_s": 20.0,
                    "rcs": [0],
                    "peak_gpu_memory_used_mib": 900,
                },
                {
                    "jobs": 4,
                    "epochs": 5,
                    "wall_s": 32.0,
                    "rcs": [0, 0, 0, 0],
                    "peak_gpu_memory_used_mib": 2500,
                },
            ],
            baseline_mib=500,
        ),
    }


ENV = {"versions": {"torch": "2.x"}, "gpu": {"name": "NVIDIA H100 80GB HBM3"}}


def test_report_assembly_from_fake_results(tmp_path: Path) -> None:
    results = fake_results()
    throughput = results["throughput"]
    assert throughput["ok"] and throughput["jobs"] == 4
    assert throughput["rounds"][0]["trainings_per_s"] == pytest.approx(1 / 20)
    assert throughput["speedup_vs_one_job"] == pytest.approx((4 / 32) / (1 / 20))  # 2.5
    assert throughput["gpu_memory_per_job_mib"] == pytest.approx((2500 - 500) / 4)

    report = gpu_check.assemble_report(results, ENV, {"device": "cuda"}, "2026-01-01", 99.0)
    assert report["schema"] == "relate-gpu-check" and report["schema_version"] == 1
    assert report["ok"] is True and report["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert list(report["checks"]) == list(gpu_check.CHECKS)
    assert report["environment"]["versions"] == {"torch": "2.x"}
    summary = report["summary"]
    assert summary["determinism"] == "ok: two 2-epoch trainings, model.pt bytes identical"
    assert "99.95 %" in summary["predict"] and "2.5e-06" in summary["predict"]
    assert "two_stream/relate 50" in summary["latency"]
    assert "x2.50 with 4 at once" in summary["throughput"] and "~500 MiB" in summary["throughput"]

    out = tmp_path / "sub" / "gpu_check.json"
    gpu_check.write_json(out, report)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert [p.name for p in out.parent.iterdir()] == ["gpu_check.json"]


def test_report_fails_on_any_failed_or_missing_check() -> None:
    results = fake_results(identical=False)
    report = gpu_check.assemble_report(results, ENV, {}, "t", 1.0)
    assert report["ok"] is False
    assert (
        report["summary"]["determinism"].startswith("FAILED: ")
        and "3e-07" in (report["summary"]["determinism"])
    )
    partial = fake_results()
    del partial["latency"]
    report = gpu_check.assemble_report(partial, ENV, {}, "t", 1.0)
    assert report["ok"] is False and report["summary"]["latency"] == "FAILED: not run"
    failed = fake_results()
    failed["throughput"] = gpu_check.summarize_throughput(
        [
            {"jobs": 1, "epochs": 1, "wall_s": 5.0, "rcs": [0]},
            {"jobs": 2, "epochs": 1, "wall_s": 6.0, "rcs": [0, 1]},
        ],
        baseline_mib=None,
    )
    report = gpu_check.assemble_report(failed, ENV, {}, "t", 1.0)
    assert report["ok"] is False and "speedup_vs_one_job" not in failed["throughput"]
    skipped = fake_results()
    skipped["latency"] = {"ok": True, "skipped": True}
    report = gpu_check.assemble_report(skipped, ENV, {}, "t", 1.0)
    assert report["ok"] is True and report["summary"]["latency"] == "skipped"
