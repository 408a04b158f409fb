"""The jobs of a workflow config, from a Snakemake dry run run as a subprocess.

``snakemake --dry-run --forceall --configfile FILE -s <repo>/Snakefile --directory <tmp>``
plans every job of the config as if nothing existed yet (an empty temporary working folder,
so files of earlier runs in the repository do not hide jobs; the paper config plans although
its data is absent: ``download_features`` produces ``data/``). Its "Job stats" table gives the
job count of each rule; the job blocks above it give each job's wildcards and resources
(a rule with a ``message:`` prints the message instead of a block, so it has counts only).

The snakemake used is the one beside the running Python (the project's venv; the workflow
resolves ``relate`` beside the Python that runs Snakemake), else the one on PATH. This module
never imports Snakemake.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from relate.errors import DataError, RelateError

REPO_ROOT = Path(__file__).resolve().parents[3]
SNAKEFILE = REPO_ROOT / "Snakefile"

_BLOCK_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\s*$")
_STATS_ROW = re.compile(r"^(\w+)\s+(\d+)\s*$")


@dataclass
class Job:
    """One planned job: its rule, wildcards and resources (as the dry run printed them)."""

    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    checkpoint: bool = False

    @property
    def gpus(self) -> int:
        """GPUs the job asks for (``resources: gpu=N``; 0 when absent)."""
        try:
            return int(self.resources.get("gpu", 0))
        except ValueError:
            return 0


@dataclass
class Dag:
    """Job counts per rule (the dry run's table, in its order) and the printed jobs."""

    counts: dict[str, int]
    jobs: list[Job]

    def jobs_of(self, rule: str) -> list[Job]:
        return [job for job in self.jobs if job.rule == rule]

    @property
    def checkpoints(self) -> list[str]:
        return sorted({job.rule for job in self.jobs if job.checkpoint})


def find_snakemake() -> str:
    """The snakemake executable beside ``sys.executable``, else the one on PATH."""
    beside = Path(sys.executable).parent / "snakemake"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("snakemake")
    if found:
        return found
    raise RelateError(
        f"{beside}: snakemake is missing (not beside {sys.executable} nor on PATH); "
        "install the project's environment (`make venv`)"
    )


def _pairs(text: str) -> dict[str, str]:
    """``a=1, b=x=y`` -> {"a": "1", "b": "x=y"} (values never hold ", ": see matrix.smk slug)."""
    result = {}
    for item in text.split(", "):
        key, sep, value = item.partition("=")
        if sep:
            result[key.strip()] = value.strip()
    return result


def parse_dry_run(text: str) -> Dag:
    """Parse a dry run's output: job blocks, then the first "Job stats" table."""
    jobs: list[Job] = []
    current: Job | None = None
    counts: dict[str, int] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        start = _BLOCK_START.match(line)
        if start:
            current = Job(start.group(1), checkpoint=line.startswith("checkpoint"))
            jobs.append(current)
        elif current is not None and line.startswith("    wildcards: "):
            current.wildcards = _pairs(line[len("    wildcards: ") :])
        elif current is not None and line.startswith("    resources: "):
            current.resources = _pairs(line[len("    resources: ") :])
        elif not line.startswith("    "):
            current = None
        if line.strip() == "Job stats:" and not counts:
            index += 3  # header and rule lines
            while index < len(lines):
                row = _STATS_ROW.match(lines[index].strip())
                if not row:
                    break
                if row.group(1) != "total":
                    counts[row.group(1)] = int(row.group(2))
                index += 1
            continue
        index += 1
    return Dag(counts, jobs)


def dry_run(configfile: str | Path, snakefile: str | Path = SNAKEFILE, timeout: float = 600) -> Dag:
    """Plan every job of ``configfile`` (``--forceall``) in an empty working folder."""
    configfile = Path(configfile)
    if not configfile.is_file():
        raise DataError(configfile, "no such config file")
    command = [
        find_snakemake(),
        "--dry-run",
        "--forceall",
        "--configfile",
        str(configfile.resolve()),
        "--snakefile",
        str(Path(snakefile).resolve()),
        "--cores",
        "1",
    ]
    with tempfile.TemporaryDirectory(prefix="relate-plan-") as folder:
        command += ["--directory", folder]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, check=False
            )
        except subprocess.TimeoutExpired:
            raise DataError(
                configfile, f"the Snakemake dry run took over {timeout:.0f} s"
            ) from None
    output = done.stdout + "\n" + done.stderr
    if done.returncode != 0:
        line, names_file = _failure(output)
        if names_file:  # the workflow's own one-line config error: pass it on as it is
            raise RelateError(line)
        raise DataError(configfile, f"the Snakemake dry run failed: {line}")
    dag = parse_dry_run(output)
    if not dag.counts:
        if "Nothing to be done" in output:
            return dag
        raise DataError(configfile, "the Snakemake dry run printed no job table")
    _check(dag, configfile)
    return dag


def _failure(output: str) -> tuple[str, bool]:
    """The most telling line of a failed dry run, and whether it already names a file (the
    workflow's config errors are ``error: <config>: <key>: <problem>``)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("error: "):
            return line[len("error: ") :], True
    for line in lines:
        if "Error" in line or "error" in line:
            return line, False
    return (lines[-1] if lines else "no output"), False


def _check(dag: Dag, configfile: Path) -> None:
    """Every printed job belongs to a counted rule, and never more jobs than the count."""
    printed = Counter(job.rule for job in dag.jobs)
    for rule, number in printed.items():
        if number > dag.counts.get(rule, 0):
            raise DataError(
                configfile,
                f"dry run: {number} {rule} job blocks but the job table says "
                f"{dag.counts.get(rule, 0)}",
            )
