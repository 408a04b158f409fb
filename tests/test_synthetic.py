"""The synthetic generator, the modality probe and ``relate synth``."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from relate.cli import main
from relate.data.layout import DatasetLayout, read_bundle, read_labels, read_mapping
from relate.data.probe import probe_dataset
from relate.data.registry import DATASETS, FLOW_ROWS, RGB_ROWS
from relate.data.synthetic import SynthConfig, _integer_lengths, generate_dataset, read_info
from relate.data.validate import validate_dataset
from relate.errors import DataError

TINY = SynthConfig(n_videos=8, min_frames=100, max_frames=300)
SMALL = SynthConfig(n_videos=16, min_frames=300, max_frames=500)


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "small"
    generate_dataset(root, SMALL, seed=0)
    return root


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "a", TINY, seed=3)
    generate_dataset(tmp_path / "b", TINY, seed=3)
    generate_dataset(tmp_path / "c", TINY, seed=4)
    a, b, c = (file_hashes(tmp_path / name) for name in "abc")
    assert len(a) == 8 * 2 + 2 * TINY.n_splits + 2  # features, labels, bundles, mapping, info
    assert a == b
    features = [name for name in a if name.startswith("features/")]
    assert sorted(features) == sorted(name for name in c if name.startswith("features/"))
    assert all(a[name] != c[name] for name in features)


def test_regenerating_replaces_an_earlier_dataset(tmp_path: Path) -> None:
    generate_dataset(tmp_path / "d", TINY, seed=1)
    generate_dataset(tmp_path / "d", TINY, seed=2)
    generate_dataset(tmp_path / "e", TINY, seed=2)
    assert file_hashes(tmp_path / "d") == file_hashes(tmp_path / "e")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_refuses_to_replace_a_folder_that_is_not_synthetic(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me\n")
    with pytest.raises(DataError, match="not a synthetic dataset"):
        generate_dataset(precious, TINY)
    assert (precious / "notes.txt").read_text() == "keep me\n"


def test_output_is_a_valid_dataset_with_registry_classes(small_dataset: Path) -> None:
    report = validate_dataset(small_dataset)
    assert report.errors == []
    assert report.warnings == []
    assert report.videos == SMALL.n_videos
    mapping = read_mapping(small_dataset / "mapping.txt")
    info = DATASETS["synthetic"]
    assert len(mapping) == info.n_classes == 11
    assert max(mapping, key=mapping.get) == "background"  # background is the last id
    assert sorted(mapping.values()) == list(range(11))
    assert read_info(small_dataset)["synthetic"] is True


def test_files_have_the_layout_shapes(small_dataset: Path) -> None:
    layout = DatasetLayout(small_dataset)
    mapping = read_mapping(layout.mapping_path)
    videos = sorted(p.stem for p in layout.features_dir.glob("*.npy"))
    assert len(videos) == SMALL.n_videos
    for video in videos:
        assert re.fullmatch(r"S[1-4]_act[1-4]_v\d{2}", video)
        features = np.load(layout.feature_path(video))
        labels = read_labels(layout.label_path(video), mapping)
        assert features.dtype == np.float32
        assert features.shape == (2048, len(labels))
        assert SMALL.min_frames <= len(labels) <= SMALL.max_frames
        assert np.isfinite(features).all() and features.min() >= 0.0
        assert layout.label_path(video).read_text().endswith("\n")
        assert labels[0] == labels[-1] == "background"


def test_splits_partition_the_videos_by_subject(small_dataset: Path) -> None:
    layout = DatasetLayout(small_dataset)
    everything = sorted(p.stem for p in layout.features_dir.glob("*.npy"))
    tested: list[str] = []
    assert layout.split_indices() == [1, 2, 3, 4]
    for k in layout.split_indices():
        train = read_bundle(layout.split_path("train", k))
        test = read_bundle(layout.split_path("test", k))
        assert not set(train) & set(test)
        assert sorted(train + test) == everything
        assert test and {v.split("_")[0] for v in test} == {f"S{k}"}
        tested += test
    assert sorted(tested) == everything  # every video is tested exactly once


def _class_means(root: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    layout = DatasetLayout(root)
    mapping = read_mapping(layout.mapping_path)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for path in sorted(layout.features_dir.glob("*.npy")):
        features = np.load(path).astype(np.float64)
        labels = np.array(read_labels(layout.label_path(path.stem), mapping))
        for name in np.unique(labels):
            sums[name] = sums.get(name, 0) + features[:, labels == name].sum(axis=1)
            counts[name] = counts.get(name, 0) + int((labels == name).sum())
    means = {name: sums[name] / counts[name] for name in sorted(sums)}
    return (
        {name: m[RGB_ROWS] for name, m in means.items()},
        {name: m[FLOW_ROWS] for name, m in means.items()},
    )


def _pair_ratios(root: Path) -> list[tuple[float, float]]:
    """Per motion pair: (RGB, flow) distance between the pair's two class means, divided by
    the smallest distance from either member to a class of another pair."""
    rgb, flow = _class_means(root)
    pairs = [tuple(p) for p in read_info(root)["motion_pairs"]]
    ratios = []
    for a, b in pairs:
        others = [c for pair in pairs if pair != (a, b) for c in pair]
        ratio = []
        for means in (rgb, flow):
            across = min(np.linalg.norm(means[x] - means[c]) for x in (a, b) for c in others)
            ratio.append(float(np.linalg.norm(means[a] - means[b]) / across))
        ratios.append((ratio[0], ratio[1]))
    return ratios


def test_motion_pairs_share_appearance_but_not_motion(small_dataset: Path, tmp_path: Path) -> None:
    ratios = _pair_ratios(small_dataset)
    assert len(ratios) == 5
    # Class means carry sampling noise (about a dozen instances per class), hence the slack.
    assert all(rgb < 0.5 and flow > 0.9 for rgb, flow in ratios), ratios
    assert np.mean([rgb for rgb, _ in ratios]) < 0.4
    # Without noise, offsets, bursts and smoothing, RGB differs within a pair by the leak only.
    quiet = SynthConfig(
        n_videos=8, min_frames=200, max_frames=300, instance_noise=0.0, video_offset=0.0,
        frame_noise=0.0, feature_noise=0.0, burst_rate=0.0, smooth_frames=1,
    )  # fmt: skip
    generate_dataset(tmp_path / "quiet", quiet, seed=0)
    assert all(rgb < 0.1 and flow > 0.9 for rgb, flow in _pair_ratios(tmp_path / "quiet"))


def test_probe_flow_beats_rgb_and_only_flow_separates_pairs(small_dataset: Path) -> None:
    # Mean over two splits: a small dataset's test set has few instances per class.
    results = [probe_dataset(small_dataset, split=k) for k in (1, 2)]

    def mean(modality: str, key: str) -> float:
        return float(np.mean([r["modalities"][modality][key] for r in results]))

    chance = float(np.mean([r["chance"] for r in results]))
    assert all(r["synthetic"] for r in results)
    assert mean("flow", "frame_acc") > mean("rgb", "frame_acc") + 0.15
    assert mean("rgb+flow", "frame_acc") >= mean("flow", "frame_acc") - 0.02
    assert mean("rgb", "frame_acc") > chance + 0.15  # RGB is weak, not useless
    assert mean("rgb", "pair_acc") > 0.85  # appearance finds the pair ...
    assert mean("rgb", "within_pair_acc") < 0.65  # ... but not which member of it
    assert mean("flow", "within_pair_acc") > 0.9


def test_probe_is_deterministic(small_dataset: Path) -> None:
    first = probe_dataset(small_dataset, split=2, max_train_frames=1500, max_iter=20)
    second = probe_dataset(small_dataset, split=2, max_train_frames=1500, max_iter=20)
    assert first == second
    assert first["train_frames_used"] == 1500


@given(
    raw=st.lists(st.floats(0.01, 1000.0), min_size=1, max_size=20),
    minimum=st.integers(1, 10),
    extra=st.integers(0, 5000),
)
def test_integer_lengths_sum_exactly_and_respect_the_minimum(
    raw: list[float], minimum: int, extra: int
) -> None:
    total = minimum * len(raw) + extra
    lengths = _integer_lengths(np.array(raw), total, minimum)
    assert lengths.sum() == total
    assert lengths.min() >= minimum


def test_config_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="min_frames"):
        SynthConfig(min_frames=500, max_frames=400)
    with pytest.raises(ValueError, match="n_videos"):
        SynthConfig(n_videos=3, n_splits=4)


def test_cli_generates_and_describes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "syn"
    args = ["synth", "--out", str(out), "--seed", "5", "--videos", "6", "--min-frames", "150"]
    assert main([*args, "--max-frames", "250", "--set", "gap_prob=0.3"]) == 0
    assert validate_dataset(out).errors == []
    assert read_info(out)["config"]["gap_prob"] == 0.3
    assert len(list((out / "features").glob("*.npy"))) == 6
    capsys.readouterr()

    report = tmp_path / "probe.json"
    assert main(["synth", "--describe", str(out), "--split", "2", "--json", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "synthetic" in printed and "rgb+flow" in printed
    result = json.loads(report.read_text())
    assert result["split"] == 2 and set(result["modalities"]) == {"rgb", "flow", "rgb+flow"}


def test_cli_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["synth", "--out", str(tmp_path / "x"), "--set", "no_such_knob=1"]) == 2
    assert main(["synth", "--out", str(tmp_path / "x"), "--min-frames", "10"]) == 2
    assert main(["synth", "--describe", str(tmp_path / "missing")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)


def test_cli_help(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "--help"])
    assert exit_info.value.code == 0
    assert "--describe" in capsys.readouterr().out
