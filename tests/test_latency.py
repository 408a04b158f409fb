"""Latency harness (fake stages, fake clock), `relate latency` and `relate fig3`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from relate.cli import main
from relate.tools import latency
from relate.tools.latency import Part, StageOptions, StageTask

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class FakeClock:
    """A clock that only moves when a fake stage says it took time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def work(self, durations: Iterable[float], output: Any = None):
        """A part function taking the next of ``durations`` seconds per call."""
        queue = iter(durations)

        def fn(_: Any) -> Any:
            self.now += next(queue)
            return output

        return fn


# ----------------------------------------------------------------------------- harness maths


def test_time_stage_drops_warmup_and_summarizes_exactly() -> None:
    clock = FakeClock()
    task = StageTask("decode", "cpu", (Part("read", clock.work([100, 100, 3, 1, 2, 5, 4])),))
    record, _ = latency.time_stage(task, warmup=2, repeats=5, clock=clock)
    s = record["seconds"]
    assert s["runs"] == [3, 1, 2, 5, 4]  # the two 100 s warm-up runs are not counted
    assert (s["median"], s["min"], s["max"], s["mean"]) == (3, 1, 5, 3)
    assert (s["q1"], s["q3"], s["iqr"]) == (2, 4, 2)
    assert record["extrapolated"] is False and record["parts"]["read"]["factor"] == 1.0


def test_iqr_uses_linear_percentiles() -> None:
    s = latency.summarize_runs([1.0, 2.0, 4.0, 8.0])
    assert s["median"] == 3.0 and s["q1"] == 1.75 and s["q3"] == 5.0 and s["iqr"] == 3.25
    with pytest.raises(ValueError):
        latency.summarize_runs([])


def test_sampled_part_is_extrapolated_linearly_and_others_are_not() -> None:
    clock = FakeClock()
    task = StageTask(
        "i3d_rgb",
        "cpu",
        (
            Part("preprocess", clock.work([0.25] * 3)),
            Part(
                "network",
                clock.work([0.5, 0.5, 0.75]),
                measured_units=2,
                total_units=10,
                unit="windows",
            ),
        ),
    )
    record, _ = latency.time_stage(task, warmup=0, repeats=3, clock=clock)
    assert record["seconds"]["runs"] == [2.75, 2.75, 4.0]  # 0.25 + 5 * network
    network = record["parts"]["network"]
    assert network["extrapolated"] and network["factor"] == 5.0
    counts = (network["measured_units"], network["total_units"], network["unit"])
    assert counts == (2, 10, "windows")
    assert network["measured_seconds"]["median"] == 0.5
    assert record["parts"]["preprocess"]["extrapolated"] is False and record["extrapolated"] is True


def test_sampling_every_unit_is_not_extrapolation() -> None:
    part = Part("tvl1", lambda _: None, measured_units=23, total_units=23, unit="pairs")
    assert part.factor == 1.0 and not part.extrapolated
    with pytest.raises(ValueError):
        Part("x", lambda _: None, measured_units=3, total_units=2)
    with pytest.raises(ValueError):
        Part("x", lambda _: None, measured_units=3)


def test_clock_is_read_between_synchronizations() -> None:
    events: list[str] = []
    clock = lambda: events.append("clock") or 0.0  # noqa: E731
    task = StageTask("segmenter", "cuda", (Part("forward", lambda _: events.append("run")),))
    sync = lambda: events.append("sync")  # noqa: E731
    latency.time_stage(task, warmup=1, repeats=1, clock=clock, synchronize=sync)
    assert events == ["sync", "clock", "run", "sync", "clock"] * 2


def test_parts_chain_outputs_and_last_output_is_returned() -> None:
    task = StageTask("i3d_rgb", "cpu", (Part("a", lambda _: 2), Part("b", lambda x: x * 10)))
    _, output = latency.time_stage(task, warmup=0, repeats=2, clock=FakeClock())
    assert output == 20


def test_sample_slice_is_even_and_exact() -> None:
    assert latency.sample_slice(24, None) == slice(0, 24)
    assert latency.sample_slice(24, 30) == slice(0, 24)
    index = latency.sample_slice(550, 10)
    picked = list(range(550))[index]
    assert len(picked) == 10 == latency.slice_len(index, 550)
    assert len({b - a for a, b in zip(picked, picked[1:])}) == 1  # evenly spaced
    assert picked[0] + picked[-1] in (548, 549, 550)  # centred


# ----------------------------------------------------------------------------- setups


