"""Bad workflow configs are refused before planning: one ``error: <config>: <key>: <problem>``
line, nonzero exit, no traceback, no job planned and nothing written in the working folder.

Each case is config/smoke.yaml with one mutation, dry-run (``snakemake -n``) in an empty
folder. Also: a --configfile is used alone (a config without ``epochs`` or ``device`` is
refused, not completed from config/config.yaml), the rules run the ``relate`` beside the
Python running Snakemake whatever PATH says, and a missing ``relate`` is one clean line.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO_ROOT

from tests.hostile.conftest import snapshot

BIN = Path(sys.executable).parent
SMOKE = REPO_ROOT / "config/smoke.yaml"
BARE_PATH = os.pathsep.join(["/usr/bin", "/bin"])  # no venv on it

Mutation = Callable[[dict[str, Any]], None]


def _need_console_scripts() -> None:
    if not (BIN / "snakemake").exists() or not (BIN / "relate").exists():
        pytest.skip("snakemake/relate console scripts are not installed beside this Python")


def _dry_run(
    workdir: Path, *args: str, python: Path | None = None, path: str | None = None
) -> subprocess.CompletedProcess:
    """``snakemake -n`` of the repository's Snakefile in ``workdir`` (output: stdout+stderr)."""
    command = [str(python), "-m", "snakemake"] if python else [str(BIN / "snakemake")]
    env = dict(os.environ, PATH=path if path is not None else os.environ.get("PATH", ""))
    return subprocess.run(
        [*command, "-n", "-s", str(REPO_ROOT / "Snakefile"), "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _assert_refused(result: subprocess.CompletedProcess, source: str, key: str, *words: str) -> str:
    """Nonzero exit, exactly one ``error:`` line naming ``source`` and ``key``, no traceback
    and no job planned. Returns the line."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert not re.search(r'^\s*File "', output, re.MULTILINE), output[-3000:]
    assert "Job stats" not in output and "rule " not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output[-3000:]
    line = lines[0]
    assert line.startswith(f"error: {source}: {key}: "), line
    for word in words:
        assert word in line, (word, line)
    return line


# --- mutations of the smoke config ---------------------------------------------------------


def _set(path: str, value: Any) -> Mutation:
    *parents, last = path.split(".")

    def mutate(config: dict[str, Any]) -> None:
        node = config
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _drop(key: str) -> Mutation:
    return lambda config: config.pop(key)


def _cell(experiment: str, index: int, value: str) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        config["experiments"][experiment]["cells"][0][index] = value

    return mutate


def _row(experiment: str, value: str) -> Mutation:
    def mutate(config: dict[str, Any]) -> None:
        config["experiments"][experiment]["rows"][0] = value

    return mutate


def _auto_without_latency_device(config: dict[str, Any]) -> None:
    config["device"] = "auto"
    del config["latency"]["device"]


# (id, mutation, extra snakemake args, key path in the message, words the message must have)
CASES: list[tuple[str, Mutation, tuple[str, ...], str, tuple[str, ...]]] = [
    # strict schema: a typo at any level
    ("top-level-typo", _set("epoch", 1), (), "epoch", ("unknown key", "epochs")),
    (
        "data-typo",
        _set("data.synthtic_seed", 3),
        (),
        "data.synthtic_seed",
        ("unknown key", "synthetic_seed"),
    ),
    ("latency-typo", _set("latency.repeat", 2), (), "latency.repeat", ("repeats",)),
    (
        "video-pipeline-typo",
        _set("video_pipeline.enable", True),
        (),
        "video_pipeline.enable",
        ("enabled",),
    ),
    (
        "download-typo",
        _set("download", {"allow_unpined": True}),
        (),
        "download.allow_unpined",
        ("allow_unpinned",),
    ),
    (
        "experiment-typo",
        _set("experiments.table1.notes", "x"),
        (),
        "experiments.table1.notes",
        ("unknown key",),
    ),
    ("fig4-typo", _set("experiments.fig4.spilt", 1), (), "experiments.fig4.spilt", ("split",)),
    (
        "unknown-experiment",
        _set("experiments.table5", {"cells": [["gtea", "mstcn"]], "rows": ["rgb"]}),
        (),
        "experiments.table5",
        ("unknown key",),
    ),
    # no silent inheritance from config/config.yaml
    ("missing-epochs", _drop("epochs"), (), "epochs", ("required",)),
    ("missing-device", _drop("device"), (), "device", ("required",)),
    (
        "device-via-config",
        lambda config: None,
        ("--config", "device=gpu"),
        "device",
        ("'gpu'", "auto"),
    ),
    ("auto-without-latency-device", _auto_without_latency_device, (), "latency.device", ("auto",)),
    # shapes and names
    ("no-seeds", _set("seeds", []), (), "seeds", ("empty",)),
    ("no-cells", _set("experiments.table3.cells", []), (), "experiments.table3.cells", ("empty",)),
    (
        "unknown-dataset",
        _cell("table1", 0, "gtae"),
        (),
        "experiments.table1.cells[0][0]",
        ("'gtae'", "gtea"),
    ),
    (
        "unknown-segmenter",
        _cell("table2", 1, "mstcnn"),
        (),
        "experiments.table2.cells[0][1]",
        ("'mstcnn'", "asformer"),
    ),
    ("unknown-variant", _row("fig1", "rgbb"), (), "experiments.fig1.rows[0]", ("'rgbb'", "rgb")),
    (
        "row-not-in-paper",
        _row("table2", "relate:aga=none"),
        (),
        "experiments.table2.rows[0]",
        ("'relate:aga=none'", "paper_rows.csv"),
    ),
    (
        "bad-row-option",
        _row("table3", "relate_wo_pr:aga=nonee"),
        (),
        "experiments.table3.rows[0]",
        ("nonee",),
    ),
    ("fig3-row-without-latency", _row("fig3", "kd"), (), "experiments.fig3.rows[0]", ("latency",)),
    (
        "split-beyond-dataset",
        _set("splits", {"synthetic_gtea": [5]}),
        (),
        "splits.synthetic_gtea[0]",
        ("split 5", "4 splits"),
    ),
    (
        "videos-not-a-multiple-of-the-splits",
        _set("data.synthetic_sizes", {"gtea": {"videos": 10}}),
        (),
        "data.synthetic_sizes.gtea.videos",
        ("10", "4 splits"),
    ),
    (
        "rows-for-outside-rows",
        _set("experiments.table1.rows_for", {"mstcn": ["kd"]}),
        (),
        "experiments.table1.rows_for.mstcn[0]",
        ("'kd'", "not among"),
    ),
    (
        "fig4-split-not-run",
        _set("experiments.fig4.split", 2),
        (),
        "experiments.fig4.split",
        ("split 2",),
    ),
]


@pytest.mark.parametrize(
    ("mutate", "extra", "key", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_config_is_refused_before_planning(
    tmp_path: Path, mutate: Mutation, extra: tuple[str, ...], key: str, words: tuple[str, ...]
) -> None:
    _need_console_scripts()
    config = copy.deepcopy(yaml.safe_load(SMOKE.read_text()))
    mutate(config)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config, sort_keys=False))
    work = tmp_path / "work"
    work.mkdir()
    result = _dry_run(work, "--configfile", str(bad), *extra)
    source = "--config" if extra else str(bad)
    _assert_refused(result, source, key, *words)
    assert snapshot(work) == {}


def test_configfile_used_alone_and_device_auto_asks_for_a_gpu(tmp_path: Path) -> None:
    """Only the given config is read (not config.yaml); `device: auto` asks for a GPU."""
    _need_console_scripts()
    result = _dry_run(
        tmp_path, "-p", "--configfile", str(SMOKE), "--config", "device=auto", path=BARE_PATH
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "relate train " in output and "--device auto" in output
    files = re.search(r"Config file\(s\): (.*)$", output, re.MULTILINE)
    assert files and "smoke.yaml" in files.group(1) and "config.yaml'" not in files.group(1)
    train_resources = re.findall(r"rule train:\n(?:\s+\w+: .*\n)*?\s+resources: (.*)", output)
    assert train_resources and all("gpu=1" in line for line in train_resources)


def test_jobs_run_the_venv_relate_without_it_on_path(tmp_path: Path) -> None:
    """The venv's snakemake by absolute path with a PATH that lacks the venv: real jobs
    (make and validate the synthetic dataset) find the venv's `relate` and succeed."""
    _need_console_scripts()
    if shutil.which("relate", path=BARE_PATH):
        pytest.skip("a relate command is installed system-wide")
    env = dict(os.environ, PATH=BARE_PATH)
    result = subprocess.run(
        [
            str(BIN / "snakemake"),
            "-s",
            str(REPO_ROOT / "Snakefile"),
            "--directory",
            str(tmp_path),
            "--configfile",
            str(SMOKE),
            "--cores",
            "1",
            "results/smoke/validated/synthetic_gtea.txt",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert (tmp_path / "results/smoke/validated/synthetic_gtea.txt").is_file()


def test_missing_relate_is_one_line(tmp_path: Path) -> None:
    """A venv without the relate console script (this venv's packages, no bin/relate) and a
    PATH without one: planning stops with one line saying how to install it."""
    _need_console_scripts()
    if shutil.which("relate", path=BARE_PATH):
        pytest.skip("a relate command is installed system-wide")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(Path(sys.prefix) / "pyvenv.cfg", venv / "pyvenv.cfg")
    (venv / "bin" / "python").symlink_to(BIN / "python")
    for lib in ("lib", "lib64"):
        if (Path(sys.prefix) / lib).exists():
            (venv / lib).symlink_to(Path(sys.prefix) / lib)
    work = tmp_path / "work"
    work.mkdir()
    result = _dry_run(
        work, "--configfile", str(SMOKE), python=venv / "bin" / "python", path=BARE_PATH
    )
    output = result.stdout + result.stderr
    if "No module named snakemake" in output:
        pytest.skip("this Python's packages cannot be borrowed by a stand-in venv")
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output[-3000:]
    assert lines[0].startswith(f"error: {venv / 'bin' / 'relate'}: ")
    assert "missing" in lines[0] and "make venv" in lines[0]
    assert snapshot(work) == {}


def test_cuda_config_without_gpu_warns_at_planning(tmp_path: Path) -> None:
    """device: cuda on a machine without an NVIDIA GPU plans (a login node may submit to GPU
    nodes) but says in one line that local jobs would fail."""
    _need_console_scripts()
    from relate.tools.workflow_config import nvidia_gpu_count

    if nvidia_gpu_count():
        pytest.skip("this machine has an NVIDIA GPU")
    result = _dry_run(tmp_path, "--configfile", str(SMOKE), "--config", "device=cuda")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = {line for line in output.splitlines() if line.startswith("warning: device: cuda")}
    assert len(warnings) == 1 and "no NVIDIA GPU" in warnings.pop()
