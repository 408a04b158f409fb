"""`relate predict` (.npz of probabilities) and `relate evaluate --predictions FILE.npz`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from relate.cli import main
from relate.data.layout import DatasetLayout, load_split, read_labels
from relate.data.synthetic import SynthConfig, generate_dataset
from relate.evaluation.trivial import PREDICTION_HEADER

HEADS = ["stage1", "stage2", "final"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(dataset, run folder, predictions .npz) of a 1-epoch, 2-stage MS-TCN."""
    base = tmp_path_factory.mktemp("predict")
    data = base / "synthetic"
    generate_dataset(
        data, SynthConfig(n_videos=6, min_frames=100, max_frames=160, n_splits=2), seed=1
    )
    run = base / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--dataset",
                "synthetic",
                "--split",
                "1",
                "--segmenter",
                "mstcn",
                "--variant",
                "rgb",
                "--seed",
                "0",
                "--out",
                str(run),
                "--epochs",
                "1",
                "--set",
                "num_stages=2",
                "--set",
                "num_layers=3",
                "--set",
                "num_f_maps=8",
            ]
        )
        == 0
    )
    npz = base / "predictions" / "seed0.npz"
    assert (
        main(["predict", "--run", str(run), "--data", str(data), "--split", "1", "--out", str(npz)])
        == 0
    )
    return data, run, npz


def evaluate(data: Path, predictions: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "evaluate",
            "--data",
            str(data),
            "--dataset",
            "synthetic",
            "--split",
            "1",
            "--predictions",
            str(predictions),
            "--out",
            str(out),
            *extra,
        ]
    )


def one_line_error(capsys: pytest.CaptureFixture) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1, err
    return err[0]


def test_npz_layout_and_meta(trained: tuple[Path, Path, Path]) -> None:
    data, run, npz = trained
    layout = DatasetLayout(data)
    videos = load_split(layout, "test", 1)
    with np.load(npz, allow_pickle=False) as archive:
        assert set(archive.files) == {f"{v}/{h}" for v in videos for h in HEADS} | {"__meta__"}
        meta = json.loads(str(archive["__meta__"]))
        assert archive["__meta__"].shape == ()
        assert meta["dataset"] == "synthetic" and meta["synthetic"] is True and meta["split"] == 1
        assert meta["heads"] == HEADS and meta["sample_rate"] == 1 and meta["videos"] == videos
        mapping = dict(line.split()[::-1] for line in layout.mapping_path.read_text().splitlines())
        assert meta["classes"] == {i: name for name, i in mapping.items()}
        assert meta["config"] == json.loads((run / "config.json").read_text())
        for video in videos:
            gt_frames = len(read_labels(layout.label_path(video)))
            assert meta["frames"][video] == gt_frames
            for head in HEADS:
                probs = archive[f"{video}/{head}"]
                assert probs.dtype == np.float32 and probs.shape == (11, gt_frames)
                assert (probs >= 0).all() and np.allclose(probs.sum(axis=0), 1.0, atol=1e-5)
            # MS-TCN's prediction head is the last stage.
            assert np.array_equal(archive[f"{video}/final"], archive[f"{video}/stage2"])