def test_setups_have_exactly_the_paper_stages() -> None:
    assert dict(latency.SETUPS) == {
        "rgb": ("decode", "i3d_rgb", "segmenter"),
        "flow": ("decode", "tvl1", "i3d_flow", "segmenter"),
        "two_stream": ("decode", "tvl1", "i3d_rgb", "i3d_flow", "segmenter"),
        "relate": ("decode", "i3d_rgb", "segmenter", "pr"),
    }
    assert latency.measurement_key("relate", "segmenter") == "relate_model"
    assert latency.measurement_key("two_stream", "segmenter") == "segmenter_2048"
    with pytest.raises(KeyError):
        latency.measurement_key("relate", "tvl1")  # RELATE never computes flow


def test_plan_times_shared_stages_once() -> None:
    plan = latency.plan(["relate", "rgb"])
    assert plan == {
        "decode": ["relate", "rgb"],
        "i3d_rgb": ["relate", "rgb"],
        "segmenter_1024": ["rgb"],
        "relate_model": ["relate"],
        "pr": ["relate"],
    }
    with pytest.raises(ValueError):
        latency.plan(["optical"])


COSTS = {
    "decode": 1.0,
    "tvl1": 900.0,
    "i3d_rgb": 4.0,
    "i3d_flow": 4.5,
    "segmenter_1024": 0.5,
    "segmenter_2048": 0.75,
    "relate_model": 1.5,
    "pr": 0.25,
}


def fake_provider(clock: FakeClock, calls: list[str]):
    def provide(key: str, outputs: dict) -> StageTask:
        calls.append(key)
        if key == "pr":
            assert outputs["relate_model"] == "probs of relate_model"
        if key == "i3d_flow":
            assert outputs["tvl1"] == "probs of tvl1"
        stage = "segmenter" if key.startswith("segmenter") or key == "relate_model" else key
        fn = clock.work([COSTS[key]] * 10, output=f"probs of {key}")
        device = "cpu" if key in ("decode", "tvl1", "pr") else "cuda"
        return StageTask(stage, device, (Part(key, fn),))

    return provide


def run_fake(setups: list[str], **kw: Any) -> tuple[dict, list[str]]:
    clock, calls = FakeClock(), []
    result = latency.run_benchmark(
        setups, fake_provider(clock, calls), warmup=1, repeats=3, clock=clock, **kw
    )
    return result, calls


def test_run_benchmark_totals_and_ratio_are_exact() -> None:
    result, calls = run_fake(list(latency.SETUPS))
    assert calls == list(latency.MEASUREMENTS)  # every measurement once, inputs first
    setups = result["setups"]
    assert setups["rgb"]["total_median_s"] == 1.0 + 4.0 + 0.5
    assert setups["flow"]["total_median_s"] == 1.0 + 900.0 + 4.5 + 0.5
    assert setups["two_stream"]["total_median_s"] == 1.0 + 900.0 + 4.0 + 4.5 + 0.75
    assert setups["relate"]["total_median_s"] == 1.0 + 4.0 + 1.5 + 0.25
    assert result["ratios"]["two_stream_over_relate"] == pytest.approx(910.25 / 6.75)
    relate_stages = [s["stage"] for s in setups["relate"]["stages"]]
    assert relate_stages == ["decode", "i3d_rgb", "segmenter", "pr"]
    assert result["measurements"]["segmenter_1024"]["used_by"] == ["rgb", "flow"]
    assert result["measurements"]["i3d_rgb"]["device"] == "cuda"


def test_build_report_schema_and_provenance() -> None:
    result, _ = run_fake(["two_stream", "relate"])
    result["measurements"]["i3d_rgb"]["extrapolated"] = True
    report = latency.build_report(
        result,
        video={"source": "synthetic", "frames": 550},
        options=StageOptions(sample_windows=8),
        warmup=1,
        repeats=3,
    )
    json.dumps(report)  # JSON-ready
    assert report["schema"] == latency.SCHEMA and report["schema_version"] == latency.SCHEMA_VERSION
    for key in (
        "hardware",
        "threads",
        "versions",
        "provenance",
        "timing",
        "config",
        "notes",
        "shared_measurements",
        "extrapolated_measurements",
    ):
        assert key in report
    assert report["hardware"]["cpu_model"] and "gpu_name" in report["hardware"]
    assert {"torch", "opencv"} <= set(report["threads"]) and "packages" in report["provenance"]
    assert report["config"]["sample_windows"] == 8 and report["config"]["repeats"] == 3
    assert report["shared_measurements"]["i3d_rgb"] == ["two_stream", "relate"]
    assert report["extrapolated_measurements"] == ["i3d_rgb"]
    assert any("randomly initialised" in n for n in report["notes"])
    assert any("Extrapolated" in n and "i3d_rgb" in n for n in report["notes"])


