"""Dataset corruption corpus: `relate validate` and `relate train` refuse each case with
one error line naming the same file, and training writes nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import write_tiny_dataset
from tests.hostile.conftest import assert_clean_error

FEAT = "features/S2_a.npy"  # a train video of split 1
GT = "groundTruth/S2_a.txt"
BUNDLE = "splits/train.split1.bundle"
MAPPING = "mapping.txt"


def _fifo(rel: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / rel).unlink()
        os.mkfifo(root / rel)

    return make


def _loop(rel: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).symlink_to(root / rel)

    return make


def _write(rel: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).write_text(text)


def _append_bundle(entry: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        with (root / BUNDLE).open("a") as handle:
            handle.write(entry + "\n")

    return make


def _save(array: np.ndarray) -> Callable[[Path], None]:
    return lambda root: np.save(root / FEAT, array)


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "bundle-dotdot": (_append_bundle("../outside.txt"), BUNDLE),
    "bundle-absolute": (_append_bundle("/etc/passwd"), BUNDLE),
    "bundle-subdir": (_append_bundle("sub/S1_a.txt"), BUNDLE),
    "bundle-backslash": (_append_bundle("..\\x.txt"), BUNDLE),
    "bundle-dot": (_append_bundle(".."), BUNDLE),
    "bundle-control": (_append_bundle("S1\x01a.txt"), BUNDLE),
    "bundle-fifo": (_fifo(BUNDLE), BUNDLE),
    "bundle-loop": (_loop(BUNDLE), BUNDLE),
    "feature-fifo": (_fifo(FEAT), FEAT),
    "feature-loop": (_loop(FEAT), FEAT),
    "feature-transposed": (_save(np.zeros((21, 2048), np.float32)), FEAT),
    "feature-3d": (_save(np.zeros((2048, 21, 1), np.float32)), FEAT),
    "feature-nan": (_save(np.full((2048, 21), np.nan, np.float32)), FEAT),
    "feature-garbage": (_write(FEAT, "not numpy"), FEAT),
    "gt-fifo": (_fifo(GT), GT),
    "gt-loop": (_loop(GT), GT),
    "gt-unknown-label": (_write(GT, "take\nfly\n"), GT),
    "gt-empty": (_write(GT, ""), GT),
    "gt-bad-utf8": (lambda r: (r / GT).write_bytes(b"take\n\xff\n"), GT),
    "mapping-gap": (_write(MAPPING, "0 take\n1 open\n3 background\n"), MAPPING),
    "mapping-fifo": (_fifo(MAPPING), MAPPING),
    "mapping-loop": (_loop(MAPPING), MAPPING),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_and_train_refuse(name: str, tmp_path: Path, run_cli) -> None:
    make, rel = CASES[name]
    root = write_tiny_dataset(tmp_path / "data")
    make(root)
    assert_clean_error(run_cli("validate", "--quiet", root), root / rel)
    out = tmp_path / "run"
    result = run_cli(
        "train",
        "--data",
        root,
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
        out,
        "--epochs",
        "1",
        "--device",
        "cpu",
    )
    assert_clean_error(result, root / rel)
    assert not out.exists()


def test_mapping_gap_names_missing_id(tmp_path: Path, run_cli) -> None:
    root = write_tiny_dataset(tmp_path / "data")
    (root / MAPPING).write_text("0 take\n1 open\n3 background\n")
    line = assert_clean_error(run_cli("validate", "--quiet", root), root / MAPPING)
    assert "missing '2'" in line


def test_mapping_bom_accepted(tmp_path: Path, run_cli) -> None:
    root = write_tiny_dataset(tmp_path / "data")
    (root / MAPPING).write_bytes(b"\xef\xbb\xbf" + (root / MAPPING).read_bytes())
    assert run_cli("validate", "--quiet", root).code == 0
