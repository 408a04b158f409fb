"""The synthetic datasets shaped like GTEA, 50Salads and Breakfast (``relate synth --like``).

Tolerances (relate.data.synthetic_check.TOLERANCE, docs/synthetic.md): background share
within 0.05 absolute, segments per video within 20 % of the target mean, relative segment
length q25/q50/q75 each within a factor 1.5; classes and splits exact, every class in some
video, every action class in every split's training videos.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from relate.cli import main
from relate.data.layout import DatasetLayout, read_bundle, read_mapping
from relate.data.probe import probe_dataset
from relate.data.registry import DATASETS
from relate.data.synthetic import (
    SynthConfig,
    build_world,
    generate_dataset,
    read_info,
    sample_bursts,
    sample_segments,
    video_plan,
)
from relate.data.synthetic_check import TOLERANCE, check_shape
from relate.data.synthetic_shapes import SHAPES, TARGETS, shape_config, shape_info
from relate.data.synthetic_stats import runs, segment_stats, shape_stats
from relate.data.validate import validate_dataset
from relate.tools.plan.stats import REAL_STATS

LIKES = ("gtea", "50salads", "breakfast")

DEFAULT_DRAWS_SHA256 = "1bfd56ac9f8a9a68511b3e6587919cbfcb7906f6cb428c0548c447d13340dc69"
"""Segments and bursts of every video of ``SynthConfig()`` with seed 0."""


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def shaped(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each shape at its default (demo) size, seed 0."""
    base = tmp_path_factory.mktemp("shapes")
    roots = {}
    for like in LIKES:
        config = shape_config(like)
        generate_dataset(base / like, config, seed=0, extra_info=shape_info(like, config))
        roots[like] = base / like
    return roots


def test_default_dataset_draws_are_unchanged() -> None:
    config = SynthConfig()
    world_seq, *video_seqs = np.random.SeedSequence(0).spawn(1 + config.n_videos)
    world = build_world(config, np.random.default_rng(world_seq))
    digest = hashlib.sha256()
    for (name, _, activity), seq in zip(video_plan(config), video_seqs):
        rng = np.random.default_rng(seq)
        segments = sample_segments(config, world, activity - 1, rng)
        bursts = sample_bursts(config, world, sum(n for _, n in segments), rng)
        digest.update(repr((name, segments, bursts)).encode())
    assert digest.hexdigest() == DEFAULT_DRAWS_SHA256


@pytest.mark.parametrize("like", LIKES)
def test_shape_statistics_are_within_tolerance(like: str, shaped: dict[str, Path]) -> None:
    stats = shape_stats(shaped[like])
    targets = TARGETS[like]
    assert check_shape(stats, targets) == []
    # The same checks, spelled out.
    assert stats["classes"] == targets["classes"] and stats["splits"] == targets["splits"]
    assert abs(stats["background_share"] - targets["background_share"]) <= 0.05
    assert abs(stats["segments_mean"] / targets["segments_mean"] - 1) <= 0.20
    for i in (1, 2, 3):  # q25, q50, q75
        ratio = stats["rel_quantiles"][i] / targets["rel_quantiles"][i]
        assert 1 / 1.5 <= ratio <= 1.5, (i, ratio)
    assert stats["classes_missing"] == []
    assert all(s["missing_in_train"] == [] for s in stats["per_split"].values())
    assert TOLERANCE == {"background_share": 0.05, "segments_mean": 0.2, "rel_quantile_factor": 1.5}


