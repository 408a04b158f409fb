"""Synthetic videos: determinism, dataset layout, and motion pairs that only flow separates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from flow_extraction.tvl1 import compute_flow
from flow_extraction.video import read_frames
from relate.cli import main
from relate.data.layout import DatasetLayout, load_split, read_labels, read_mapping
from relate.data.synthetic_videos import generate_videos
from relate.data.synthetic_videos_config import SynthVideoConfig, class_names
from relate.data.synthetic_videos_render import (
    Segment,
    build_sprites,
    render_backdrop,
    render_frames,
)
from relate.data.validate import validate_dataset
from relate.errors import DataError

SMALL = SynthVideoConfig(n_videos=2, min_frames=26, max_frames=32, size=64)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sv") / "data"
    generate_videos(out, SMALL, seed=3)
    return out


def decoded(root: Path) -> dict[str, np.ndarray]:
    return {p.stem: read_frames(p) for p in sorted((root / "videos").iterdir())}


def test_layout_is_valid_and_labels_match_frames(dataset):
    report = validate_dataset(dataset, labels_only=True)
    assert report.ok, [str(f) for f in report.findings]
    assert report.videos == 2 and report.splits == 2 and report.classes == 5
    layout = DatasetLayout(dataset)
    mapping = read_mapping(layout.mapping_path)
    assert list(mapping) == list(class_names(2))
    assert list(mapping)[-1] == "background"
    assert load_split(layout, "test", 1) == ["S1_v01"]
    assert load_split(layout, "train", 1) == ["S2_v02"]
    info = json.loads((dataset / "info.json").read_text())
    assert info["synthetic"] is True
    for name, frames in decoded(dataset).items():
        labels = read_labels(layout.label_path(name), mapping)
        assert frames.shape == (len(labels), 64, 64, 3)
        assert 26 <= len(labels) <= 32 and info["videos"][name]["frames"] == len(labels)
        # every action class of the video occurs, one segment per motion pair
        actions = {label for label in labels if label != "background"}
        assert len(actions) == 2 and len({a.split("_")[0] for a in actions}) == 2


def test_labels_only_validation_through_the_cli(dataset, capsys):
    assert main(["validate", "--labels-only", str(dataset)]) == 0
    assert "valid" in capsys.readouterr().out


def test_same_seed_same_labels_and_frames(dataset, tmp_path):
    again = tmp_path / "again"
    generate_videos(again, SMALL, seed=3)
    for sub in ("groundTruth", "splits"):
        for path in sorted((dataset / sub).iterdir()):
            assert (again / sub / path.name).read_bytes() == path.read_bytes()
    assert (again / "info.json").read_bytes() == (dataset / "info.json").read_bytes()
    first, second = decoded(dataset), decoded(again)
    assert first.keys() == second.keys()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


def test_other_seed_differs(dataset, tmp_path):
    other = tmp_path / "other"
    generate_videos(other, SMALL, seed=4)
    a, b = decoded(dataset)["S1_v01"], decoded(other)["S1_v01"]
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_refuses_to_replace_a_non_synthetic_folder(tmp_path):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="refusing"):
        generate_videos(precious, SMALL)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_cli_avi_and_bad_option(tmp_path, capsys):
    out = tmp_path / "avi"
    args = ["synth-videos", "--out", str(out), "--videos", "2", "--frames", "25"]
    assert main(args + ["--size", "32", "--format", "avi", "--pairs", "1"]) == 0
    assert sorted(p.name for p in (out / "videos").iterdir()) == ["S1_v01.avi", "S2_v02.avi"]
    assert read_frames(out / "videos" / "S1_v01.avi").shape == (25, 32, 32, 3)
    assert main(args + ["--size", "33"]) == 2
    assert "size" in capsys.readouterr().err


def _pair_clip(config, sprites, label: int) -> np.ndarray:
    """Background then one action segment of ``label``, same start and speed for any label."""
    backdrop = render_backdrop(config, np.random.default_rng(0))
    sign = 1.0 if label % 2 == 0 else -1.0
    vx, vy = sign * 2.0 * sprites[label // 2].direction
    segments = [Segment(4, 0, 2), Segment(label, 2, 4, (30.0, 34.0), (float(vx), float(vy)))]
    return render_frames(config, sprites, backdrop, segments)


@pytest.mark.parametrize("pair", [0, 1])
def test_motion_pair_same_appearance_opposite_flow(pair):
    config = SynthVideoConfig(size=64)
    sprites = build_sprites(config, np.random.default_rng(0))
    forward, backward = (
        _pair_clip(config, sprites, 2 * pair),
        _pair_clip(config, sprites, 2 * pair + 1),
    )
    # Same appearance: the first frame of both actions is the same image.
    np.testing.assert_array_equal(forward[2], backward[2])
    assert not np.array_equal(forward[3], backward[3])
    axis = pair  # pair 0 moves along x, pair 1 along y
    means = []
    for clip in (forward, backward):
        flow = compute_flow(clip[2:], threads=1)  # pairs inside the action
        moving = np.linalg.norm(flow, axis=-1) > 0.5
        assert moving.mean() > 0.02
        means.append(flow[moving][:, axis].mean())
    assert means[0] > 1.0 and means[1] < -1.0


SIGNS = {"right": (0, 1.0), "left": (0, -1.0), "down": (1, 1.0), "up": (1, -1.0)}
"""Direction word of a class name -> (flow axis, sign)."""


def test_decoded_videos_flow_matches_the_labelled_direction(dataset):
    """End to end through H.264: TV-L1 inside each action segment moves the named way."""
    info = json.loads((dataset / "info.json").read_text())
    for name, frames in decoded(dataset).items():
        flow = compute_flow(frames, threads=1)
        for seg in info["videos"][name]["segments"]:
            if seg["label"] == "background":
                assert seg["velocity"] is None
                inside = flow[seg["start"] : seg["start"] + seg["length"] - 1]
                assert np.abs(inside).mean() < 0.2  # static backdrop: (almost) no flow
                continue
            axis, sign = SIGNS[seg["label"].rsplit("_", 1)[1]]
            assert sign * seg["velocity"][axis] > 0 and seg["velocity"][1 - axis] == 0
            inside = flow[seg["start"] : seg["start"] + seg["length"] - 1]  # pairs in the action
            moving = np.linalg.norm(inside, axis=-1) > 0.5
            assert sign * inside[moving][:, axis].mean() > 0.3, (name, seg)


@pytest.mark.parametrize("n_pairs", [1, 2, 3, 4, 7])
def test_class_names_unique_and_axes_distinct(n_pairs):
    names = class_names(n_pairs)
    assert len(set(names)) == len(names) == 2 * n_pairs + 1
    config = SynthVideoConfig(n_motion_pairs=n_pairs, min_frames=80, max_frames=80, size=32)
    sprites = build_sprites(config, np.random.default_rng(0))
    axes = np.array([s.direction for s in sprites])
    np.testing.assert_allclose(np.linalg.norm(axes, axis=1), 1.0)
    cosines = np.abs(axes @ axes.T) - np.eye(n_pairs)
    assert cosines.max() < 0.99  # no two pairs share a motion axis
