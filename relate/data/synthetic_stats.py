"""Shape statistics of a dataset's labels: background share, segments, relative lengths.

A *segment* is a maximal run of one label; its *relative length* is its frames divided by
its video's frames. The statistics pool every frame (background share) and every segment
(relative-length quantiles) of the dataset; segments per video are averaged over videos
(population std). Works on any dataset in the MS-TCN layout, real or synthetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from relate.data.layout import DatasetLayout, read_bundle, read_labels, read_mapping
from relate.errors import DataError

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
"""Relative segment-length quantiles reported (q10, q25, q50, q75, q90)."""


def runs(labels: Sequence[str]) -> list[tuple[str, int]]:
    """``(label, length)`` of each maximal run of one label, in order."""
    out: list[tuple[str, int]] = []
    for label in labels:
        if out and out[-1][0] == label:
            out[-1] = (label, out[-1][1] + 1)
        else:
            out.append((label, 1))
    return out


def segment_stats(videos: Iterable[Sequence[str]], background: str | None) -> dict[str, Any]:
    """Background frame share, segments per video and relative segment lengths of the
    label sequences ``videos``; ``background`` is the label counted as background."""
    frames = bg_frames = 0
    counts, action_counts, relative = [], [], []
    for labels in videos:
        segments = runs(labels)
        frames += len(labels)
        bg_frames += sum(n for label, n in segments if label == background)
        counts.append(len(segments))
        action_counts.append(sum(label != background for label, _ in segments))
        relative += [n / len(labels) for _, n in segments]
    rel = np.array(relative, dtype=np.float64)
    return {
        "videos": len(counts),
        "mean_frames": frames / max(1, len(counts)),
        "background_share": bg_frames / max(1, frames),
        "segments_mean": float(np.mean(counts)),
        "segments_std": float(np.std(counts)),
        "action_segments_mean": float(np.mean(action_counts)),
        "rel_quantiles": [float(q) for q in np.quantile(rel, QUANTILES)],
        "rel_mean": float(rel.mean()),
    }


def shape_stats(root: str | Path, background: str | None = None) -> dict[str, Any]:
    """Shape statistics of the dataset in ``root``, computed from its groundTruth files.

    Args:
        root: dataset folder in the MS-TCN layout.
        background: label counted as background; by default the ``background`` of the
            folder's ``info.json`` (synthetic data), else none.

    Returns:
        :func:`segment_stats` plus ``classes`` (count and names in id order),
        ``classes_missing`` (in mapping.txt, in no video), ``splits`` (count), per split
        ``train_videos``/``test_videos`` and ``missing_in_train`` (non-background classes
        absent from that split's training videos).
    """
    from relate.data.synthetic_info import read_info

    layout = DatasetLayout(Path(root))
    mapping = read_mapping(layout.mapping_path)
    if background is None:
        background = (read_info(layout.root) or {}).get("background")
    labels = {
        path.stem: read_labels(path, mapping) for path in sorted(layout.labels_dir.glob("*.txt"))
    }
    if not labels:
        raise DataError(layout.labels_dir, "no groundTruth files (*.txt) to measure")
    names = sorted(mapping, key=mapping.get)
    stats = segment_stats(labels.values(), background)
    seen = {name for video in labels.values() for name in set(video)}
    splits: dict[str, dict[str, Any]] = {}
    for k in layout.split_indices():
        train = [v.removesuffix(".txt") for v in read_bundle(layout.split_path("train", k))]
        test = read_bundle(layout.split_path("test", k))
        in_train = {name for v in train for name in set(labels.get(v, ()))}
        missing = [n for n in names if n != background and n not in in_train]
        splits[str(k)] = {
            "train_videos": len(train),
            "test_videos": len(test),
            "missing_in_train": missing,
        }
    stats.update(
        {
            "root": str(root),
            "background": background,
            "classes": len(names),
            "class_names": names,
            "classes_missing": [n for n in names if n not in seen],
            "splits": len(splits),
            "per_split": splits,
        }
    )
    return stats
