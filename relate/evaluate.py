"""Score a folder of per-video predictions against one split of a dataset.

Prediction files (one per test video, named after the video):

* ``{video}.txt``: the MS-TCN text format, a header line then one line of
  space-separated label names (one per frame);
* ``{video}.npy``: a 1-D integer array of class ids from mapping.txt.

Predictions must be at the ground truth's frame rate (50Salads: 30 fps, i.e. already
repeated x2). Scoring uses :func:`relate.metrics.score_split`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate import metrics
from relate.data.layout import DatasetLayout, load_split, read_labels, read_mapping
from relate.data.registry import DatasetInfo
from relate.data.validate import validate_dataset
from relate.errors import DataError

PREDICTION_SUFFIXES = (".txt", ".npy")


@dataclass(frozen=True)
class SplitPredictions:
    """Ground truth and predicted label names of the test videos of one split."""

    videos: list[str]
    ground_truths: list[list[str]]
    predictions: list[list[str]]


def read_prediction(path: Path, id_to_name: dict[int, str]) -> list[str]:
    """Frame label names from a ``.txt`` (MS-TCN format) or ``.npy`` prediction file."""
    if path.suffix == ".npy":
        try:
            ids = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise DataError(path, f"unreadable or corrupt .npy ({error})") from None
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise DataError(path, f"expected a 1-D integer array of class ids, got {ids.dtype} {ids.shape}")
        unknown = sorted(set(np.unique(ids).tolist()) - set(id_to_name))
        if unknown:
            raise DataError(path, f"class id(s) not in mapping.txt: {unknown[:5]}")
        return [id_to_name[int(i)] for i in ids]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot be read as text ({error})") from None
    if len(lines) < 2 or not lines[1].split():
        raise DataError(path, "expected a header line, then one line of space-separated labels")
    labels = lines[1].split()
    unknown = sorted(set(labels) - set(id_to_name.values()))
    if unknown:
        raise DataError(path, f"label(s) not in mapping.txt: {unknown[:5]}")
    return labels


def find_prediction(folder: Path, video: str) -> Path:
    """The prediction file of ``video`` in ``folder``; ``DataError`` if none or ambiguous."""
    found = [folder / f"{video}{s}" for s in PREDICTION_SUFFIXES if (folder / f"{video}{s}").exists()]
    if not found:
        raise DataError(folder / f"{video}.txt", "missing prediction file (.txt or .npy)")
    if len(found) > 1:
        raise DataError(found[0], f"ambiguous: both {found[0].name} and {found[1].name} exist")
    return found[0]


def load_split_predictions(data_root: Path, split: int, predictions_dir: Path) -> SplitPredictions:
    """Read the test videos of ``split``: ground truth and predictions, all checked."""
    layout = DatasetLayout(data_root)
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    if not predictions_dir.is_dir():
        raise DataError(predictions_dir, "predictions folder does not exist")
    mapping = read_mapping(layout.mapping_path)
    id_to_name = {class_id: name for name, class_id in mapping.items()}
    videos = load_split(layout, "test", split)
    ground_truths, predictions = [], []
    for video in videos:
        truth = read_labels(layout.label_path(video), mapping)
        predicted = read_prediction(find_prediction(predictions_dir, video), id_to_name)
        if len(predicted) < len(truth):
            raise DataError(
                find_prediction(predictions_dir, video),
                f"prediction has {len(predicted)} frames, ground truth has {len(truth)}",
            )
        ground_truths.append(truth)
        predictions.append(predicted)
    return SplitPredictions(videos, ground_truths, predictions)


def background_labels(dataset: DatasetInfo, convention: str) -> tuple[str, ...]:
    """Labels dropped from Edit/F1: the standard list, or the release's single label."""
    if convention == "relate_release":
        return (dataset.release_background,) if dataset.release_background else ()
    return dataset.background


def evaluate_split(
    data_root: Path,
    split: int,
    predictions_dir: Path,
    dataset: DatasetInfo,
    convention: str = "standard",
) -> dict[str, object]:
    """Split-level metrics plus per-video metrics, as a JSON-ready dict."""
    loaded = load_split_predictions(data_root, split, predictions_dir)
    background = background_labels(dataset, convention)
    split_metrics = metrics.score_split(
        loaded.predictions, loaded.ground_truths, background, convention, names=loaded.videos
    )
    per_video = {
        video: {
            "frames": len(truth),
            **metrics.score_split([predicted], [truth], background, convention, names=[video]),
        }
        for video, truth, predicted in zip(loaded.videos, loaded.ground_truths, loaded.predictions)
    }
    return {
        "dataset": dataset.name,
        "synthetic": dataset.synthetic,
        "split": split,
        "convention": convention,
        "background": list(background),
        "videos": len(loaded.videos),
        "metrics": split_metrics,
        "per_video": per_video,
    }
