"""The Snakemake workflow: dry runs of the paper and demo configs (the experiment matrix),
schema validation, the smoke config end to end, rerun-does-nothing and resume after a kill."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO_ROOT

BIN = Path(sys.executable).parent
SMOKE = str(REPO_ROOT / "config/smoke.yaml")


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    if (
        shutil.which("snakemake", path=str(BIN)) is None
        or shutil.which("relate", path=str(BIN)) is None
    ):
        pytest.skip("snakemake/relate console scripts are not installed beside this Python")
    return subprocess.run(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            *args,
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        check=False,
    )


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


def job_counts(stdout: str) -> dict[str, int]:
    """The "Job stats" table of a dry run: rule -> count."""
    counts: dict[str, int] = {}
    block = stdout.split("Job stats:", 1)[1] if "Job stats:" in stdout else ""
    for line in block.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


def test_paper_config_table1_needs_exactly_its_runs(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--cores", "8", "--dry-run", "reports/table1.md")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    # 3 segmenters x (4 GTEA + 5 50Salads + 4 Breakfast splits) x 3 seeds = 117 cells, each:
    # rgb, two_stream, RELATE and its teacher trained; rgb, two_stream, RELATE predicted;
    # 4 rows scored (RELATE twice: with and without PR)
    assert counts == {
        "download_features": 3,
        "validate_dataset": 3,
        "train": 468,
        "predict": 351,
        "evaluate": 468,
        "table": 1,
        "total": 1294,
    }


def test_demo_config_plans_every_report(tmp_path: Path) -> None:
    result = snakemake(
        tmp_path, "--cores", "2", "--dry-run", "--configfile", str(REPO_ROOT / "config/demo.yaml")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    for rule in (
        "synth_dataset",
        "validate_dataset",
        "train",
        "train_bridge",
        "predict",
        "evaluate",
        "table",
        "side_conventions",
        "side_presets",
        "params_table",
        "fig1",
        "latency",
        "fig3",
        "fig4",
        "index",
        "synth_videos",
        "video_dataset",
        "trivial_predict",
        "sanity",
        "learning_curves",
    ):
        assert counts.get(rule, 0) >= 1, (rule, counts)
    assert counts["table"] == 4
    # every paper dataset from its own stand-in, each with every segmenter in Table 1
    assert counts["synth_dataset"] == 3
    assert "synthetic_50salads/split1/asformer/rgb" in result.stdout
    # start order of the training jobs (workflow/rules/job_args.smk, train_priority):
    # teachers, then the long runs, then the MS-TCN baselines and students
    priorities = train_priorities(result.stdout)
    assert priorities["synthetic_breakfast/mstcn/teacher-release"] == 2
    assert priorities["synthetic_gtea/mstcn/relate-fusion=naive"] == 1
    assert priorities["synthetic_gtea/fact/rgb"] == 1
    assert priorities["synthetic_50salads/asformer/two_stream"] == 1
    assert priorities["synthetic_50salads/mstcn/kd"] == 0
    assert priorities["synthetic_gtea/mstcn/rgb"] == 0


def train_priorities(stdout: str) -> dict[str, int]:
    """dataset/segmenter/run -> priority of every `train` job of a dry run (0 when the job
    block prints none)."""
    found = {}
    for block in stdout.split("\nrule ")[1:]:
        if not block.startswith("train:"):
            continue
        wildcards = dict(re.findall(r"(\w+)=([^,\s]+)", block.split("wildcards:", 1)[1]))
        key = f"{wildcards['dataset']}/{wildcards['segmenter']}/{wildcards['run']}"
        match = re.search(r"priority: (\d+)", block)
        found[key] = int(match.group(1)) if match else 0
    return found


def test_config_schema_rejects_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO_ROOT / "config/smoke.yaml").read_text() + "typo_key: 1\n")
    result = snakemake(tmp_path, "--cores", "1", "--dry-run", "--configfile", str(bad))
    assert result.returncode != 0
    assert "typo_key" in result.stderr + result.stdout


REPORTS = (
    "table1.md",
    "table2.md",
    "table3.md",
    "table4.md",
    "side_conventions.md",
    "side_presets.md",
    "params.md",
    "fig1_acc_f1.png",
    "fig3_latency.png",
    "fig4_qualitative.png",
    "index.md",
    "sanity.md",
    "learning_curves.png",
)


@pytest.mark.slow
def test_smoke_config_runs_end_to_end_and_rerun_does_nothing(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--cores", "2", "--configfile", SMOKE)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = tmp_path / "results/smoke/reports"
    for name in REPORTS:
        path = reports / name
        assert path.exists() and path.stat().st_size > 0, name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table1 = (reports / "table1.md").read_text()
    assert "SYNTHETIC" in table1 and "| `relate` " in table1.replace("  ", " ")
    assert (reports / "table1.csv").exists()
    index = (reports / "index.md").read_text()
    assert "holds" in index or "does not hold" in index
    # the sanity block (smoke margins 10 10, config/smoke.yaml): Table 1's GTEA cell is the
    # one with both rgb and two_stream; it must have learned
    head = index.split("## Claims", 1)[0]
    assert "SYNTHETIC" in head.splitlines()[2]
    cell = next(line for line in head.splitlines() if line.startswith("| synthetic_gtea"))
    assert cell.rstrip(" |").endswith("**PASS**"), cell
    metrics = list((tmp_path / "results/smoke/metrics").rglob("*.json"))
    assert metrics and all("metrics" in json.loads(p.read_text()) for p in metrics)
    features = tmp_path / "results/smoke/data/synthetic_videos_features/features"
    assert len(list(features.glob("*.npy"))) == 2  # video -> flow -> I3D, validated
    again = snakemake(tmp_path, "--cores", "2", "--configfile", SMOKE, "--dry-run")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    html = tmp_path / "report.html"
    made = snakemake(tmp_path, "--configfile", SMOKE, "--report", str(html))
    assert made.returncode == 0, made.stderr[-2000:]
    text = html.read_text(errors="replace")
    assert "table1.md" in text and "fig3_latency.png" in text and "index.md" in text


@pytest.mark.slow
def test_killed_workflow_reruns_only_missing_jobs(tmp_path: Path) -> None:
    target = "results/smoke/reports/table2.md"
    plan = snakemake(tmp_path, "--cores", "1", "--configfile", SMOKE, "--dry-run", target)
    total = job_counts(plan.stdout)["train"]
    proc = subprocess.Popen(
        [
            str(BIN / "snakemake"),
            "--snakefile",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            target,
            "--cores",
            "1",
            "--configfile",
            SMOKE,
        ],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    runs = tmp_path / "results/smoke/runs"
    deadline = time.monotonic() + 400
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list(runs.rglob("model.pt"))) >= 2:
            break
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and the job it was running
    proc.wait()
    done = len(list(runs.rglob("model.pt")))
    assert 2 <= done < total, "the workflow finished or never started before the kill"
    # a SIGKILL leaves Snakemake's lock behind: `--unlock` first, as docs/workflow.md says
    assert snakemake(tmp_path, "--configfile", SMOKE, "--unlock").returncode == 0
    replan = snakemake(
        tmp_path, "--cores", "1", "--configfile", SMOKE, "--dry-run", "--rerun-incomplete", target
    )
    # the job in flight at the kill may have written model.pt before Snakemake recorded it
    # as finished: it is then rerun (and `relate train` finds it complete); no other is
    assert total - done <= job_counts(replan.stdout)["train"] <= total - done + 1
    rerun = snakemake(tmp_path, "--cores", "2", "--configfile", SMOKE, "--rerun-incomplete", target)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (tmp_path / target).exists()


def test_train_settings_and_checkpoint_every_reach_the_train_commands(tmp_path: Path) -> None:
    """config `train_settings` adds `--set` items to every run of that segmenter (and only of
    it) and `checkpoint_every` adds --checkpoint-every; a bad item is one line naming its key."""
    result = snakemake(
        tmp_path,
        "--cores",
        "2",
        "--dry-run",
        "--printshellcmds",
        "--configfile",
        str(REPO_ROOT / "config/demo.yaml"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    commands = [line for line in result.stdout.splitlines() if "relate train " in line]
    fact = [c for c in commands if "--segmenter fact" in c]
    others = [c for c in commands if "--segmenter fact" not in c]
    assert len(fact) == 2 and others
    settings = "--set train.lr=0.001 --set train.lr_decay_every=40 --set tm_use=false"
    assert all(settings in c and "--epochs 60" in c for c in fact)
    assert not any("--set" in c for c in others)
    assert all("--checkpoint-every 10" in c for c in commands)
    base = (REPO_ROOT / "config/smoke.yaml").read_text()
    for item, message in (
        ("train.epochs=3", "set epochs with the config's `epochs`"),
        ("train.bogus=1", "unknown training setting 'train.bogus'"),
        ("nonsense", "'nonsense' is not KEY=VALUE"),
    ):
        bad = tmp_path / "bad.yaml"
        bad.write_text(base + f'train_settings: {{mstcn: ["{item}"]}}\n')
        result = snakemake(tmp_path, "--cores", "1", "--dry-run", "--configfile", str(bad))
        assert result.returncode != 0
        assert message in result.stderr + result.stdout, (result.stderr + result.stdout)[-2000:]
        assert "train_settings" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "frames",
            16,
            "video_pipeline.frames: 16 is too few: a rendered video has 5 segments of at least "
            "5 frames, so at least 25",
        ),
        (
            "videos",
            1,
            "video_pipeline.videos: 1 is too few: the rendered videos are split by subject, "
            "2 subjects, so at least 2",
        ),
    ],
)
def test_too_few_video_frames_or_videos_is_refused_before_planning(
    tmp_path: Path, key: str, value: int, message: str
) -> None:
    import yaml

    config = yaml.safe_load((REPO_ROOT / "config/smoke.yaml").read_text())
    config["video_pipeline"][key] = value
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "--cores", "1", "--dry-run", "--configfile", str(bad))
    assert result.returncode != 0
    assert message in result.stderr + result.stdout, (result.stderr + result.stdout)[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
