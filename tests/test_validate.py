"""`relate validate`: one test per malformed input, each a one-line error and exit 2."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import real_labels_dir, write_tiny_dataset

from relate.cli import main
from relate.data import layout as layout_module
from relate.data.validate import validate_dataset
from relate.errors import DataError


def run_validate(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def test_valid_dataset_passes(tiny_dataset: Path, capsys) -> None:
    code, out, err = run_validate(capsys, str(tiny_dataset))
    assert code == 0
    assert err == []
    assert out == [
        f"{tiny_dataset}: valid; checked features and labels of 4 videos, 2 splits, 3 classes, "
        "0 warning(s)"
    ]


def _save(path: Path, array: np.ndarray) -> None:
    np.save(path, array)


def _features(root: Path, video: str = "S1_a") -> Path:
    return root / "features" / f"{video}.npy"


def _labels(root: Path, video: str = "S1_a") -> Path:
    return root / "groundTruth" / f"{video}.txt"


# Each case: (mutation of a valid dataset, file that must be named, words the message must hold).
CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "missing groundTruth folder": (
        lambda r: shutil.rmtree(r / "groundTruth"),
        "groundTruth",
        "missing folder",
    ),
    "missing feature file": (
        lambda r: _features(r).unlink(),
        "features/S1_a.npy",
        "missing feature file for video 'S1_a'",
    ),
    "missing label file": (
        lambda r: _labels(r).unlink(),
        "groundTruth/S1_a.txt",
        "missing groundTruth file for video 'S1_a' listed in",
    ),
    "bundle names unknown video": (
        lambda r: (r / "splits/test.split1.bundle").write_text("S1_a.txt\nS1_b.txt\nghost.txt\n"),
        "groundTruth/ghost.txt",
        "missing groundTruth file for video 'ghost' listed in test.split1.bundle",
    ),
    "feature 3-D": (
        lambda r: _save(_features(r), np.zeros((2048, 20, 1), np.float32)),
        "features/S1_a.npy",
        "3-D",
    ),
    "feature 1-D": (
        lambda r: _save(_features(r), np.zeros(20, np.float32)),
        "features/S1_a.npy",
        "1-D",
    ),
    "feature wrong rows": (
        lambda r: _save(_features(r), np.zeros((1024, 20), np.float32)),
        "features/S1_a.npy",
        "has 1024 rows, expected 2048",
    ),
    "feature transposed": (
        lambda r: _save(_features(r), np.zeros((20, 2048), np.float32)),
        "features/S1_a.npy",
        "transposed",
    ),
    "feature NaN": (
        lambda r: _save(
            _features(r),
            np.where(np.arange(20) == 7, np.nan, 0).astype(np.float32)[None].repeat(2048, 0),
        ),
        "features/S1_a.npy",
        "non-finite value(s) (NaN/inf), first at row 0, frame 7",
    ),
    "feature inf": (
        lambda r: _save(_features(r), np.full((2048, 20), np.inf, np.float32)),
        "features/S1_a.npy",
        "non-finite",
    ),
    "feature corrupt bytes": (
        lambda r: _features(r).write_bytes(b"this is not a numpy file"),
        "features/S1_a.npy",
        "unreadable or corrupt .npy",
    ),
    "feature truncated": (
        lambda r: _features(r).write_bytes(_features(r).read_bytes()[:5000]),
        "features/S1_a.npy",
        "unreadable or corrupt .npy",
    ),
    "feature pickled object": (
        lambda r: _features(r).write_bytes(pickle.dumps({"a": 1})),
        "features/S1_a.npy",
        "unreadable or corrupt .npy",
    ),
    "feature object array": (
        lambda r: np.save(_features(r), np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "features/S1_a.npy",
        "unreadable or corrupt .npy",
    ),
    "feature npz archive": (
        lambda r: _features(r).write_bytes(_npz_bytes(r)),
        "features/S1_a.npy",
        "not a single .npy array",
    ),
    "feature string dtype": (
        lambda r: _save(_features(r), np.array([["a"] * 20] * 2048)),
        "features/S1_a.npy",
        "non-numeric dtype",
    ),
    "empty groundTruth": (
        lambda r: _labels(r).write_text(""),
        "groundTruth/S1_a.txt",
        "empty groundTruth",
    ),
    "label not in mapping": (
        lambda r: _labels(r).write_text("take\nflip\nopen\n"),
        "groundTruth/S1_a.txt",
        "label(s) not in mapping.txt: 'flip' (first at line 2)",
    ),
    "blank label line": (
        lambda r: _labels(r).write_text("take\n\nopen\n"),
        "groundTruth/S1_a.txt",
        "blank line(s) inside the labels, first at line 2",
    ),
    "undecodable labels": (
        lambda r: _labels(r).write_bytes(b"take\n\xff\xfe\n"),
        "groundTruth/S1_a.txt",
        "not valid UTF-8",
    ),
    "mapping duplicate id": (
        lambda r: (r / "mapping.txt").write_text("0 take\n1 open\n1 background\n"),
        "mapping.txt",
        "duplicate class id 1 (first on line 2)",
    ),
    "mapping duplicate name": (
        lambda r: (r / "mapping.txt").write_text("0 take\n1 open\n2 background\n3 take\n"),
        "mapping.txt",
        "duplicate class name 'take'",
    ),
    "mapping malformed line": (
        lambda r: (r / "mapping.txt").write_text("0 take\none open\n2 background\n"),
        "mapping.txt",
        "line 2 is malformed",
    ),
    "mapping three fields": (
        lambda r: (r / "mapping.txt").write_text("0 take\n1 open door\n2 background\n"),
        "mapping.txt",
        "line 2 is malformed",
    ),
    "mapping missing": (
        lambda r: (r / "mapping.txt").unlink(),
        "mapping.txt",
        "file does not exist",
    ),
    "train/test overlap": (
        lambda r: (r / "splits/train.split1.bundle").write_text("S2_a.txt\nS2_b.txt\nS1_a.txt\n"),
        "splits/test.split1.bundle",
        "1 video(s) also in train.split1.bundle (train/test overlap): 'S1_a'",
    ),
    "split without test bundle": (
        lambda r: (r / "splits/test.split2.bundle").unlink(),
        "splits/test.split2.bundle",
        "split 2 has a train bundle but no test bundle",
    ),
    "split without train bundle": (
        lambda r: (r / "splits/train.split1.bundle").unlink(),
        "splits/train.split1.bundle",
        "split 1 has a test bundle but no train bundle",
    ),
    "split index gap": (
        lambda r: [
            (r / f"splits/{k}.split2.bundle").rename(r / f"splits/{k}.split3.bundle")
            for k in ("train", "test")
        ],
        "splits/test.split2.bundle",
        "split 2 has neither a train nor a test bundle",
    ),
    "no splits": (
        lambda r: [p.unlink() for p in (r / "splits").iterdir()],
        "splits",
        "no split bundles",
    ),
    "empty bundle": (
        lambda r: (r / "splits/test.split1.bundle").write_text("\n"),
        "splits/test.split1.bundle",
        "lists no videos",
    ),
    "duplicate in bundle": (
        lambda r: (r / "splits/test.split1.bundle").write_text("S1_a.txt\nS1_b.txt\nS1_a.txt\n"),
        "splits/test.split1.bundle",
        "lists 1 video(s) twice: 'S1_a'",
    ),
}


def _npz_bytes(root: Path) -> bytes:
    target = root / "tmp.npz"
    np.savez(target, x=np.zeros((2048, 20), np.float32))
    data = target.read_bytes()
    target.unlink()
    return data


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_malformed_input_is_one_line_and_exit_2(case: str, tiny_dataset: Path, capsys) -> None:
    mutate, named_file, words = CASES[case]
    mutate(tiny_dataset)
    code, out, err = run_validate(capsys, str(tiny_dataset))
    assert code == 2
    expected_path = str(tiny_dataset / named_file)
    matching = [
        line for line in err if line.startswith(f"error: {expected_path}: ") and words in line
    ]
    assert len(matching) == 1, err
    assert all(line.startswith("error: ") for line in err), err
    assert "Traceback" not in "\n".join(out + err)
    assert "INVALID" in out[-1]


def test_missing_dataset_folder(tmp_path: Path, capsys) -> None:
    code, _, err = run_validate(capsys, str(tmp_path / "nope"))
    assert code == 2
    assert err == [f"error: {tmp_path / 'nope'}: dataset folder does not exist"]


def test_length_mismatch_is_a_warning_naming_both_lengths(tiny_dataset: Path, capsys) -> None:
    _save(_features(tiny_dataset), np.zeros((2048, 23), np.float32))  # labels have 20 frames
    code, out, err = run_validate(capsys, str(tiny_dataset))
    assert code == 0
    assert err == []
    assert out[0] == (
        f"warning: {_features(tiny_dataset)}: feature length 23 != label length 20 "
        "(training truncates to 20)"
    )
    assert "1 warning(s)" in out[-1]


def test_labels_only_ignores_features(tiny_dataset: Path, capsys) -> None:
    shutil.rmtree(tiny_dataset / "features")
    code, out, _ = run_validate(capsys, "--labels-only", str(tiny_dataset))
    assert code == 0
    assert "checked labels of 4 videos" in out[-1]
    code, _, err = run_validate(capsys, str(tiny_dataset))
    assert code == 2 and any("missing folder" in line for line in err)


def test_several_problems_each_get_a_line(tiny_dataset: Path, capsys) -> None:
    _features(tiny_dataset, "S1_b").unlink()
    _labels(tiny_dataset, "S2_a").write_text("")
    code, _, err = run_validate(capsys, str(tiny_dataset))
    assert code == 2
    assert len(err) == 2


def test_readers_reuse_the_validator_messages(tiny_dataset: Path) -> None:
    _save(_features(tiny_dataset), np.zeros((20, 2048), np.float32))
    with pytest.raises(
        DataError, match=r"features/S1_a\.npy: feature array has shape \(20, 2048\): transposed"
    ):
        layout_module.load_features(_features(tiny_dataset))
    (tiny_dataset / "mapping.txt").write_text("0 take\n0 open\n")
    with pytest.raises(DataError, match="duplicate class id 0"):
        layout_module.read_mapping(tiny_dataset / "mapping.txt")
    report = validate_dataset(tiny_dataset)
    with pytest.raises(
        DataError, match=r"mapping\.txt: line 2: duplicate class id 0.*and \d+ more problem"
    ):
        report.raise_first_error()


def test_features_are_memory_mapped(tiny_dataset: Path) -> None:
    array = layout_module.load_features(_features(tiny_dataset))
    assert isinstance(array, np.memmap)
    assert array.shape == (2048, 20)


def test_other_feature_width(tmp_path: Path) -> None:
    root = write_tiny_dataset(tmp_path / "d", feature_rows=64)
    assert validate_dataset(root, feature_rows=64).ok
    assert not validate_dataset(root).ok


@pytest.mark.parametrize(
    "name,videos,splits,classes",
    [("gtea", 28, 4, 11), ("50salads", 50, 5, 19), ("breakfast", 1712, 4, 48)],
)
def test_real_labels_pass_labels_only(name: str, videos: int, splits: int, classes: int) -> None:
    root = real_labels_dir() / name
    if not root.is_dir():
        pytest.skip(f"real labels not present at {root}")
    report = validate_dataset(root, labels_only=True)
    assert report.findings == []
    assert (report.videos, report.splits, report.classes) == (videos, splits, classes)


def test_real_gtea_with_generated_features_passes_full_check(tmp_path: Path) -> None:
    source = real_labels_dir() / "gtea"
    if not source.is_dir():
        pytest.skip(f"real labels not present at {source}")
    root = tmp_path / "gtea"
    shutil.copytree(source, root)
    (root / "features").mkdir()
    rng = np.random.default_rng(0)
    for label_file in sorted((root / "groundTruth").glob("*.txt")):
        length = len(label_file.read_text().splitlines())
        array = np.lib.format.open_memmap(
            root / "features" / f"{label_file.stem}.npy",
            mode="w+",
            dtype=np.float32,
            shape=(2048, length),
        )
        array[:] = rng.random((1, length), dtype=np.float32)
        array.flush()
        del array
    report = validate_dataset(root)
    assert report.findings == [], [str(f) for f in report.findings[:3]]
    assert report.videos == 28
