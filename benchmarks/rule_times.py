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


def rule_times(results: Path) -> dict[str, list[tuple[float, float]]]:
    """Rule -> [(wall s, cpu s)] of each job, from ``results/benchmarks``."""
    root = results / "benchmarks"
    found: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for path in sorted(root.rglob("*.tsv")):
        rule = _rule_of(path.relative_to(root).parts)
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                cpu = row.get("cpu_time", "NA")
                found[rule].append((float(row["s"]), float(cpu) if cpu != "NA" else 0.0))
    return found


def job_intervals(results: Path) -> list[tuple[float, float, str]]:
    """(start, end, job) of every job, ends from the benchmark files' modification times."""
    root = results / "benchmarks"
    intervals = []
    for path in sorted(root.rglob("*.tsv")):
        with path.open(newline="") as handle:
            walls = [float(row["s"]) for row in csv.DictReader(handle, delimiter="\t")]
        if walls:
            end = path.stat().st_mtime
            intervals.append((end - walls[-1], end, str(path.relative_to(root))))
    return intervals


def core_use(intervals: list[tuple[float, float, str]], cores: int) -> dict[str, float]:
    """Span of the run (first start to last end), summed job seconds, and the seconds during
    which fewer jobs than ``cores`` ran (``under_s``) with the core-seconds left idle then."""
    events = sorted([(a, 1) for a, _, _ in intervals] + [(b, -1) for _, b, _ in intervals])
    running, last, under, idle = 0, events[0][0], 0.0, 0.0
    for time, step in events:
        if running < cores:
            under += time - last
            idle += (cores - running) * (time - last)
        running, last = running + step, time
    return {
        "span_s": events[-1][0] - events[0][0],
        "job_s": sum(b - a for a, b, _ in intervals),
        "under_s": under,
        "idle_core_s": idle,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the config's results_dir")
    parser.add_argument("--cores", type=int, help="also print how the run used this many cores")
    args = parser.parse_args(argv)
    times = rule_times(args.results)
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
        use = core_use(job_intervals(args.results), args.cores)
        print(
            f"\nspan {use['span_s']:.1f} s (first job start to last job end), jobs "
            f"{use['job_s']:.1f} s, fewer than {args.cores} jobs running for "
            f"{use['under_s']:.1f} s ({use['idle_core_s']:.1f} idle core-seconds)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
