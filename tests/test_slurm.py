"""Execution profiles (workflow/profiles/{local,slurm}) and a real run through SLURM.

The SLURM run needs a SLURM cluster: `.ci/slurm/setup.sh` starts a single-node one on this
machine (CI does that), then `RELATE_SLURM_TEST=1 pytest tests/test_slurm.py`.
"""

from __future__ import annotations

import glob
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
PROFILES = REPO_ROOT / "workflow/profiles"
SMOKE = REPO_ROOT / "config/smoke.yaml"
ENABLE = "RELATE_SLURM_TEST"
HOW_TO_ENABLE = (
    f"run .ci/slurm/setup.sh (a single-node SLURM on this machine) or use a SLURM "
    f"login node, then set {ENABLE}=1"
)
# `Job 14 has been submitted with SLURM jobid 5 (log: /abs/.snakemake/slurm_logs/.../5.log).`
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$", re.MULTILINE)


def snakemake(workdir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` with this venv's console scripts first on PATH."""
    if (
        shutil.which("snakemake", path=str(BIN)) is None
        or shutil.which("relate", path=str(BIN)) is None
    ):
        pytest.skip("snakemake/relate console scripts are not installed beside this Python")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
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
        env=env,
        timeout=timeout,
        check=False,
    )


def load_profile(name: str) -> dict:
    return yaml.safe_load((PROFILES / name / "config.yaml").read_text())


def job_stats(stdout: str) -> dict[str, int]:
    """The dry run's `Job stats` table: rule -> number of jobs."""
    table = stdout.split("Job stats:", 1)[1].split("total", 1)[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def planned_rules(stdout: str) -> dict[str, tuple[bool, int]]:
    """From a dry run's job blocks: rule -> (runs on the submitting host, GPUs it requests)."""
    rules: dict[str, tuple[bool, int]] = {}
    current = None
    for line in stdout.splitlines():
        if match := re.match(r"\s*(localrule|rule) (\w+):$", line):
            current = match.group(2)
            rules.setdefault(current, (match.group(1) == "localrule", 0))
        elif current and (match := re.match(r"\s*resources: (.*)$", line)):
            gpus = re.search(r"(?:^|, )gpu=(\d+)", match.group(1))
            local, seen = rules[current]
            rules[current] = (local, max(seen, int(gpus.group(1)) if gpus else 0))
    return rules


def test_both_profiles_plan_the_same_jobs(tmp_path: Path) -> None:
    plans = {}
    for name in ("local", "slurm"):
        # device=cuda: only a CUDA config asks for GPUs (the rules' gpu=GPU_JOBS)
        result = snakemake(
            tmp_path,
            "--profile",
            str(PROFILES / name),
            "--configfile",
            str(SMOKE),
            "--dry-run",
            "--config",
            "device=cuda",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert f"Using profile {PROFILES / name}" in result.stdout + result.stderr
        plans[name] = result.stdout
    assert job_stats(plans["local"]) == job_stats(plans["slurm"]) != {}
    # The profile's default resources reach the jobs (`all` sets none itself).
    for name, stdout in plans.items():
        defaults = load_profile(name)["default-resources"]
        resources = re.findall(r"^\s*resources: (.*)$", stdout, re.MULTILINE)
        assert any(f"mem_mb={defaults['mem_mb']}," in line for line in resources), name
        assert all(("slurm_partition=" in line) == (name == "slurm") for line in resources), name
    # GPU rules keep their request under the SLURM profile (gpu=1 becomes sbatch --gpus=1);
    # locally it is capped at this machine's GPU count, 0 on a CPU-only machine.
    requested = max(gpus for _, gpus in planned_rules(plans["slurm"]).values())
    local_gpus = len(glob.glob("/dev/nvidia[0-9]*"))
    assert requested >= 1
    assert max(gpus for _, gpus in planned_rules(plans["local"]).values()) == min(
        requested, local_gpus
    )


def test_slurm_profile_settings(tmp_path: Path) -> None:
    profile = load_profile("slurm")
    assert profile["executor"] == "slurm"
    # sacct hangs Snakemake without an accounting database; squeue sees an ended job for
    # MinJobAge (SLURM's default 300 s), which must be >= 3 x the first status check delay.
    assert profile["slurm-status-command"] == "squeue"
    assert 1 <= 3 * profile["slurm-init-seconds-before-status-checks"] <= 300
    assert {"slurm_partition", "runtime", "mem_mb"} <= set(profile["default-resources"])
    assert isinstance(profile["jobs"], int) and profile["jobs"] >= 1
    # Every grouped rule exists (a renamed rule would silently leave its group), and no
    # training job is grouped (a teacher and its students must not share one job).
    listed = snakemake(tmp_path, "--configfile", str(SMOKE), "--list-rules")
    assert listed.returncode == 0, listed.stderr[-3000:]
    rules = set(listed.stdout.split())
    assert set(profile["groups"]) <= rules, set(profile["groups"]) - rules
    assert not {rule for rule in profile["groups"] if rule.startswith("train")}


def test_local_profile_settings() -> None:
    profile = load_profile("local")
    assert profile["keep-going"] is False and profile["rerun-incomplete"] is True
    assert profile["cores"] == "all"


# --- the real SLURM run -------------------------------------------------------------------


def slurmctld_running_here() -> bool:
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "slurmctld":
                return True
        except OSError:
            continue
    return False


def slurm_skip_reason() -> str | None:
    flag = os.environ.get(ENABLE, "")
    if flag == "0":
        return (
            f"SLURM test disabled by {ENABLE}=0 (.ci/run sets it where .ci/slurm/setup.sh "
            f"cannot install SLURM; its output says why)"
        )
    if shutil.which("sbatch") is None:
        return f"SLURM test skipped: no sbatch on PATH; to enable it, {HOW_TO_ENABLE}"
    if flag != "1" and not slurmctld_running_here():
        return (
            f"SLURM test skipped: {ENABLE} is unset and no slurmctld runs here; "
            f"to enable it, {HOW_TO_ENABLE}"
        )
    return None


def slurm(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=True).stdout


def job_record(job_id: str) -> dict[str, str]:
    """``scontrol -d show job`` as key -> value (SLURM keeps an ended job for MinJobAge)."""
    return dict(
        re.findall(r"(\S+?)=(\S*)", slurm("scontrol", "-d", "--oneliner", "show", "job", job_id))
    )


def job_rules(job_dir: str, groups: dict[str, str]) -> set[str]:
    """Rules of one SLURM job from its log folder: ``rule_<rule>`` or ``group_<group>_<rules>``
    (the plugin joins the group's rule names, sorted, with ``_``)."""
    if job_dir.startswith("rule_"):
        return {job_dir.removeprefix("rule_")}
    for group in set(groups.values()):
        if job_dir.startswith(f"group_{group}_"):
            members = sorted(rule for rule, name in groups.items() if name == group)
            for mask in range(1, 2 ** len(members)):
                subset = [rule for i, rule in enumerate(members) if mask >> i & 1]
                if job_dir == f"group_{group}_" + "_".join(subset):
                    return set(subset)
    raise AssertionError(f"unexpected SLURM log folder {job_dir}")


def narrow_smoke_config(path: Path) -> list[str]:
    """Write the smoke config cut to one cell and one row per experiment; returns targets.

    The full smoke DAG has dozens of jobs (the local smoke test runs it); through SLURM each
    job costs ~10 s of scheduling plus a status-check delay, so this test runs what Table 1's
    first cell needs up to its metrics: dataset steps, one training, its prediction and
    evaluation. Update here when config/smoke.yaml or the rule names change shape.
    """
    config = yaml.safe_load(SMOKE.read_text())
    for experiment in config["experiments"].values():
        for key in ("cells", "rows"):
            if key in experiment:
                experiment[key] = experiment[key][:1]
    path.write_text(yaml.safe_dump(config))
    return [f"{config['reports_dir']}/table1.md", "--until", "evaluate"]


@pytest.mark.slow
def test_smoke_config_runs_on_slurm(tmp_path: Path) -> None:
    reason = slurm_skip_reason()
    if reason:
        pytest.skip(reason)
    profile = load_profile("slurm")
    partition = os.environ.get(
        "RELATE_SLURM_PARTITION", profile["default-resources"]["slurm_partition"]
    )
    try:
        nodes = slurm("sinfo", "-h", "-p", partition, "-o", "%c %G")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"SLURM is enabled but sinfo fails: {err}")
    assert nodes.strip(), f"SLURM has no partition {partition!r} (set RELATE_SLURM_PARTITION)"
    node_cpus = min(int(line.split()[0]) for line in nodes.splitlines())
    config = tmp_path / "slurm-smoke.yaml"
    targets = narrow_smoke_config(config)

    args = [
        "--profile",
        str(PROFILES / "slurm"),
        "--configfile",
        str(config),
        "--cores",
        str(min(node_cpus, profile["cores"])),  # groups must fit one node
        "--slurm-keep-successful-logs",
        # Poll squeue every 1 s at first (the interval then grows by 10 s while nothing
        # ends): a CI job takes ~20 s, so the profile's 5 s costs ~10 s per job wave.
        "--slurm-init-seconds-before-status-checks",
        "1",
    ]
    if partition != profile["default-resources"]["slurm_partition"]:  # replaces the whole list
        defaults = {**profile["default-resources"], "slurm_partition": partition}
        args += ["--default-resources", *(f"{key}={value!r}" for key, value in defaults.items())]
    plan = snakemake(tmp_path, *args, "--dry-run", *targets)
    assert plan.returncode == 0, plan.stderr[-3000:]
    rules = planned_rules(plan.stdout)
    remote = {rule for rule, (local, _) in rules.items() if not local}
    gpu_rules = {rule for rule, (_, gpus) in rules.items() if gpus}
    assert remote and gpu_rules <= remote
    if gpu_rules and "gpu" not in nodes:
        pytest.skip(f"partition {partition!r} has no GPUs but {sorted(gpu_rules)} request one")

    try:
        result = snakemake(tmp_path, *args, *targets, timeout=900)
    except subprocess.TimeoutExpired as err:
        output = err.stderr.decode() if isinstance(err.stderr, bytes) else (err.stderr or "")
        ids = [job_id for job_id, _ in SUBMITTED.findall(output)]
        if ids:
            subprocess.run(["scancel", *ids], check=False)
        pytest.fail(f"the SLURM smoke run did not finish in {err.timeout} s; cancelled jobs {ids}")
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]

    # Outputs: complete (a second dry run has nothing left to do) and well-formed.
    again = snakemake(tmp_path, "--configfile", str(config), "--cores", "1", "--dry-run", *targets)
    left = again.stdout + again.stderr
    assert again.returncode == 0, left[-3000:]
    assert "Nothing to be done" in left or re.search(r"^total\s+0$", left, re.MULTILINE), left[
        -3000:
    ]
    models = list(tmp_path.glob("**/runs/**/model.pt"))
    assert models and all(path.stat().st_size > 0 for path in models)
    metrics = list(tmp_path.glob("**/metrics/**/*.json"))
    assert metrics
    for path in metrics:
        assert isinstance(json.loads(path.read_text()), dict), path

    # Every planned remote rule went through sbatch, ran under SLURM's jobstep executor,
    # ended COMPLETED, and got a GPU allocated exactly when one of its rules asks for one.
    submitted = SUBMITTED.findall(log)
    assert len({job_id for job_id, _ in submitted}) == len(submitted) > 0
    logs_dir = (tmp_path / ".snakemake/slurm_logs").resolve()
    submitted_rules: set[str] = set()
    for job_id, path in submitted:
        slurm_log = Path(path).resolve()
        assert slurm_log.is_relative_to(logs_dir) and slurm_log.name == f"{job_id}.log"
        members = job_rules(slurm_log.relative_to(logs_dir).parts[0], profile["groups"])
        assert members <= remote, (path, members)
        submitted_rules |= members
        assert "--executor slurm-jobstep" in slurm_log.read_text()
        record = job_record(job_id)
        assert record["JobState"] == "COMPLETED", (job_id, record.get("JobState"), path)
        assert record["Partition"] == partition
        gpus = max(rules[rule][1] for rule in members)
        assert record.get("JOB_GRES", "(null)") == (f"gpu:{gpus}" if gpus else "(null)"), (
            path,
            record,
        )
    assert submitted_rules == remote
