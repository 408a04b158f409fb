"""The Snakemake workflow: dry run of the demo config, full run of the smoke config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    if shutil.which("snakemake", path=str(BIN)) is None or shutil.which("relate", path=str(BIN)) is None:
        pytest.skip("snakemake/relate console scripts are not installed beside this Python")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [str(BIN / "snakemake"), "--snakefile", str(REPO_ROOT / "Snakefile"),
         "--directory", str(workdir), *args],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )


def test_demo_config_dry_run_plans_every_rule(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--cores", "2", "--dry-run", "--configfile",
                       str(REPO_ROOT / "config/demo.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    for rule in ("synth_dataset", "validate_dataset", "trivial_predict", "evaluate_predictions",
                 "train_segmenter", "predict_segmenter", "evaluate_segmenter", "demo_report"):
        assert rule in result.stdout


def test_config_schema_rejects_unknown_keys(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO_ROOT / "config/smoke.yaml").read_text() + "typo_key: 1\n")
    result = snakemake(tmp_path, "--cores", "1", "--dry-run", "--configfile", str(bad))
    assert result.returncode != 0
    assert "typo_key" in result.stderr + result.stdout


@pytest.mark.slow
def test_smoke_config_runs_end_to_end(tmp_path: Path) -> None:
    result = snakemake(tmp_path, "--cores", "2", "--configfile", str(REPO_ROOT / "config/smoke.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    report = tmp_path / "results/smoke/report.md"
    text = report.read_text()
    assert "SYNTHETIC" in text
    rows = [line for line in text.splitlines() if line.startswith("| synthetic")]
    # majority-all, nearest_mean-all and one run per segmenter, standard convention
    assert sorted(row.split("|")[3].strip() for row in rows) == [
        "asformer-two_stream", "fact-two_stream", "majority-all", "mstcn-two_stream", "nearest_mean-all"]
    assert report.with_suffix(".csv").exists()
    assert (tmp_path / "results/smoke/validated/synthetic.txt").read_text().count("valid;") == 1
