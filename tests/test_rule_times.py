"""benchmarks/rule_times.py: per-rule sums and the core-use summary of a workflow run."""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
from conftest import REPO_ROOT


def load_rule_times():
    spec = importlib.util.spec_from_file_location(
        "rule_times", REPO_ROOT / "benchmarks/rule_times.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["rule_times"] = module
    spec.loader.exec_module(module)
    return module


rule_times = load_rule_times()


def test_core_use_counts_the_time_with_a_free_core():
    # Two cores: [0, 10] and [0, 4] run together, then one job alone until 10, then a gap
    # with nothing running, then [12, 14].
    intervals = [(0.0, 10.0), (0.0, 4.0), (12.0, 14.0)]
    use = rule_times.core_use(intervals, cores=2)
    assert use["span_s"] == pytest.approx(14.0)
    assert use["job_s"] == pytest.approx(16.0)
    assert use["under_s"] == pytest.approx(6.0 + 2.0 + 2.0)
    assert use["idle_core_s"] == pytest.approx(6.0 + 2 * 2.0 + 2.0)


def _write_benchmark(path, wall, cpu, end):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tcpu_time\n{wall}\t0:00:{wall:02.0f}\t{cpu}\n")
    os.utime(path, (end, end))


def test_rule_table_and_core_use_from_benchmark_files(tmp_path, capsys):
    bench = tmp_path / "benchmarks"
    _write_benchmark(bench / "train/d/split1/mstcn/rgb/seed0.tsv", 30, 28.5, 1_000_030)
    _write_benchmark(bench / "train/d/split1/mstcn/flow/seed0.tsv", 10, 9.0, 1_000_010)
    _write_benchmark(bench / "report/table1.tsv", 2, "NA", 1_000_032)
    assert rule_times.main([str(tmp_path), "--cores", "2"]) == 0
    out = capsys.readouterr().out
    assert "| train (mstcn) | 2 | 40.0 | 20.0 | 37.5 | 95.2 % |" in out
    assert "| report: table | 1 | 2.0 | 2.0 | 0.0 | 4.8 % |" in out
    # [0, 30] and [0, 10] then [30, 32]: one core free from 10 to 32.
    assert "span 32.0 s" in out
    assert "fewer than 2 jobs running for 22.0 s (22.0 idle core-seconds)" in out


def test_no_benchmark_files_is_one_error_line(tmp_path, capsys):
    assert rule_times.main([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
