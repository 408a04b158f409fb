"""Score a folder of per-video predictions against one split of a dataset.

Prediction files (one per test video, named after the video):

* ``{video}.txt``: the MS-TCN text format, a header line then one line of
  space-separated label names (one per frame);
* ``{video}.npy``: a 1-D integer array of class ids from mapping.txt.

Alternatively the predictions may be one ``.npz`` file written by ``relate predict``
(frame probabilities per video and head, see :mod:`relate.evaluation.predict`): each
video's labels are the argmax over classes of the chosen head (default ``final``), named
through the file's ``__meta__`` classes, which must equal mapping.txt.

Predictions must be at the ground truth's frame rate (50Salads: 30 fps, i.e. already
repeated x2). Labels become class ids (mapping.txt) as they are read and stay integer
arrays of the narrowest dtype that holds them (:func:`relate.evaluation.metrics.id_dtype`),
the fastest input of :func:`relate.evaluation.metrics.score_split_and_videos`, which scores
the split and each video in one pass.
"""

from __future__ import annotations

import errno
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate.data.layout import DatasetLayout, load_split, read_mapping
from relate.data.registry import DatasetInfo
from relate.data.synthetic_info import generator_record
from relate.errors import DataError
from relate.evaluation import metrics
from relate.evaluation.class_ids import Classes
from relate.evaluation.predictions import FINAL_HEAD, read_meta

PREDICTION_SUFFIXES = (".txt", ".npy")
DEFAULT_HEAD = FINAL_HEAD


@dataclass(frozen=True)
class SplitPredictions:
    """Ground truth and predicted class ids (``classes.dtype`` arrays) of a split's test
    videos."""

    videos: list[str]
    ground_truths: list[np.ndarray]
    predictions: list[np.ndarray]
    classes: Classes


def read_prediction(path: Path, classes: Classes) -> np.ndarray:
    """Frame class ids from a ``.txt`` (MS-TCN format) or ``.npy`` prediction file."""
    if path.suffix == ".npy":
        try:
            ids = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise DataError(path, f"unreadable or corrupt .npy ({error})") from None
        if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
            raise DataError(
                path, f"expected a 1-D integer array of class ids, got {ids.dtype} {ids.shape}"
            )
        unknown = classes.unknown_ids(ids)
        if unknown:
            raise DataError(path, f"class id(s) not in mapping.txt: {unknown[:5]}")
        return ids.astype(classes.dtype, copy=False)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot be read as text ({error})") from None
    if len(lines) < 2 or not lines[1].split():
        raise DataError(path, "expected a header line, then one line of space-separated labels")
    labels = lines[1].split()
    try:
        return classes.ids(labels)
    except KeyError:
        unknown = sorted(set(labels) - set(classes.name_to_id))
        raise DataError(path, f"label(s) not in mapping.txt: {unknown[:5]}") from None


def find_prediction(folder: Path, video: str) -> Path:
    """The prediction file of ``video`` in ``folder``; ``DataError`` if none or ambiguous."""
    found = [
        folder / f"{video}{s}" for s in PREDICTION_SUFFIXES if (folder / f"{video}{s}").exists()
    ]
    if not found:
        raise DataError(folder / f"{video}.txt", "missing prediction file (.txt or .npy)")
    if len(found) > 1:
        raise DataError(found[0], f"ambiguous: both {found[0].name} and {found[1].name} exist")
    return found[0]


def _missing(path: Path, what: str) -> str:
    """Why ``path`` cannot be opened: a symlink loop, or it does not exist."""
    try:
        path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            return f"{what} is a symlink loop (too many levels of symbolic links)"
    return f"{what} does not exist"


def read_npz_predictions(
    path: Path,
    videos: list[str],
    id_to_name: dict[int, str],
    head: str = DEFAULT_HEAD,
    split: int | None = None,
) -> list[list[str]]:
    """Label names per video from a ``relate predict`` .npz: argmax over classes of ``head``.

    Raises ``DataError`` as :func:`read_npz_ids`.
    """
    classes = Classes.from_mapping({name: i for i, name in id_to_name.items()})
    ids = read_npz_ids(path, videos, classes, head, split)
    return [[id_to_name[i] for i in video_ids.tolist()] for video_ids in ids]