def test_prediction_is_deterministic_eval_mode(
    trained: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    data, run, npz = trained
    again = tmp_path / "again.npz"
    assert (
        main(
            ["predict", "--run", str(run), "--data", str(data), "--split", "1", "--out", str(again)]
        )
        == 0
    )
    with np.load(npz) as first, np.load(again) as second:
        for key in first.files:
            assert np.array_equal(first[key], second[key]), key  # dropout is off


@pytest.mark.parametrize("head", ["final", "stage1"])
def test_evaluate_npz_equals_text_predictions(
    trained: tuple[Path, Path, Path], tmp_path: Path, head: str
) -> None:
    data, _, npz = trained
    folder = tmp_path / "txt"
    folder.mkdir()
    with np.load(npz) as archive:
        classes = json.loads(str(archive["__meta__"]))["classes"]
        for video in load_split(DatasetLayout(data), "test", 1):
            labels = [classes[str(i)] for i in archive[f"{video}/{head}"].argmax(axis=0)]
            (folder / f"{video}.txt").write_text(f"{PREDICTION_HEADER}\n{' '.join(labels)}\n")
    assert evaluate(data, npz, tmp_path / "npz.json", "--head", head) == 0
    assert evaluate(data, folder, tmp_path / "txt.json") == 0
    from_npz = json.loads((tmp_path / "npz.json").read_text())
    from_txt = json.loads((tmp_path / "txt.json").read_text())
    assert from_npz["head"] == head
    for key in ("metrics", "per_video", "videos", "background", "convention"):
        assert from_npz[key] == from_txt[key]


def rewrite(npz: Path, out: Path, change) -> Path:
    """A copy of ``npz`` with ``change(arrays, meta)`` applied."""
    with np.load(npz) as archive:
        arrays = {key: archive[key] for key in archive.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    change(arrays, meta)
    np.savez(out, __meta__=np.array(json.dumps(meta)), **arrays)
    return out


def drop_video(arrays: dict, meta: dict) -> None:
    for key in [k for k in arrays if k.startswith(meta["videos"][0] + "/")]:
        del arrays[key]


def drop_class(arrays: dict, meta: dict) -> None:
    meta["classes"].pop(str(len(meta["classes"]) - 1))
    for key in arrays:
        arrays[key] = arrays[key][:-1]


def rename_class(arrays: dict, meta: dict) -> None:
    meta["classes"]["0"] = "juggle"


def wrong_shape(arrays: dict, meta: dict) -> None:
    key = next(k for k in arrays if k.endswith("/final"))
    arrays[key] = arrays[key][:-1]


def other_split(arrays: dict, meta: dict) -> None:
    meta["split"] = 2


BAD_NPZ = {
    "missing_video": (drop_video, "no predictions for test video"),
    "class_count": (drop_class, "predictions have 10 classes, mapping.txt has 11"),
    "class_name": (rename_class, "class 0 is 'juggle' in the predictions"),
    "array_shape": (wrong_shape, "expected (11, T)"),
    "split": (other_split, "predictions are for split 2, not split 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPZ))
def test_bad_npz_is_one_line_error(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, case: str
) -> None:
    data, _, npz = trained
    change, message = BAD_NPZ[case]
    bad = rewrite(npz, tmp_path / "bad.npz", change)
    capsys.readouterr()
    assert evaluate(data, bad, tmp_path / "m.json") == 2
    line = one_line_error(capsys)
    assert line.startswith(f"error: {bad}: ") and message in line, line


def test_missing_head_meta_and_corrupt_file(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, _, npz = trained
    capsys.readouterr()
    assert evaluate(data, npz, tmp_path / "m.json", "--head", "stage7") == 2
    assert "no head 'stage7' (heads: stage1, stage2, final)" in one_line_error(capsys)
    no_meta = tmp_path / "no_meta.npz"
    np.savez(no_meta, x=np.zeros(3))
    assert evaluate(data, no_meta, tmp_path / "m.json") == 2
    assert "no '__meta__' entry" in one_line_error(capsys)
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    assert evaluate(data, corrupt, tmp_path / "m.json") == 2
    assert f"error: {corrupt}: unreadable or corrupt .npz" in one_line_error(capsys)
    assert not (tmp_path / "m.json").exists()


def test_predict_refuses_other_classes_and_non_runs(
    trained: tuple[Path, Path, Path],
    tiny_dataset: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    _, run, _ = trained
    capsys.readouterr()
    out = tmp_path / "p.npz"
    assert (
        main(
            [
                "predict",
                "--run",
                str(run),
                "--data",
                str(tiny_dataset),
                "--split",
                "1",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "classes differ from the run's (3 vs 11" in one_line_error(capsys)
    assert (
        main(
            [
                "predict",
                "--run",
                str(tmp_path),
                "--data",
                str(tiny_dataset),
                "--split",
                "1",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert f"{tmp_path / 'config.json'}: missing run config" in one_line_error(capsys)
    assert not out.exists()