@pytest.mark.parametrize("like", LIKES)
def test_shaped_dataset_matches_its_registry_entry(like: str, shaped: dict[str, Path]) -> None:
    root = shaped[like]
    report = validate_dataset(root)
    assert report.errors == [] and report.warnings == []
    entry, paper = DATASETS[f"synthetic_{like}"], DATASETS[like]
    assert entry.synthetic and entry.stands_in_for == like and not paper.synthetic
    for field in ("fps", "sample_rate", "n_splits", "n_classes", "background"):
        assert getattr(entry, field) == getattr(paper, field), field
    assert entry.release_background == paper.release_background
    mapping = read_mapping(root / "mapping.txt")
    assert report.classes == len(mapping) == entry.n_classes
    info = read_info(root)
    assert info["shape"]["stands_in_for"] == like and info["shape"]["targets"]["classes"] == len(
        mapping
    )
    assert info["background"] == TARGETS[like]["background"]
    for name in (info["background"], entry.release_background, *entry.background):
        assert name is None or name in mapping
    # Leave-one-subject-out: every split has the real dataset's shape, scaled.
    layout = DatasetLayout(root)
    videos = len(list(layout.features_dir.glob("*.npy")))
    tests = [read_bundle(layout.split_path("test", k)) for k in layout.split_indices()]
    assert len(tests) == entry.n_splits and {len(t) for t in tests} == {videos // entry.n_splits}


def test_label_conventions_of_each_shape(shaped: dict[str, Path]) -> None:
    def first_and_last(like: str) -> set[tuple[str, str]]:
        labels = sorted((shaped[like] / "groundTruth").glob("*.txt"))
        return {(p.read_text().split()[0], p.read_text().split()[-1]) for p in labels}

    assert first_and_last("50salads") == {("action_start", "action_end")}
    assert first_and_last("breakfast") == {("SIL", "SIL")}
    assert first_and_last("gtea") == {("background", "background")}
    mapping = read_mapping(shaped["50salads"] / "mapping.txt")
    assert "background" not in mapping and len(mapping) == 19
    assert "SIL" in read_mapping(shaped["breakfast"] / "mapping.txt")


def test_flow_separates_the_motion_pairs_and_rgb_does_not(shaped: dict[str, Path]) -> None:
    result = probe_dataset(shaped["gtea"], split=1)
    rgb, flow = result["modalities"]["rgb"], result["modalities"]["flow"]
    assert flow["within_pair_acc"] > 0.9 and rgb["within_pair_acc"] < 0.7
    assert rgb["pair_acc"] > 0.85  # appearance finds the pair
    assert flow["frame_acc"] > rgb["frame_acc"] + 0.1
    assert rgb["frame_acc"] > result["chance"] + 0.15


def test_generation_is_byte_deterministic_and_the_cli_writes_the_same(tmp_path: Path) -> None:
    config = shape_config("breakfast", n_videos=8, mean_frames=160)
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate_dataset(
            tmp_path / name, config, seed=seed, extra_info=shape_info("breakfast", config)
        )
    a, b, c = (file_hashes(tmp_path / name) for name in "abc")
    assert a == b and a != c
    args = ["synth", "--out", str(tmp_path / "cli"), "--like", "breakfast", "--seed", "3"]
    assert main([*args, "--videos", "8", "--mean-frames", "160"]) == 0
    assert file_hashes(tmp_path / "cli") == a


def test_shape_config_scales_with_the_frames() -> None:
    real = shape_config("gtea", n_videos=28, mean_frames=1115)
    assert real.smooth_frames == 21 and real.frame_noise == pytest.approx(2.0)
    assert real.burst_rate == pytest.approx(0.006, rel=1e-3) and real.burst_length == (10, 45)
    small = shape_config("gtea")
    assert small.smooth_frames == round(21 * 480 / 1115.2)
    assert small.frame_noise == pytest.approx(2.0 * (small.smooth_frames / 21) ** 0.5)
    assert shape_config("50salads").smooth_frames == 1  # 18x fewer frames: no smoothing left
    assert shape_config("gtea", videos_per_split=3).n_videos == 12
    for like, shape in SHAPES.items():
        assert shape.videos % TARGETS[like]["splits"] == 0
        assert TARGETS[like]["mean_frames"] == pytest.approx(REAL_STATS[like][0])
        assert shape_config(like).n_classes == TARGETS[like]["classes"]
    with pytest.raises(ValueError, match="multiple of 5"):
        shape_config("50salads", n_videos=12)
    with pytest.raises(ValueError, match="unknown shape"):
        shape_config("kinetics")


def test_segment_statistics_by_hand() -> None:
    assert runs(list("aabccc")) == [("a", 2), ("b", 1), ("c", 3)]
    stats = segment_stats([list("xxaab"), list("abbbbbbx")], background="x")
    assert stats["background_share"] == pytest.approx(3 / 13)
    assert stats["segments_mean"] == 3 and stats["segments_std"] == 0
    assert stats["action_segments_mean"] == 2
    # Relative lengths 2/5, 2/5, 1/5 and 1/8, 6/8, 1/8: the median is (0.2 + 0.4) / 2.
    assert stats["rel_quantiles"][2] == pytest.approx(0.3)
    assert stats["rel_mean"] == pytest.approx(2 / 6)


def test_cli_shape_stats_and_errors(
    shaped: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "stats.json"
    assert main(["synth", "--shape-stats", str(shaped["50salads"]), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "targets of 50salads" in printed and "| background share" in printed
    assert "NO" not in printed
    result = json.loads(out.read_text())
    assert result["like"] == "50salads" and result["outside_tolerance"] == []

    args = ["synth", "--describe", str(shaped["gtea"]), "--split", "2", "--json", str(out)]
    assert main([*args, "--max-train-frames", "800"]) == 0
    printed = capsys.readouterr().out
    assert "targets of gtea" in printed and "within-pair acc" in printed
    result = json.loads(out.read_text())
    assert result["shape"]["outside_tolerance"] == [] and result["train_frames_used"] == 800

    bad = [
        ["--out", str(tmp_path / "x"), "--like", "gtea", "--videos", "7"],
        ["--out", str(tmp_path / "x"), "--like", "gtea", "--splits", "3"],
        ["--out", str(tmp_path / "x"), "--like", "gtea", "--set", "n_unpaired=2"],
        ["--out", str(tmp_path / "x"), "--mean-frames", "300"],
        ["--out", str(tmp_path / "x"), "--like", "gtea", "--mean-frames", "20"],
        ["--shape-stats", str(tmp_path / "missing")],
    ]
    for args in bad:
        assert main(["synth", *args]) == 2, args
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == len(bad) and all(line.startswith("error: ") for line in errors)
    assert not (tmp_path / "x").exists()
