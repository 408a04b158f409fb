"""``relate plan``: the cost model's arithmetic, job counts against Snakemake, clean errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from relate.cli import main
from relate.tools.plan.calibration import FORMAT, calibration_from_dict, load_calibration
from relate.tools.plan.dag import Dag, Job, parse_dry_run
from relate.tools.plan.model import job_seconds, plan_costs, render, train_epochs
from relate.tools.plan.stats import dataset_stats

REPO_ROOT = Path(__file__).resolve().parents[1]
SMOKE = REPO_ROOT / "config" / "smoke.yaml"
SNAKEMAKE = Path(sys.executable).parent / "snakemake"


def fake_calibration(device: str = "cpu") -> dict:
    """Round numbers: training 1 ms/frame at width 1024, 2 ms at 2048; forward a tenth."""
    return {
        "format": FORMAT,
        "machine": {"name": "fake", "cpu_model": "test", "cpu_count": 1, "device": device},
        "torch": "0",
        "threads": 1,
        "created": "2026-01-01",
        "frames": 100,
        "video_size": 224,
        "train_s_per_frame": {"mstcn": {"1024": 1e-3, "2048": 2e-3}},
        "forward_s_per_frame": {"mstcn": {"1024": 1e-4, "2048": 2e-4}},
        "bridge_train_s_per_frame": 1e-5,
        "tvl1_s_per_pair": 0.5,
        "i3d_s_per_window": 1.0,
        "job_overhead_s": 2.0,
    }


def train_job(run: str, dataset: str = "gtea", split: str = "1", gpu: bool = False) -> Job:
    wildcards = {"dataset": dataset, "split": split, "segmenter": "mstcn", "run": run, "seed": "0"}
    return Job("train", wildcards, {"gpu": "1"} if gpu else {})


def test_cost_model_arithmetic():
    cal = calibration_from_dict(fake_calibration())
    gtea = dataset_stats("gtea")
    frames = 21 * gtea.mean_frames  # split 1: 21 train videos, sample rate 1
    assert gtea.frames("train", 1) == pytest.approx(frames)
    config = {"epochs": 2, "bridge_epochs": 3}
    assert job_seconds(train_job("rgb"), config, cal) == pytest.approx(2 + 2 * frames * 1e-3)
    assert job_seconds(train_job("two_stream"), config, cal) == pytest.approx(2 + 2 * frames * 2e-3)
    # students: training + the teacher's forward; RELATE: 3 branches + the teacher's forward
    assert job_seconds(train_job("kd"), config, cal) == pytest.approx(2 + 2 * frames * 1.1e-3)
    assert job_seconds(train_job("relate"), config, cal) == pytest.approx(2 + 2 * frames * 3.1e-3)
    bridge = Job("train_bridge", {"dataset": "gtea", "split": "1", "seed": "0"})
    assert job_seconds(bridge, config, cal) == pytest.approx(2 + 3 * frames * 1e-5)
    predict = Job(
        "predict",
        {"dataset": "gtea", "split": "1", "segmenter": "mstcn", "run": "relate", "seed": "0"},
    )
    assert job_seconds(predict, config, cal) == pytest.approx(2 + 7 * gtea.mean_frames * 3e-4)
    # 50Salads trains on every 2nd frame
    salads = dataset_stats("50salads")
    assert job_seconds(train_job("rgb", "50salads"), config, cal) == pytest.approx(
        2 + 2 * 40 * salads.mean_frames / 2 * 1e-3
    )
    assert job_seconds(Job("table", {}), config, cal) == 2.0


def test_official_epochs():
    official = {"epochs": None}
    assert train_epochs(official, "gtea", "mstcn", "rgb") == 50  # MS-TCN recipe
    assert train_epochs(official, "gtea", "mstcn", "relate") == 100  # the release's schedule
    assert train_epochs(official, "gtea", "mstcn", "teacher-release") == 100
    assert train_epochs(official, "gtea", "fact", "relate") == 400  # FACT's own recipe
    assert train_epochs({"epochs": 3}, "gtea", "fact", "relate") == 3


def test_plan_totals_and_gpu_assumption():
    config = {"epochs": 1}
    dag = Dag(
        {"train": 2, "table": 1}, [train_job("rgb", gpu=True), train_job("rgb"), Job("table", {})]
    )
    plan = plan_costs(dag, config, calibration_from_dict(fake_calibration()), gpu_speedup=4)
    compute = 21 * dataset_stats("gtea").mean_frames * 1e-3
    train = plan.rows[0]
    assert (train.rule, train.jobs) == ("train", 2)
    assert train.cpu_hours == pytest.approx((2 + compute) / 3600)
    assert train.gpu_hours == pytest.approx((2 + compute / 4) / 3600)  # start-up not sped up
    assert plan.total.jobs == 3
    assert plan.total.cpu_hours == pytest.approx((2 + compute + 2) / 3600)
    text = render(plan, "x.yaml")
    assert "ASSUMED" in text and "fake" in text
    cuda = plan_costs(dag, config, calibration_from_dict(fake_calibration("cuda")), gpu_speedup=4)
    assert cuda.rows[0].gpu_hours == pytest.approx((2 + compute) / 3600)  # measured on CUDA


def test_parse_dry_run_blocks_and_messages():
    text = """Job stats:
