"""Shared fixtures: a tiny valid dataset written from scratch in the MS-TCN layout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

WORKFLOW_MODULES_FIRST = ("test_workflow.py", "test_study.py", "test_slurm.py")
"""Modules that run the Snakemake workflow for real, longest first. ``make test`` gives each
pytest-xdist worker whole modules in collection order (``--dist loadscope
--no-loadscope-reorder``): started first, these minutes-long runs leave their idle core
moments to the other worker's short tests, instead of running alone at the end."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Collection order: :data:`WORKFLOW_MODULES_FIRST`, then every other module as collected
    (the order of the tests inside a module is kept)."""
    rank = {name: index for index, name in enumerate(WORKFLOW_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def real_labels_dir() -> Path:
    """Where the real GTEA/50Salads/Breakfast labels live (may be absent)."""
    return Path(os.environ.get("RELATE_REAL_LABELS", REPO_ROOT.parent / "shared/data/real-labels"))


TINY_CLASSES = ("take", "open", "background")
TINY_VIDEOS = {  # video -> per-frame labels as run lengths
    "S1_a": [("background", 3), ("take", 8), ("open", 6), ("background", 3)],
    "S1_b": [("take", 10), ("open", 9)],
    "S2_a": [("open", 5), ("take", 12), ("background", 4)],
    "S2_b": [("take", 7), ("background", 2), ("open", 9)],
}
TINY_SPLITS = {1: ["S1_a", "S1_b"], 2: ["S2_a", "S2_b"]}


def frames(runs: list[tuple[str, int]]) -> list[str]:
    return [label for label, length in runs for _ in range(length)]


def write_tiny_dataset(root: Path, feature_rows: int = 2048) -> Path:
    """Write a valid 4-video, 2-split, 3-class dataset under ``root``; returns ``root``."""
    rng = np.random.default_rng(0)
    (root / "features").mkdir(parents=True)
    (root / "groundTruth").mkdir()
    (root / "splits").mkdir()
    (root / "mapping.txt").write_text("".join(f"{i} {n}\n" for i, n in enumerate(TINY_CLASSES)))
    for video, runs in TINY_VIDEOS.items():
        labels = frames(runs)
        (root / "groundTruth" / f"{video}.txt").write_text("".join(f"{x}\n" for x in labels))
        features = rng.standard_normal((feature_rows, len(labels))).astype(np.float32)
        np.save(root / "features" / f"{video}.npy", features)
    for index, test_videos in TINY_SPLITS.items():
        train_videos = [v for v in TINY_VIDEOS if v not in test_videos]
        for kind, names in (("train", train_videos), ("test", test_videos)):
            path = root / "splits" / f"{kind}.split{index}.bundle"
            path.write_text("".join(f"{v}.txt\n" for v in names))
    return root


@pytest.fixture
def tiny_dataset(tmp_path: Path) -> Path:
    return write_tiny_dataset(tmp_path / "tiny")


def kill_after_first_checkpoint(
    command: list[str], run_dir: Path, env: dict[str, str], timeout: float = 180.0
) -> None:
    """Start ``relate train`` (``command``) writing ``run_dir`` and SIGKILL it as soon as its
    first checkpoint.pt appears (or it exits, or ``timeout`` passes)."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while (
        not (run_dir / "checkpoint.pt").exists()
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
