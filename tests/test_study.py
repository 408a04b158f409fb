"""The controlled study: swept dataset names, the report's statistics (paired gains, 95%
intervals, runs still learning), its inputs' errors, the config checks, and the workflow (a
dry run of config/study.yaml and the smoke-sized study end to end)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT
from test_workflow import job_counts, snakemake

from relate.data.sweep import SweepDataset, registry_name
from relate.errors import DataError, RelateError
from relate.reports.study import StudyRun, read_study_run, still_learning, study_frame
from relate.tools.workflow_config import _study_problem

T_975_DF5 = 2.570582  # Student-t 97.5% quantile, 5 degrees of freedom (printed tables)


# --- swept dataset names -------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.1, 0.25, 1.0, 3.0, 1e-5])
def test_sweep_name_round_trips(value: float) -> None:
    name = str(SweepDataset("synthetic_gtea", "motion_leak", value))
    parsed = SweepDataset.parse(name)
    assert (parsed.base, parsed.knob, parsed.value) == ("synthetic_gtea", "motion_leak", value)
    assert registry_name(name) == "synthetic_gtea"


def test_sweep_name_formats_and_plain_names() -> None:
    assert str(SweepDataset("synthetic_gtea", "motion_leak", 0.0)) == "synthetic_gtea-motion_leak-0"
    assert str(SweepDataset("synthetic_50salads", "burst_rate", 0.02)) == (
        "synthetic_50salads-burst_rate-0.02"
    )
    assert registry_name("gtea") == "gtea"
    assert SweepDataset.parse("synthetic_breakfast") == SweepDataset("synthetic_breakfast")


@pytest.mark.parametrize("name", ["synthetic_gtea-motion_leak", "a-b-c-d", "x-Knob-1", "x-k-1.2.3"])
def test_bad_sweep_names_are_refused(name: str) -> None:
    with pytest.raises(RelateError, match="dataset name"):
        SweepDataset.parse(name)


# --- statistics ----------------------------------------------------------------------------


def _run(method: str, split: int, seed: int, f1: float, value: float = 0.0) -> StudyRun:
    return StudyRun(
        segmenter="mstcn",
        value=value,
        method=method,
        split=split,
        seed=seed,
        scores={"f1@50": f1, "edit": f1 / 2, "acc": 50.0},
        epochs=50,
        still_learning=None,
        commit="abc",
        data="d",
        machine="m",
    )


def test_gain_is_the_mean_of_paired_differences_with_a_t_interval() -> None:
    pairs = [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]
    rgb = [30.0, 35.0, 28.0, 40.0, 33.0, 31.0]
    gains = [5.0, 1.0, 4.0, -2.0, 6.0, 3.0]
    runs = [_run("rgb", sp, se, r) for (sp, se), r in zip(pairs, rgb)]
    # listed in another order: the pairing goes by (split, seed), not by position
    runs += [
        _run("relate", sp, se, r + g) for (sp, se), r, g in reversed(list(zip(pairs, rgb, gains)))
    ]
    frame = study_frame(runs, "rgb")
    row = frame[(frame["method"] == "relate") & (frame["metric"] == "f1@50")].iloc[0]
    mean = sum(gains) / 6
    sd = (sum((g - mean) ** 2 for g in gains) / 5) ** 0.5
    assert row["gain"] == pytest.approx(mean)
    assert row["gain_lo"] == pytest.approx(mean - T_975_DF5 * sd / 6**0.5, abs=1e-5)
    assert row["gain_hi"] == pytest.approx(mean + T_975_DF5 * sd / 6**0.5, abs=1e-5)
    assert row["mean"] == pytest.approx(sum(r + g for r, g in zip(rgb, gains)) / 6)
    assert (row["n"], row["pairs"]) == (6, 6)
    base = frame[(frame["method"] == "rgb") & (frame["metric"] == "acc")].iloc[0]
    assert base["gain"] == 0.0 and base["std"] == 0.0


def test_unpaired_runs_are_left_out_of_the_gain() -> None:
    runs = [_run("rgb", 1, 0, 10.0), _run("rgb", 1, 1, 20.0), _run("kd", 1, 0, 15.0)]
    runs.append(_run("kd", 2, 5, 99.0))  # no rgb run with split 2, seed 5
    frame = study_frame(runs, "rgb")
    row = frame[(frame["method"] == "kd") & (frame["metric"] == "f1@50")].iloc[0]
    assert (row["pairs"], row["gain"]) == (1, 5.0)
    assert row["gain_lo"] != row["gain_lo"]  # NaN: one pair has no interval


def test_two_scores_of_one_run_are_refused() -> None:
    with pytest.raises(DataError, match="two scores of rgb"):
        study_frame([_run("rgb", 1, 0, 1.0), _run("rgb", 1, 0, 2.0)], "rgb")


def _log(folder: Path, losses: list[float]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"epoch": i + 1, "loss": {"total": x}}) for i, x in enumerate(losses)]
    (folder / "log.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def test_still_learning_compares_the_last_two_tenths(tmp_path: Path) -> None:
    flat = [10.0] * 40 + [5.0, 5.1, 4.9, 5.0, 5.0, 5.0, 5.1, 4.9, 5.0, 5.0]
    assert still_learning(_log(tmp_path / "flat", flat)) is False
    falling = [100.0 - i for i in range(50)]  # last 5 epochs 5 points below the 5 before
    assert still_learning(_log(tmp_path / "falling", falling)) is True
    assert still_learning(_log(tmp_path / "one", [1.0])) is None
    assert still_learning(tmp_path / "missing") is None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/log.jsonl").write_text("{not json\n")
    with pytest.raises(DataError, match="not a training log"):
        still_learning(tmp_path / "bad")


# --- inputs --------------------------------------------------------------------------------


def _metrics(path: Path, generator: dict | None = None, label: str = "rgb") -> Path:
    record = {
        "dataset": "synthetic_gtea",
        "synthetic": True,
        "split": 1,
        "seed": 0,
        "convention": "standard",
        "label": label,
        "metrics": {"f1@10": 1.0, "f1@25": 1.0, "f1@50": 1.0, "edit": 1.0, "acc": 1.0},
        "run": {"segmenter": "mstcn", "preset": "paper_literal", "epochs": 50, "run": "nowhere"},
        "generator": generator,
    }
    path.write_text(json.dumps(record))
    return path


def test_a_score_names_its_knob_value_and_method(tmp_path: Path) -> None:
    config = {"motion_leak": 0.2, "n_videos": 16, "min_frames": 100, "max_frames": 300}
    run = read_study_run(
        _metrics(tmp_path / "m.json", {"seed": 0, "config": config}, "relate"), "motion_leak"
    )
    assert (run.value, run.method, run.epochs) == (0.2, "relate (paper_literal)", 50)
    assert run.data == "synthetic_gtea: 16 videos of 100-300 frames, generator seed 0"
    with pytest.raises(DataError, match="no generator setting 'motion_leak'"):
        read_study_run(_metrics(tmp_path / "real.json"), "motion_leak")


def test_report_cli_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "report/study.md"
    bad = _metrics(tmp_path / "real.json")
    result = subprocess.run(
        [sys.executable, "-m", "relate", "report", "study", "--metrics", str(bad),
         "--knob", "motion_leak", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: no generator setting 'motion_leak' (not scored on a swept synthetic "
        "dataset)"
    ]
    assert not out.parent.exists() or not any(out.parent.iterdir())


# --- config checks -------------------------------------------------------------------------


def _config(**study) -> dict:
    base = {"name": "s", "dataset": "gtea", "knob": "motion_leak", "values": {"mstcn": [0]},
            "rows": ["rgb", "two_stream", "relate"]}  # fmt: skip
    return {"data": {"source": "synthetic"}, "study": {**base, **study}}


def test_study_config_checks() -> None:
    assert _study_problem(_config()) is None
    assert _study_problem({"data": {"source": "synthetic"}}) is None
    path, words = _study_problem(_config(knob="grammar"))
    assert path == ("study", "knob") and "not a numeric generator setting" in words
    path, words = _study_problem(_config(presets={"paper_literal": ["rgb"]}))
    assert path == ("study", "presets", "paper_literal", 0) and "relate rows only" in words
    path, words = _study_problem(_config(rows=["rgb", "relate"]))
    assert path == ("study", "reference") and "two_stream" in words
    path, words = _study_problem(_config(rows=["rgb", "two_stream", "nonsense"]))
    assert path == ("study", "rows", 2) and "unknown paper row" in words
    path, words = _study_problem(_config(rows_for={"asformer": ["rgb", "kd"]}))
    assert path == ("study", "rows_for", "asformer", 1) and "not among" in words
    path, words = _study_problem(_config(rows_for={"asformer": ["rgb", "relate"]}))
    assert path == ("study", "rows_for", "asformer") and "reference row 'two_stream'" in words
    real = {**_config(), "data": {"source": "download"}}
    assert _study_problem(real)[0] == ("data", "source")


# --- workflow ------------------------------------------------------------------------------


def test_study_config_plans_every_run_of_the_sweep(tmp_path: Path) -> None:
    result = snakemake(
        tmp_path, "--cores", "2", "--dry-run", "--configfile", str(REPO_ROOT / "config/study.yaml")
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout)
    study = yaml.safe_load((REPO_ROOT / "config/study.yaml").read_text())["study"]
    assert set(study["rows"]) == {"rgb", "two_stream", "flow", "kd", "relate_wo_pr", "relate"}
    expected = {"train": 0, "train_bridge": 0, "predict": 0, "evaluate": 0}
    for segmenter, values in study["values"].items():
        cells = len(values) * 2 * 3  # splits x seeds
        literal = segmenter in study.get("presets_with", study["values"])
        # rgb, two_stream, flow (also kd's teacher), kd, relate and its teacher; with the
        # paper_literal rows also that preset's relate, teacher and bridge
        expected["train"] += cells * (6 + 2 * literal)
        expected["train_bridge"] += cells * literal
        expected["predict"] += cells * (5 + literal)  # relate_wo_pr: a head of relate's run
        expected["evaluate"] += cells * (6 + 2 * literal)
    assert {rule: counts[rule] for rule in expected} == expected
    values = len(set(v for vs in study["values"].values() for v in vs))
    assert counts["synth_sweep_dataset"] == counts["probe_dataset"] == values
    assert counts["study_report"] == 1 and "table" not in counts
    assert "synthetic_gtea-motion_leak-0.2/split2/mstcn/relate" in result.stdout
    assert "mstcn/teacher-paper_literal" in result.stdout
    assert "asformer/relate" in result.stdout  # presets_with: no paper_literal ASFormer runs
    assert "asformer/teacher-paper_literal" not in result.stdout


def test_smoke_study_runs_end_to_end(tmp_path: Path) -> None:
    config = str(REPO_ROOT / "config/study_smoke.yaml")
    result = snakemake(tmp_path, "--cores", "2", "--configfile", config)
    assert result.returncode == 0, result.stderr[-3000:]
    reports = tmp_path / "results/study_smoke/reports"
    text = (reports / "cmkd_leak.md").read_text()
    head = text.split("\n## ", 1)[0]
    for words in ("SYNTHETIC", "synthetic_gtea: 8 videos", "Seeds: 0, 1; splits: 1",
                  "Epochs: mstcn 2", "Commit: "):  # fmt: skip
        assert words in head, words
    assert (reports / "cmkd_leak.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    csv = (reports / "cmkd_leak.csv").read_text().splitlines()
    # 4 methods (rgb, two_stream, relate, relate (paper_literal)) x 2 values x 3 metrics
    assert len(csv) == 1 + 4 * 2 * 3
    assert "| relate (paper_literal)" in text.replace("  ", " ")
    again = snakemake(tmp_path, "--cores", "2", "--configfile", config, "--dry-run")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_report_of_partial_results_marks_missing_cells(tmp_path: Path) -> None:
    from relate.reports.study_report import write_study_report

    paths = []
    for name, value, seed in [("rgb", 0.0, 0), ("rgb", 1.0, 0), ("two_stream", 0.0, 0),
                              ("two_stream", 0.0, 1)]:  # fmt: skip
        config = {"motion_leak": value, "n_videos": 8, "min_frames": 80, "max_frames": 240}
        path = _metrics(
            tmp_path / f"{name}-{value}-{seed}.json", {"seed": 0, "config": config}, name
        )
        record = json.loads(path.read_text())
        record["seed"], record["run"]["preset"] = seed, None
        path.write_text(json.dumps(record))
        paths.append(path)
    out = tmp_path / "out/study.md"
    frame = write_study_report(paths, [], "motion_leak", "rgb", "two_stream", out)
    text = out.read_text()
    assert "nan" not in text.lower()
    gains = text.split("Gain over rgb: mean", 1)[1].split("Runs still learning", 1)[0]
    cells = {
        tuple(c.strip() for c in line.strip("|").split("|")[:2]): line.strip("|").split("|")[2]
        for line in gains.splitlines()
        if line.startswith("|") and "---" not in line and "metric" not in line
    }
    # two_stream at 0: one pair (seed 0), a gain without interval; at 1: no runs, "-"
    assert cells[("0", "Acc")].strip() == "+0.0"
    assert cells[("1", "Acc")].strip() == "-"
    row = frame[(frame["method"] == "two_stream") & (frame["metric"] == "acc")]
    assert list(row["pairs"]) == [1] and list(row["n"]) == [2]
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert out.with_suffix(".csv").exists()