# ----------------------------------------------------------------------------- CLI


def latency_args(out: Path, *extra: str) -> list[str]:
    return [
        "latency",
        "--synthetic-frames",
        "24",
        "--size",
        "64x64",
        "--repeats",
        "1",
        "--warmup",
        "0",
        "--out",
        str(out),
        *extra,
    ]


def test_cli_plumbing_with_fake_stages(tmp_path: Path, monkeypatch, capsys) -> None:
    clock, calls = FakeClock(), []
    monkeypatch.setattr(latency, "VideoStages", lambda path, options: fake_provider(clock, calls))
    monkeypatch.setattr(latency, "run_benchmark", _with_clock(latency.run_benchmark, clock))
    out = tmp_path / "lat.json"
    assert main(latency_args(out, "--setups", "relate,two_stream")) == 0
    report = json.loads(out.read_text())
    assert list(report["setups"]) == ["relate", "two_stream"]
    assert report["video"]["synthetic"] and report["video"]["frames"] == 24
    assert report["command"][:4] == ["relate", "latency", "--synthetic-frames", "24"]
    assert "two_stream / relate total time: 134.9x" in capsys.readouterr().out


def _with_clock(run, clock):
    return lambda *a, **kw: run(*a, **{**kw, "clock": clock})


@pytest.mark.parametrize(
    "args, message",
    [
        (["--video", "{tmp}/absent.mp4"], "absent.mp4: video file not found"),
        (["--synthetic-frames", "24", "--setups", "rgb,optical"], "--setups"),
        (["--synthetic-frames", "24", "--size", "64x48"], "square"),
        (["--synthetic-frames", "24", "--device", "tpu"], "--device"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys, args: list[str], message: str
) -> None:
    out = tmp_path / "lat.json"
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(["latency", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_cli_end_to_end_on_a_tiny_synthetic_video(tmp_path: Path) -> None:
    out = tmp_path / "lat.json"
    sampled = ("--sample-windows", "1", "--sample-pairs", "2", "--i3d-batch", "1")
    assert main(latency_args(out, *sampled)) == 0
    report = json.loads(out.read_text())
    m = report["measurements"]
    assert set(m) == set(latency.MEASUREMENTS)
    assert m["decode"]["info"]["decoded_shape"] == [24, 64, 64, 3]
    net = m["i3d_rgb"]["parts"]["network"]
    assert (net["measured_units"], net["total_units"], net["factor"]) == (1, 24, 24.0)
    tv = m["tvl1"]["parts"]["tvl1"]
    assert (tv["measured_units"], tv["total_units"], tv["extrapolated"]) == (2, 23, True)
    assert m["i3d_flow"]["parts"]["network"]["total_units"] == 24
    assert m["tvl1"]["device"] == "cpu" and m["pr"]["device"] == "cpu"
    for setup in report["setups"].values():
        stage_sum = sum(m[s["measurement"]]["seconds"]["median"] for s in setup["stages"])
        assert setup["total_median_s"] == pytest.approx(stage_sum) and setup["total_median_s"] > 0
    assert report["ratios"]["two_stream_over_relate"] > 1
    assert "random" in m["relate_model"]["info"]["weights"]


# ----------------------------------------------------------------------------- fig3


def write_latency(path: Path, totals: dict[str, float], tvl1: float = 0.0) -> Path:
    with_flow = ("flow", "two_stream")
    setups = {
        name: {
            "total_median_s": total,
            "stages": [{"stage": "tvl1", "median_s": tvl1}] if name in with_flow else [],
        }
        for name, total in totals.items()
    }
    report = {
        "schema": latency.SCHEMA,
        "schema_version": latency.SCHEMA_VERSION,
        "setups": setups,
        "hardware": {"cpu_model": "test CPU", "gpu_name": None},
        "video": {"synthetic": True, "frames": 550},
        "config": {"device": "cpu", "repeats": 3, "dataset": "gtea", "segmenter": "mstcn"},
        "extrapolated_measurements": ["tvl1"],
    }
    path.write_text(json.dumps(report))
    return path


def write_metrics(
    path: Path, f1: tuple[float, float, float], split: int = 1, label: str = "p"
) -> Path:
    metrics = {"acc": 50.0, "edit": 50.0, "f1@10": f1[0], "f1@25": f1[1], "f1@50": f1[2]}
    path.write_text(
        json.dumps(
            {
                "dataset": "gtea",
                "split": split,
                "convention": "standard",
                "synthetic": False,
                "label": label,
                "seed": 0,
                "metrics": metrics,
            }
        )
    )
    return path


def test_fig3_plots_and_reports_speedup(tmp_path: Path, capsys) -> None:
    totals = {"rgb": 5.0, "two_stream": 1000.0, "relate": 8.0}
    lat = write_latency(tmp_path / "lat.json", totals, 980.0)
    ts1 = write_metrics(tmp_path / "ts1.json", (80.0, 70.0, 60.0), 1, "two")
    ts2 = write_metrics(tmp_path / "ts2.json", (90.0, 80.0, 70.0), 2, "two")
    rel = write_metrics(tmp_path / "rel.json", (81.0, 78.0, 66.0), 1, "relate")
    csv = tmp_path / "summary.csv"
    csv.write_text(
        "dataset,convention,predictor,f1@10,f1@25,f1@50\ngtea,standard,rgbonly,70,60,50\n"
    )
    out = tmp_path / "fig" / "fig3.png"
    assert (
        main(
            [
                "fig3",
                "--latency",
                str(lat),
                "--metrics",
                f"two_stream={ts1},{ts2}",
                "--metrics",
                f"relate={rel}",
                "--metrics",
                f"rgb={csv}#rgbonly",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    points = {p["setup"]: p for p in json.loads(out.with_suffix(".json").read_text())["points"]}
    assert points["two_stream"]["mean_f1"] == pytest.approx(75.0)  # splits averaged, then F1s
    assert points["relate"]["mean_f1"] == pytest.approx(75.0)
    assert points["rgb"]["mean_f1"] == pytest.approx(60.0)
    assert points["two_stream"]["seconds"] == 1000.0
    printed = capsys.readouterr().out
    assert "RELATE speedup over two-stream: 125.0x" in printed


@pytest.mark.parametrize(
    "case, message",
    [
        ("no_latency", "latency JSON not found"),
        ("no_metrics", "no --metrics"),
        ("absent_metrics", "metrics file not found"),
        ("setup_not_timed", "no latency for setup 'flow'"),
        ("bad_setup", "expected SETUP=SOURCE"),
        ("csv_row", "0 rows for predictor"),
    ],
)
def test_fig3_missing_input_is_a_one_line_error(tmp_path: Path, capsys, case, message) -> None:
    lat = write_latency(tmp_path / "lat.json", {"rgb": 5.0, "relate": 8.0})
    good = write_metrics(tmp_path / "m.json", (1.0, 2.0, 3.0))
    csv = tmp_path / "s.csv"
    csv.write_text("dataset,convention,predictor,f1@10,f1@25,f1@50\ngtea,standard,x,1,2,3\n")
    metrics = {
        "no_latency": [f"rgb={good}"],
        "no_metrics": [],
        "absent_metrics": [f"rgb={tmp_path}/nope.json"],
        "setup_not_timed": [f"flow={good}"],
        "bad_setup": [f"optical={good}"],
        "csv_row": [f"rgb={csv}#y"],
    }[case]
    latency_path = tmp_path / "absent.json" if case == "no_latency" else lat
    out = tmp_path / "fig3.png"
    argv = ["fig3", "--latency", str(latency_path), "--out", str(out)]
    for item in metrics:
        argv += ["--metrics", item]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_segmenter_choices_match_the_models() -> None:
    from relate.blocks.relate_model import SEGMENTER_NAMES

    assert latency.SEGMENTER_NAMES == SEGMENTER_NAMES


@pytest.mark.parametrize(
    "segmenter",
    [
        "mstcn",
        pytest.param("asformer", marks=pytest.mark.slow),
        pytest.param("fact", marks=pytest.mark.slow),
    ],
)
def test_real_model_stages_run_for_every_segmenter(segmenter: str) -> None:
    import numpy as np

    stages = latency.VideoStages(Path("unused.mp4"), StageOptions(segmenter=segmenter))
    outputs: dict[str, Any] = {"decode": np.zeros((16, 8, 8, 3), np.uint8)}
    for key in ("segmenter_1024", "segmenter_2048", "relate_model", "pr"):
        task = stages(key, outputs)
        record, outputs[key] = latency.time_stage(task, warmup=0, repeats=1)
        assert record["seconds"]["median"] > 0 and record["device"] == ("cpu")
    assert outputs["segmenter_2048"].shape == (11, 16)  # (C, T), GTEA's 11 classes
    assert set(outputs["relate_model"]) == {"rgb", "flow", "joint"}
    assert outputs["pr"].shape == (16, 11)  # (T, C) refined joint probabilities
