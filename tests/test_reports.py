"""Report builders: Tables 1-4, side tables, scorecard, Figs. 1 and 4 and `relate report`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TINY_CLASSES, TINY_SPLITS, TINY_VIDEOS, frames

from relate.cli import main
from relate.errors import DataError, RelateError
from relate.reports import scorecard as sc
from relate.reports.figures import fig1, fig4, parse_prediction_spec
from relate.reports.paper_results import load_paper_results, paper_value, parse_row
from relate.reports.tables import (
    FRAME_COLUMNS,
    METRICS,
    collect,
    convention_table,
    paper_table,
    preset_table,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_metrics(
    folder: Path,
    row: str,
    split: int,
    seed: int,
    scores: dict[str, float] | float,
    dataset: str = "gtea",
    segmenter: str = "mstcn",
    convention: str = "standard",
    preset: str | None = None,
    synthetic: bool = False,
    epochs: int = 5,
    override: dict | None = None,
) -> Path:
    """A `relate evaluate` JSON as the workflow writes it; ``override`` replaces top-level keys."""
    spec = parse_row(row)
    if not isinstance(scores, dict):
        scores = {m: float(scores) for m in METRICS}
    record = {
        "dataset": dataset,
        "split": split,
        "convention": convention,
        "head": spec.head,
        "label": row,
        "seed": seed,
        "synthetic": synthetic,
        "metrics": scores,
        "videos": 2,
        "per_video": {},
        "provenance": {},
        "run": {
            "segmenter": segmenter,
            "variant": spec.variant,
            "epochs": epochs,
            "seed": seed,
            "preset": preset,
            "options": dict(spec.options),
            "refine": None,
            "run": "runs/x",
        },
    }
    record.update(override or {})
    name = f"{dataset}_{segmenter}_{row}_{convention}_{preset}_s{split}_seed{seed}.json"
    path = folder / name.replace(":", "-").replace("=", "-")
    path.write_text(json.dumps(record))
    return path


def paper_frame(**overrides: float) -> pd.DataFrame:
    """The paper's own numbers as a one-seed, one-split frame (every distinct cell once).

    ``overrides``: ``"dataset|segmenter|row|metric" -> value`` with ``|`` separators.
    """
    paper = load_paper_results()
    values = paper.drop_duplicates(["dataset", "segmenter", "row", "metric"])
    lines = []
    for (dataset, segmenter, row), group in values.groupby(["dataset", "segmenter", "row"]):
        scores = dict(zip(group["metric"], group["value"]))
        for key, value in overrides.items():
            d, s, r, m = key.split("|")
            if (d, s, r) == (dataset, segmenter, row):
                scores[m] = value
        spec = parse_row(row)
        lines.append(
            {
                "dataset": dataset,
                "segmenter": segmenter,
                "row": row,
                "variant": spec.variant,
                "preset": "release",
                "convention": "standard",
                "split": 1,
                "seed": 0,
                "epochs": 1,
                "synthetic": False,
                "head": spec.head,
                "options": "{}",
                **scores,
                "path": "paper",
            }
        )
    return pd.DataFrame(lines, columns=list(FRAME_COLUMNS))


def test_paper_frame_has_no_conflicting_duplicates() -> None:
    # The same (dataset, segmenter, row, metric) printed in two tables has one value.
    paper = load_paper_results()
    counts = paper.groupby(["dataset", "segmenter", "row", "metric"])["value"].nunique()
    assert counts.max() == 1


# --- Table 1 ------------------------------------------------------------------------------


@pytest.fixture
def table1_files(tmp_path: Path) -> list[Path]:
    # gtea/mstcn/relate: seed 0 splits (70, 72) -> 71; seed 1 splits (73, 75) -> 74.
    files = []
    for seed, (a, b) in ((0, (70.0, 72.0)), (1, (73.0, 75.0))):
        files.append(write_metrics(tmp_path, "relate", 1, seed, a))
        files.append(write_metrics(tmp_path, "relate", 2, seed, b))
    files.append(write_metrics(tmp_path, "rgb", 1, 0, {**{m: 60.0 for m in METRICS}, "acc": 65.5}))
    return files


def test_table1_cells_by_hand(table1_files: list[Path]) -> None:
    frame = collect(table1_files)
    assert len(frame) == 5 and set(frame["preset"]) == {"release", "-"}
    markdown, csv = paper_table(1, frame)
    cell = csv[
        (csv["dataset"] == "gtea")
        & (csv["segmenter"] == "mstcn")
        & (csv["row"] == "relate")
        & (csv["metric"] == "f1@50")
    ].iloc[0]
    assert cell["mean"] == pytest.approx(72.5)
    assert cell["std"] == pytest.approx(math.sqrt(((71 - 72.5) ** 2 + (74 - 72.5) ** 2) / 1))
    assert cell["paper"] == paper_value(1, "gtea", "mstcn", "relate", "f1@50") == 71.0
    assert cell["delta"] == pytest.approx(72.5 - 71.0)
    assert (cell["n_seeds"], cell["seeds"], cell["splits"]) == (2, "0,1", "1,2")
    assert "72.5 ± 2.1 (71.0; +1.5)" in markdown
    # One seed: no ±; Acc 65.5 vs paper 70.6.
    assert "65.5 (70.6; -5.1)" in markdown
    # Every paper cell is listed; the ones without runs say so and invent nothing.
    assert len(csv) == 180
    assert (csv["status"] == "ok").sum() == 10
    not_run = csv[csv["status"] == "not run"]
    assert not_run["mean"].isna().all() and not_run["delta"].isna().all()
    assert "not run (69.8)" in markdown  # gtea mstcn two_stream F1@50
    assert "- Data: real datasets (gtea)." in markdown
    assert "Seeds: 0,1; splits: gtea 1,2" in markdown
    assert "Epochs (run.epochs, run.lr): 5 for every run" in markdown


def test_table_other_convention_and_preset_are_not_mixed_in(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate", 1, 0, 50.0),
        write_metrics(tmp_path, "relate", 1, 0, 90.0, convention="relate_release"),
        write_metrics(tmp_path, "relate", 1, 0, 10.0, preset="paper_literal"),
    ]
    frame = collect(files)
    _, csv = paper_table(1, frame)
    assert csv[(csv["row"] == "relate") & (csv["status"] == "ok")]["mean"].tolist() == [50.0] * 5
    _, csv = paper_table(1, frame, preset="paper_literal")
    assert csv[(csv["row"] == "relate") & (csv["status"] == "ok")]["mean"].tolist() == [10.0] * 5


def test_baselines_have_no_preset_and_appear_under_both(tmp_path: Path) -> None:
    frame = collect([write_metrics(tmp_path, "rgb", 1, 0, 50.0, preset=None)])
    assert frame["preset"].tolist() == ["-"]
    for preset in ("release", "paper_literal"):
        _, csv = paper_table(1, frame, preset=preset)
        assert (csv["status"] == "ok").sum() == 5


def test_seeds_with_different_splits_name_the_row(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate_wo_pr", 1, 0, 50.0),
        write_metrics(tmp_path, "relate_wo_pr", 2, 0, 50.0),
        write_metrics(tmp_path, "relate_wo_pr", 1, 1, 50.0),
    ]
    with pytest.raises(RelateError, match=r"'relate_wo_pr'.*seed 0: splits 1,2; seed 1: splits 1"):
        paper_table(1, collect(files))


def test_duplicate_run_is_an_error(tmp_path: Path) -> None:
    first = write_metrics(tmp_path, "rgb", 1, 0, 50.0)
    second = tmp_path / "copy.json"
    second.write_text(first.read_text())
    with pytest.raises(DataError, match=r"copy\.json: duplicate run .*row=rgb.*seed=0"):
        collect([first, second])


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"seed": None}, "bad or missing `seed`"),
        ({"label": ""}, "no `label`"),
        ({"label": "relate:aga=both"}, "not canonical"),
        ({"head": "joint"}, "scored on head 'final', this file on head 'joint'"),
        (
            {"metrics": {"f1@10": 1, "f1@25": 1, "f1@50": 1, "edit": 1, "acc": 101}},
            "metrics['acc'] is 101",
        ),
        ({"run": None}, "no `run.segmenter`"),
        ({"split": "1"}, "bad `split`"),
    ],
)
def test_bad_fields_are_one_line_errors_naming_the_file(tmp_path: Path, changes, words) -> None:
    path = write_metrics(tmp_path, "relate", 1, 0, 50.0, override=changes)
    with pytest.raises(DataError) as error:
        collect([path])
    message = str(error.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_label_must_match_the_runs_options(tmp_path: Path) -> None:
    path = write_metrics(tmp_path, "relate_wo_pr:aga=none", 1, 0, 50.0)
    record = json.loads(path.read_text())
    record["run"]["options"] = {}
    path.write_text(json.dumps(record))
    with pytest.raises(DataError, match="needs aga=none, the run has aga=both"):
        collect([path])


def test_synthetic_header_and_stand_in(tmp_path: Path) -> None:
    files = [write_metrics(tmp_path, "rgb", 1, 0, 40.0, dataset="synthetic", synthetic=True)]
    frame = collect(files)
    markdown, csv = paper_table(1, frame)
    assert (csv["status"] == "ok").sum() == 0  # synthetic runs fill no paper cell by default
    markdown, csv = paper_table(1, frame, dataset_from={"gtea": "synthetic"})
    assert "**SYNTHETIC**" in markdown and "NOT comparable to the paper" in markdown
    assert "the GTEA cells are filled from dataset `synthetic`" in markdown
    ok = csv[csv["status"] == "ok"]
    assert set(ok["dataset"]) == {"gtea"} and set(ok["source_dataset"]) == {"synthetic"}
    assert ok["synthetic"].all()


# --- Tables 2-4 ---------------------------------------------------------------------------


@pytest.mark.parametrize("table_id,cells", [(1, 180), (2, 36), (3, 35), (4, 42)])
def test_the_papers_own_numbers_reproduce_every_cell(table_id: int, cells: int) -> None:
    _, csv = paper_table(table_id, paper_frame())
    assert len(csv) == cells
    ran = csv[csv["status"] == "ok"]
    metrics = ran[ran["metric"].isin(METRICS)]
    assert len(metrics) == len(csv[csv["metric"].isin(METRICS)])
    assert (metrics["delta"].abs() < 1e-9).all()
    # Printed averages are within 0.05 of the mean of their cells (docs/paper_results.md).
    assert (ran[ran["metric"] == "avg"]["delta"].abs() <= 0.05 + 1e-9).all()
    assert (ran[ran["metric"] == "avg_gain"]["delta"].abs() <= 0.1 + 1e-9).all()


def test_table2_avg_column(tmp_path: Path) -> None:
    scores = {"f1@10": 80.0, "f1@25": 78.0, "f1@50": 70.0, "edit": 72.0, "acc": 80.0}
    files = [write_metrics(tmp_path, "relate_wo_pr", 1, 0, scores, dataset="50salads")]
    markdown, csv = paper_table(2, collect(files))
    avg = csv[(csv["row"] == "relate_wo_pr") & (csv["metric"] == "avg")].iloc[0]
    assert avg["mean"] == pytest.approx(76.0)
    assert avg["paper"] == 75.1 and avg["delta"] == pytest.approx(0.9)
    assert "76.0 (75.1; +0.9)" in markdown
    assert len(csv) == 6 * 6  # 6 rows x (5 metrics + Avg)


def test_table3_avg_gain_over_naive(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate_wo_pr", 1, 0, 80.0, segmenter="asformer"),
        write_metrics(tmp_path, "relate_wo_pr:fusion=naive", 1, 0, 77.0, segmenter="asformer"),
    ]
    markdown, csv = paper_table(3, collect(files))
    gain = csv[(csv["row"] == "relate_wo_pr") & (csv["metric"] == "avg_gain")].iloc[0]
    assert gain["mean"] == pytest.approx(3.0) and gain["paper"] == 3.6
    assert "+3.0 (+3.6)" in markdown
    other = csv[
        (csv["row"] == "relate_wo_pr:fusion=cross_attention") & (csv["metric"] == "avg_gain")
    ].iloc[0]
    assert other["status"] == "not run"


# --- side tables --------------------------------------------------------------------------


def test_convention_table_difference(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate", 1, 0, 60.0),
        write_metrics(tmp_path, "relate", 1, 0, 62.5, convention="relate_release"),
        write_metrics(tmp_path, "relate_wo_pr", 1, 0, 55.0),
        write_metrics(tmp_path, "rgb", 1, 0, 40.0),
        write_metrics(tmp_path, "rgb", 1, 0, 41.0, convention="relate_release"),
    ]
    markdown, csv = convention_table(collect(files))
    assert set(csv["row"]) == {"relate", "relate_wo_pr"}  # RELATE rows only
    diff = csv[(csv["row"] == "relate") & (csv["convention"] == "relate_release − standard")]
    assert diff["mean"].tolist() == pytest.approx([2.5] * 6)
    assert "| +2.5" in markdown
    missing = csv[(csv["row"] == "relate_wo_pr") & (csv["convention"] == "relate_release")]
    assert missing["mean"].isna().all() and "not run" in markdown


def test_preset_table_difference(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate", 1, 0, 60.0),
        write_metrics(tmp_path, "relate", 1, 0, 57.0, preset="paper_literal"),
        write_metrics(tmp_path, "relate", 1, 1, 59.0, preset="paper_literal"),
    ]
    markdown, csv = preset_table(collect(files))
    literal = csv[(csv["preset"] == "paper_literal") & (csv["metric"] == "acc")].iloc[0]
    assert literal["mean"] == pytest.approx(58.0)
    assert literal["std"] == pytest.approx(math.sqrt(2.0))
    diff = csv[(csv["preset"] == "paper_literal − release") & (csv["metric"] == "acc")]
    assert diff["mean"].iloc[0] == pytest.approx(-2.0)
    assert "58.0 ± 1.4" in markdown


# --- scorecard ----------------------------------------------------------------------------


def verdicts(frame: pd.DataFrame, **kwargs) -> dict[str, sc.Claim]:
    return {claim.key: claim for claim in sc.claims(frame, **kwargs)}


def test_scorecard_on_the_papers_own_numbers() -> None:
    found = verdicts(paper_frame())
    holds = [
        "T1.f1_50",
        "T1.all",
        "T1.largest_gain",
        "T1.pr",
        "T1.asformer_50salads",
        "F3.two_stream_f1",
        "T2.rows_2_3",
        "T2.aga_flow",
        "T2.aga_both",
        "T2.full",
        "T3.aft",
        "T3.attentive",
        "T4.kd_dual",
        "T4.kd_single",
        "T4.improves",
        "X.dual_over_kd",
    ]
    for key in holds:
        assert found[key].verdict == sc.HOLDS, (key, found[key].evidence)
    # Erratum E2: Breakfast MS-TCN RGB beats two-stream on F1@10/25.
    assert found["T1.two_stream"].verdict == sc.FAILS
    evidence = found["T1.two_stream"].evidence
    assert any("breakfast/mstcn" in line and "✗" in line for line in evidence)
    # No flow/mars rows, no latency: not run.
    for key in ("F3.rgb_vs_flow", "F1.mars", "F3.speedup", "F3.flow_share"):
        assert found[key].verdict == sc.NOT_RUN
    assert "mean F1 RELATE 79.7, two-stream 79.7" in found["F3.two_stream_f1"].evidence[0]


def test_scorecard_verdicts_flip_with_the_numbers() -> None:
    broken = paper_frame(
        **{
            "50salads|asformer|relate|f1@50": 60.0,  # below its RGB (69.7)
            "gtea|asformer|relate_wo_pr:fusion=naive|acc": 99.0,  # naive Avg above AFT
            "breakfast|mstcn|rkd|f1@10": 90.0,  # RKD above KD on Avg
        }
    )
    found = verdicts(broken)
    assert found["T1.f1_50"].verdict == sc.FAILS
    assert any("50salads/asformer" in x and "✗" in x for x in found["T1.f1_50"].evidence)
    assert found["T3.aft"].verdict == sc.FAILS
    assert found["T4.kd_single"].verdict == sc.FAILS
    assert found["T4.kd_dual"].verdict == sc.HOLDS


def test_scorecard_not_run_on_empty_and_stand_in(tmp_path: Path) -> None:
    assert {c.verdict for c in sc.claims(collect([]))} == {sc.NOT_RUN}
    files = [
        write_metrics(tmp_path, "relate", 1, 0, 80.0, dataset="synthetic", synthetic=True),
        write_metrics(tmp_path, "two_stream", 1, 0, 79.5, dataset="synthetic", synthetic=True),
    ]
    frame = collect(files)
    assert verdicts(frame)["F3.two_stream_f1"].verdict == sc.NOT_RUN
    found = verdicts(frame, dataset_from={"gtea": "synthetic"})
    assert found["F3.two_stream_f1"].verdict == sc.HOLDS
    # One stand-in for every paper dataset: comparing datasets is meaningless.
    same = {d: "synthetic" for d in ("gtea", "50salads", "breakfast")}
    rgb = write_metrics(tmp_path, "rgb", 1, 0, 50.0, dataset="synthetic", synthetic=True)
    found = verdicts(collect([*files, rgb]), dataset_from=same)
    assert found["T1.largest_gain"].verdict == sc.NOT_RUN
    assert found["T1.f1_50"].verdict == sc.HOLDS


def test_latency_claims(tmp_path: Path) -> None:
    report = {
        "schema": "relate-latency",
        "setups": {
            "relate": {"total_median_s": 5.7, "stages": [{"stage": "segmenter", "median_s": 5.7}]},
            "two_stream": {
                "total_median_s": 1008.0,
                "stages": [
                    {"stage": "tvl1", "median_s": 996.0},
                    {"stage": "i3d_rgb", "median_s": 12.0},
                ],
            },
            "rgb": {"total_median_s": None},
        },
    }
    path = tmp_path / "latency.json"
    path.write_text(json.dumps(report))
    totals = sc.load_latency_totals(path)
    assert set(totals) == {"relate", "two_stream"}  # the bad setup is skipped
    found = verdicts(collect([]), latency=totals)
    assert found["F3.speedup"].verdict == sc.HOLDS and "176.8×" in found["F3.speedup"].evidence[0]
    assert found["F3.flow_share"].verdict == sc.HOLDS
    assert "98.8%" in found["F3.flow_share"].evidence[0]
    totals["relate"]["total_median_s"] = 2000.0
    assert verdicts(collect([]), latency=totals)["F3.speedup"].verdict == sc.FAILS
    with pytest.raises(DataError, match="cannot read latency JSON"):
        sc.load_latency_totals(tmp_path / "missing.json")


def test_scorecard_markdown_lists_interpretations(tmp_path: Path) -> None:
    files = [
        write_metrics(tmp_path, "relate", 1, 0, 70.0, synthetic=True),
        write_metrics(tmp_path, "rgb", 1, 0, 60.0, synthetic=True),
        write_metrics(tmp_path, "relate", 1, 0, 65.0, preset="paper_literal", synthetic=True),
    ]
    text = sc.scorecard(collect(files))
    assert "- **holds**: RELATE beats RGB on F1@50" in text
    assert "`relate` vs `rgb`, gtea/mstcn (n=1, n=1): F1@50 70.0 vs 60.0" in text
    assert "**SYNTHETIC**" in text
    assert "### Preset `paper_literal`" in text and "| trunk " in text
    assert "### Preset `release`" in text
    assert "[Table 1: performance comparison](table1.md)" in text


# --- figures ------------------------------------------------------------------------------


def assert_png(path: Path, min_bytes: int = 5000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > min_bytes


def test_fig1_png_and_numbers(tmp_path: Path) -> None:
    files = [write_metrics(tmp_path, "rgb", 1, seed, 60.0 + seed) for seed in (0, 1)]
    files += [write_metrics(tmp_path, "relate", 1, 0, 70.0)]
    out = tmp_path / "fig" / "fig1.png"
    data = fig1(collect(files), out)
    assert_png(out)
    rgb = data[(data["row"] == "rgb") & (data["quantity"] == "mean_f1")].iloc[0]
    assert rgb["mean"] == pytest.approx(60.5) and rgb["std"] == pytest.approx(math.sqrt(0.5))
    with pytest.raises(RelateError, match="no `rgb`, `mars` or `relate` runs"):
        fig1(collect([write_metrics(tmp_path, "two_stream", 1, 0, 50.0)]), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def write_npz(path: Path, videos: list[str], heads=("final", "joint"), split: int = 1) -> Path:
    arrays = {}
    for video in videos:
        labels = frames(TINY_VIDEOS[video])
        ids = np.array([TINY_CLASSES.index(x) for x in labels])
        for shift, head in enumerate(heads):
            probs = np.full((len(TINY_CLASSES), len(ids)), 0.1, np.float32)
            probs[np.roll(ids, shift), np.arange(len(ids))] = 0.8
            arrays[f"{video}/{head}"] = probs
    meta = {
        "classes": {str(i): n for i, n in enumerate(TINY_CLASSES)},
        "heads": list(heads),
        "split": split,
    }
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


def test_fig4_png(tiny_dataset: Path, tmp_path: Path) -> None:
    npz = write_npz(tmp_path / "p.npz", TINY_SPLITS[1])
    out = tmp_path / "fig4.png"
    bars = fig4(
        {"RGB": npz, "RELATE (w/o PR)": (npz, "joint")},
        tiny_dataset,
        1,
        "S1_a",
        out,
        dataset="gtea",
    )
    assert_png(out)
    truth = frames(TINY_VIDEOS["S1_a"])
    assert bars["ground truth"] == truth and bars["RGB"] == truth
    assert bars["RELATE (w/o PR)"] != truth
    with pytest.raises(DataError, match="no head 'stage9'"):
        fig4({"x": (npz, "stage9")}, tiny_dataset, 1, "S1_a", tmp_path / "y.png")
    with pytest.raises(DataError, match="not a test video of split 1"):
        fig4({"x": npz}, tiny_dataset, 1, "S2_a", tmp_path / "y.png")
    assert not (tmp_path / "y.png").exists()


def test_prediction_spec() -> None:
    assert parse_prediction_spec("relate_wo_pr=a/b.npz") == (
        "relate_wo_pr",
        Path("a/b.npz"),
        "joint",
    )
    assert parse_prediction_spec("Naive=b.npz") == ("Naive", Path("b.npz"), "final")
    assert parse_prediction_spec("x=b.npz:stage2") == ("x", Path("b.npz"), "stage2")
    for bad in ("b.npz", "x=b.txt", "=b.npz"):
        with pytest.raises(RelateError):
            parse_prediction_spec(bad)


# --- CLI ----------------------------------------------------------------------------------


def test_cli_table_scorecard_and_side(table1_files: list[Path], tmp_path: Path, capsys) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(map(str, table1_files[1:])) + "\n# comment\n")
    out = tmp_path / "reports" / "table1.md"
    assert (
        main(
            [
                "report",
                "table",
                "--table",
                "1",
                "--metrics",
                str(table1_files[0]),
                "--metrics-list",
                str(listing),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "72.5 ± 2.1 (71.0; +1.5)" in out.read_text()
    csv = pd.read_csv(out.with_suffix(".csv"))
    assert len(csv) == 180
    index = tmp_path / "reports" / "index.md"
    assert (
        main(["report", "scorecard", "--metrics-list", str(listing), "--out", str(index)]) == 2
    )  # seed 0 lacks split 1 without the first file
    assert "seeds cover different splits" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "scorecard",
                "--metrics-list",
                str(listing),
                "--metrics",
                str(table1_files[0]),
                "--out",
                str(index),
            ]
        )
        == 0
    )
    assert "# RELATE reproduction: scorecard" in index.read_text()
    side = tmp_path / "reports" / "side_presets.md"
    assert (
        main(
            [
                "report",
                "side",
                "--kind",
                "presets",
                "--metrics-list",
                str(listing),
                "--metrics",
                str(table1_files[0]),
                "--out",
                str(side),
            ]
        )
        == 0
    )
    assert side.with_suffix(".csv").exists()


def test_cli_stand_in_video_index_and_bare_latency(tmp_path: Path, tiny_dataset: Path) -> None:
    synth = write_metrics(tmp_path, "relate", 1, 0, 50.0, dataset="synthetic", synthetic=True)
    out = tmp_path / "table1.md"
    assert (
        main(
            [
                "report",
                "table",
                "--table",
                "1",
                "--metrics",
                str(synth),
                "--stand-in",
                "synthetic",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    csv = pd.read_csv(out.with_suffix(".csv"))
    assert set(csv[csv["status"] == "ok"]["dataset"]) == {"gtea", "50salads", "breakfast"}
    assert (
        "the GTEA, 50Salads, Breakfast cells are filled from dataset `synthetic`" in out.read_text()
    )
    index = tmp_path / "index.md"
    assert (
        main(
            [
                "report",
                "scorecard",
                "--metrics",
                str(synth),
                "--stand-in",
                "synthetic",
                "--latency",
                "--out",
                str(index),
            ]
        )
        == 0
    )
    assert "No latency JSON given" in index.read_text()
    npz = write_npz(tmp_path / "p.npz", TINY_SPLITS[1])
    png = tmp_path / "f.png"
    assert (
        main(
            [
                "report",
                "fig4",
                "--data",
                str(tiny_dataset),
                "--split",
                "1",
                "--video-index",
                "1",
                "--predictions",
                f"relate_wo_pr={npz}",
                "--out",
                str(png),
            ]
        )
        == 0
    )
    assert_png(png)
    assert (
        main(
            [
                "report",
                "fig4",
                "--data",
                str(tiny_dataset),
                "--split",
                "1",
                "--video-index",
                "2",
                "--predictions",
                f"x={npz}",
                "--out",
                str(tmp_path / "g.png"),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "fig1",
                "--metrics",
                str(synth),
                "--stand-in",
                "synthetic",
                "--out",
                str(tmp_path / "h.png"),
            ]
        )
        == 2
    )


def test_cli_errors_exit_2_without_output(tmp_path: Path, capsys, tiny_dataset: Path) -> None:
    bad = write_metrics(tmp_path, "relate", 1, 0, 50.0, override={"seed": None})
    out = tmp_path / "t.md"
    assert main(["report", "table", "--table", "1", "--metrics", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bad}:") and err.count("\n") == 1
    assert not out.exists() and not out.with_suffix(".csv").exists()
    assert main(["report", "table", "--table", "1", "--out", str(out)]) == 2
    assert "no metrics files" in capsys.readouterr().err
    assert (
        main(
            [
                "report",
                "table",
                "--table",
                "2",
                "--metrics",
                str(bad.with_name("no.json")),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "scorecard",
                "--metrics",
                str(write_metrics(tmp_path, "rgb", 1, 0, 5.0)),
                "--dataset-from",
                "gtea",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "expected PAPER=SOURCE" in capsys.readouterr().err
    npz = write_npz(tmp_path / "p.npz", TINY_SPLITS[1])
    png = tmp_path / "f.png"
    assert (
        main(
            [
                "report",
                "fig4",
                "--data",
                str(tiny_dataset),
                "--split",
                "1",
                "--video",
                "nope",
                "--predictions",
                f"a={npz}",
                "--out",
                str(png),
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "report",
                "fig4",
                "--data",
                str(tiny_dataset),
                "--dataset",
                "gtea",
                "--split",
                "1",
                "--video",
                "S1_b",
                "--predictions",
                f"a={npz}",
                f"b={npz}:joint",
                "--out",
                str(png),
            ]
        )
        == 0
    )
    assert_png(png)


def test_table_header_gives_each_runs_learning_rate(tmp_path: Path) -> None:
    def run(variant: str, lr: float) -> dict:
        return {"segmenter": "mstcn", "variant": variant, "epochs": 5, "seed": 0, "lr": lr}

    files = [
        write_metrics(tmp_path, "rgb", 1, 0, 60.0, override={"run": run("rgb", 5e-4)}),
        write_metrics(
            tmp_path, "two_stream", 1, 0, 70.0, override={"run": run("two_stream", 1e-3)}
        ),
    ]
    markdown, _ = paper_table(1, collect(files))
    assert (
        "- Epochs (run.epochs, run.lr): mstcn/rgb 5 at lr 0.0005; mstcn/two_stream 5 at lr 0.001"
        in markdown
    )
    bad = write_metrics(
        tmp_path, "relate", 1, 0, 70.0, override={"run": {**run("relate", 1), "lr": "x"}}
    )
    with pytest.raises(DataError, match="run.lr"):
        collect([bad])


def test_table_header_names_each_runs_settings(tmp_path: Path) -> None:
    """A run's segmenter overrides and a step_reset decay inside its epochs reach the header;
    a decay after the last epoch does not."""

    def run(variant: str, decay: int | None, overrides: dict) -> dict:
        return {
            "segmenter": "fact",
            "variant": variant,
            "epochs": 60,
            "seed": 0,
            "lr": 1e-3,
            "lr_decay_every": decay,
            "overrides": overrides,
        }

    files = [
        write_metrics(
            tmp_path, "rgb", 1, 0, 60.0, override={"run": run("rgb", 40, {"tm_use": False})}
        ),
        write_metrics(
            tmp_path, "two_stream", 1, 0, 70.0, override={"run": run("two_stream", 250, {})}
        ),
    ]
    markdown, _ = paper_table(1, collect(files))
    assert (
        "- Epochs (run.epochs, run.lr): fact/rgb 60 at lr 0.001 (lr x0.1 after epoch 40, "
        "tm_use=false); fact/two_stream 60 at lr 0.001\n" in markdown
    )
    bad = write_metrics(
        tmp_path,
        "relate",
        1,
        0,
        70.0,
        override={"run": {**run("relate", None, {}), "overrides": 3}},
    )
    with pytest.raises(DataError, match="run.overrides"):
        collect([bad])