job          count
---------  -------
train            1
download         2
total            3

[Sun Dec  6 09:55:16 2026]
rule train:
    output: a/model.pt
    wildcards: dataset=gtea, split=1, segmenter=mstcn, run=relate_wo_pr-aga=none, seed=0
    resources: tmpdir=/tmp, runtime=600, gpu=1, mem_mb=8000
[Sun Dec  6 09:55:16 2026]
Job 4: download the features of gtea
Reason: Forced execution
"""
    dag = parse_dry_run(text)
    assert dag.counts == {"train": 1, "download": 2}
    (job,) = dag.jobs
    assert job.wildcards["run"] == "relate_wo_pr-aga=none" and job.gpus == 1


def table_counts(text: str) -> dict[str, int]:
    """rule -> jobs from the plan's github table (rows marked + are estimates: skipped)."""
    counts = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[\d,]+", cells[1]) and not cells[0].endswith("+"):
            counts[cells[0]] = int(cells[1].replace(",", ""))
    return counts


@pytest.mark.skipif(not SNAKEMAKE.is_file(), reason="snakemake is not installed beside Python")
@pytest.mark.parametrize("config", [SMOKE, REPO_ROOT / "config" / "study_smoke.yaml"])
def test_smoke_plan_counts_equal_snakemake(tmp_path, capsys, config):
    assert main(["plan", "--configfile", str(config)]) == 0
    out = capsys.readouterr().out
    planned = table_counts(out)
    total = planned.pop("total")
    dry = subprocess.run(
        [
            str(SNAKEMAKE),
            "-n",
            "--forceall",
            "--configfile",
            str(config),
            "--snakefile",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    stats = dry[dry.index("Job stats:") :].splitlines()[3:]
    expected = {}
    for line in stats:
        match = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if not match:
            break
        expected[match.group(1)] = int(match.group(2))
    assert planned == {rule: n for rule, n in expected.items() if rule != "total"}
    assert total >= expected["total"]  # plus the estimated post-checkpoint flow/features jobs
    assert "Calibration:" in out and "machine:" in out


@pytest.mark.parametrize(
    "content, problem",
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"format": FORMAT}), "missing key(s)"),
        (json.dumps({**fake_calibration(), "job_overhead_s": -1}), "job_overhead_s must be"),
        (json.dumps({**fake_calibration(), "format": "other"}), "format must be"),
    ],
)
def test_bad_calibration_is_one_error_line(tmp_path, capsys, content, problem):
    bad = tmp_path / "calibration.json"
    bad.write_text(content)
    assert main(["plan", "--configfile", str(SMOKE), "--calibration", str(bad)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert lines[0].startswith(f"error: {bad}: ") and problem in lines[0]


def test_missing_calibration_and_shipped_one(tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert main(["plan", "--configfile", str(SMOKE), "--calibration", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == f"error: {missing}: no such calibration file"
    shipped = load_calibration()
    assert shipped.device == "cpu" and shipped.train("mstcn", 1024) > 0


def test_library_does_not_import_snakemake():
    code = (
        "import sys, relate.tools.plan.model, relate.tools.plan.dag, relate.commands.plan; "
        "sys.exit('snakemake' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT).returncode == 0