def read_npz_ids(
    path: Path,
    videos: list[str],
    classes: Classes,
    head: str = DEFAULT_HEAD,
    split: int | None = None,
) -> list[np.ndarray]:
    """Class ids per video from a ``relate predict`` .npz: argmax over classes of ``head``.

    Raises ``DataError`` naming the file for an unreadable file, classes that differ from
    mapping.txt, another split, a missing head or video, or a (C, T) array of the wrong shape.
    """
    id_to_name = classes.id_to_name
    if not path.is_file():
        raise DataError(path, _missing(path, "predictions file"))
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(path, f"unreadable or corrupt .npz ({error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(path, "not an .npz archive")
    with archive:
        meta = read_meta(path, archive)
        stored = {int(k): v for k, v in meta["classes"].items() if str(k).lstrip("-").isdigit()}
        if len(stored) != len(id_to_name):
            raise DataError(
                path, f"predictions have {len(stored)} classes, mapping.txt has {len(id_to_name)}"
            )
        differing = sorted(i for i in id_to_name if stored.get(i) != id_to_name[i])
        if differing:
            i = differing[0]
            raise DataError(
                path,
                f"class {i} is {stored.get(i)!r} in the predictions, "
                f"{id_to_name[i]!r} in mapping.txt",
            )
        if split is not None and meta.get("split") not in (None, split):
            raise DataError(path, f"predictions are for split {meta['split']}, not split {split}")
        found = {key.rsplit("/", 1)[1] for key in archive.files if "/" in key}
        heads = meta.get("heads") or sorted(found)
        if head not in heads:
            raise DataError(path, f"no head {head!r} (heads: {', '.join(heads)})")
        labels = []
        for video in videos:
            key = f"{video}/{head}"
            if key not in archive.files:
                raise DataError(path, f"no predictions for test video {video!r} (key {key!r})")
            try:
                probs = archive[key]
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
                raise DataError(path, f"unreadable or corrupt member {key!r} ({error})") from None
            if probs.ndim != 2 or probs.shape[0] != len(id_to_name) or probs.shape[1] == 0:
                expected = f"({len(id_to_name)}, T)"
                raise DataError(path, f"{key!r} has shape {probs.shape}, expected {expected}")
            if not np.issubdtype(probs.dtype, np.floating) or not np.isfinite(probs).all():
                raise DataError(path, f"{key!r} must hold finite floating-point probabilities")
            ids = probs.argmax(axis=0)  # row i is class id i
            unknown = classes.unknown_ids(ids)
            if unknown:
                raise DataError(path, f"{key!r}: argmax class id(s) not in mapping.txt: {unknown}")
            labels.append(ids.astype(classes.dtype))
    return labels


def load_split_predictions(
    data_root: Path, split: int, predictions_dir: Path, head: str = DEFAULT_HEAD
) -> SplitPredictions:
    """Read the test videos of ``split``: ground truth and predictions, all checked.

    ``predictions_dir`` is a folder of per-video files or a ``relate predict`` .npz file
    (then ``head`` picks the head scored).
    """
    layout = DatasetLayout(data_root)
    if not layout.root.is_dir():
        raise DataError(layout.root, "dataset folder does not exist")
    # Only what scoring reads is checked (mapping, the test bundle, its label files), with
    # the validator's own checks and messages; `relate validate` covers the whole dataset.
    is_npz = predictions_dir.suffix == ".npz" and not predictions_dir.is_dir()
    if not is_npz and not predictions_dir.is_dir():
        raise DataError(predictions_dir, _missing(predictions_dir, "predictions folder"))
    mapping = read_mapping(layout.mapping_path)
    classes = Classes.from_mapping(mapping)
    videos = load_split(layout, "test", split)
    from_npz = None
    if is_npz:
        from_npz = read_npz_ids(predictions_dir, videos, classes, head, split)
    ground_truths, predictions = [], []
    for index, video in enumerate(videos):
        truth = classes.truth_ids(layout.label_path(video))
        if from_npz is not None:
            predicted, source = from_npz[index], predictions_dir
        else:
            source = find_prediction(predictions_dir, video)
            predicted = read_prediction(source, classes)
        if len(predicted) < len(truth):
            where = f"{video}: " if from_npz is not None else ""
            raise DataError(
                source,
                f"{where}prediction has {len(predicted)} frames, ground truth has {len(truth)}",
            )
        ground_truths.append(truth)
        predictions.append(predicted)
    return SplitPredictions(videos, ground_truths, predictions, classes)


def background_labels(dataset: DatasetInfo, convention: str) -> tuple[str, ...]:
    """Labels dropped from Edit/F1: the standard list, or the release's single label."""
    if convention == "relate_release":
        return (dataset.release_background,) if dataset.release_background else ()
    return dataset.background


def run_info(path: Path) -> dict[str, object] | None:
    """What produced a ``relate predict`` .npz (segmenter, variant, epochs, lr, the epoch of a
    step_reset lr decay, segmenter overrides, options, PR), from its ``__meta__``; None for
    other prediction formats."""
    if Path(path).suffix != ".npz":
        return None
    with np.load(path, allow_pickle=False) as archive:
        meta = read_meta(Path(path), archive)
    config = meta.get("config") or {}
    distilled = config.get("relate") or config.get("student") or {}
    training = config.get("training") or {}
    return {
        "segmenter": (config.get("segmenter") or {}).get("name"),
        "variant": (config.get("variant") or {}).get("name"),
        "epochs": (config.get("training") or {}).get("epochs"),
        "lr": training.get("lr"),
        "lr_decay_every": training.get("lr_decay_every")
        if training.get("scheduler") == "step_reset"
        else None,
        "overrides": (config.get("segmenter") or {}).get("overrides", {}),
        "seed": config.get("seed"),
        "preset": distilled.get("preset"),
        "options": distilled.get("options", {}),
        "refine": meta.get("refine"),
        "run": meta.get("run"),
    }


def evaluate_split(
    data_root: Path,
    split: int,
    predictions_dir: Path,
    dataset: DatasetInfo,
    convention: str = "standard",
    head: str = DEFAULT_HEAD,
) -> dict[str, object]:
    """Split-level metrics plus per-video metrics, as a JSON-ready dict.

    ``head`` is used only when ``predictions_dir`` is a ``relate predict`` .npz file.
    """
    loaded = load_split_predictions(data_root, split, predictions_dir, head)
    background = background_labels(dataset, convention)
    # Labels absent from mapping.txt occur in no video, so dropping them changes nothing.
    mapping = loaded.classes.name_to_id
    background_ids = [mapping[label] for label in background if label in mapping]
    split_metrics, video_metrics = metrics.score_split_and_videos(
        loaded.predictions, loaded.ground_truths, background_ids, convention, loaded.videos
    )
    per_video = {
        video: {"frames": len(truth), **scores}
        for video, truth, scores in zip(loaded.videos, loaded.ground_truths, video_metrics)
    }
    return {
        "dataset": dataset.name,
        "synthetic": dataset.synthetic,
        "split": split,
        "convention": convention,
        "background": list(background),
        "videos": len(loaded.videos),
        "run": run_info(predictions_dir) if head is not None else None,
        "generator": generator_record(data_root),
        "metrics": split_metrics,
        "per_video": per_video,
    }
