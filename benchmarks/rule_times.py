"""Where a workflow run's time went: Snakemake's per-job benchmark files summed per rule.

Every rule writes ``{results_dir}/benchmarks/<rule>[/...].tsv`` (wall seconds ``s`` and
``cpu_time`` of its job). This prints one line per rule (jobs, total and mean wall seconds,
total CPU seconds, share of the summed wall time), largest first.

``--cores N`` adds how the run used N cores: each job's interval is taken as
[file's modification time - s, modification time] (Snakemake writes the file when the job
ends), which holds for a run whose jobs all ran in this run (a fresh one). Each job counts
as one running job whatever its threads, so this is meant for runs of 1-thread jobs.

    python benchmarks/rule_times.py results/demo --cores 2
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path


def _rule_of(parts: tuple[str, ...]) -> str:
    """Rule name of a benchmark file's path parts; train and predict by segmenter, the
    report rules (``report/<name>.tsv``) one by one."""
    first = parts[0].removesuffix(".tsv")
    if first == "report":
        return "report: " + parts[1].removesuffix(".tsv").rstrip("0123456789")
    if first in ("train", "predict", "evaluate") and len(parts) >= 5:
        segmenter = parts[3] if first != "evaluate" else parts[4]
        return f"{first} ({segmenter})"
    return first


@dataclass(frozen=True)
class JobTime:
    """One benchmark row: the job's rule, wall and CPU seconds, and when its file was written."""

    rule: str
    wall_s: float
    cpu_s: float
    end: float


def read_jobs(results: Path) -> list[JobTime]:
    """Every row of every benchmark file under ``results/benchmarks``, read once."""
    root = results / "benchmarks"
    jobs = []
    for path in sorted(root.rglob("*.tsv")):
        rule, end = _rule_of(path.relative_to(root).parts), path.stat().st_mtime
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                cpu = row.get("cpu_time", "NA")
                jobs.append(JobTime(rule, float(row["s"]), float(cpu) if cpu != "NA" else 0.0, end))
    return jobs


def rule_times(jobs: list[JobTime]) -> dict[str, list[tuple[float, float]]]:
    """Rule -> [(wall s, cpu s)] of each job."""
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for job in jobs:
        found[job.rule].append((job.wall_s, job.cpu_s))
    return found


def job_intervals(jobs: list[JobTime]) -> list[tuple[float, float]]:
    """(start, end) of every job: it ended when its benchmark file was written."""
    return [(job.end - job.wall_s, job.end) for job in jobs]


def core_use(intervals: list[tuple[float, float]], cores: int) -> dict[str, float]:
    """Span of the run (first start to last end), summed job seconds, and the seconds during
    which fewer jobs than ``cores`` ran (``under_s``) with the core-seconds left idle then."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals])
    running, last, under, idle = 0, events[0][0], 0.0, 0.0
    for time, step in events:
        if running < cores:
            under += time - last
            idle += (cores - running) * (time - last)
        running, last = running + step, time
    return {
        "span_s": events[-1][0] - events[0][0],
        "job_s": sum(b - a for a, b in intervals),
        "under_s": under,
        "idle_core_s": idle,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the config's results_dir")
    parser.add_argument("--cores", type=int, help="also print how the run used this many cores")
    args = parser.parse_args(argv)
    records = read_jobs(args.results)
    times = rule_times(records)
    if not times:
        print(f"error: {args.results / 'benchmarks'}: no benchmark files", file=sys.stderr)
        return 2
    total = sum(s for jobs in times.values() for s, _ in jobs)
    print("| rule | jobs | wall s (sum) | wall s (mean) | CPU s (sum) | share |")
    print("|---|---:|---:|---:|---:|---:|")
    for rule, jobs in sorted(times.items(), key=lambda item: -sum(s for s, _ in item[1])):
        wall = sum(s for s, _ in jobs)
        cpu = sum(c for _, c in jobs)
        print(
            f"| {rule} | {len(jobs)} | {wall:.1f} | {wall / len(jobs):.1f} | {cpu:.1f} "
            f"| {100 * wall / total:.1f} % |"
        )
    print(f"| **all** | {sum(map(len, times.values()))} | {total:.1f} | | | 100 % |")
    if args.cores:
        use = core_use(job_intervals(records), args.cores)
        print(
            f"\nspan {use['span_s']:.1f} s (first job start to last job end), jobs "
            f"{use['job_s']:.1f} s, fewer than {args.cores} jobs running for "
            f"{use['under_s']:.1f} s ({use['idle_core_s']:.1f} idle core-seconds)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
