"""Reader for the MS-TCN dataset layout.

::

    ROOT/features/{video}.npy               float, (2048, T): rows 0-1023 RGB, 1024-2047 flow
    ROOT/groundTruth/{video}.txt            one label name per line, one line per frame
    ROOT/splits/{train,test}.split{k}.bundle   one "{video}.txt" per line
    ROOT/mapping.txt                        "<int id> <label name>" per line

Every reader raises :class:`relate.errors.DataError` with a one-line message naming the
file. The message texts come from :mod:`relate.data.checks`, shared with ``relate validate``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate.data import checks
from relate.errors import DataError

logger = logging.getLogger(__name__)

SPLIT_KINDS = ("train", "test")


@dataclass(frozen=True)
class DatasetLayout:
    """Paths of one dataset folder in the MS-TCN layout."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def features_dir(self) -> Path:
        return self.root / "features"

    @property
    def labels_dir(self) -> Path:
        return self.root / "groundTruth"

    @property
    def splits_dir(self) -> Path:
        return self.root / "splits"

    @property
    def mapping_path(self) -> Path:
        return self.root / "mapping.txt"

    def feature_path(self, video: str) -> Path:
        return self.features_dir / f"{video}.npy"

    def label_path(self, video: str) -> Path:
        return self.labels_dir / f"{video}.txt"

    def split_path(self, kind: str, split: int) -> Path:
        return self.splits_dir / f"{kind}.split{split}.bundle"

    def split_indices(self) -> list[int]:
        """Split indices that have at least one bundle file, sorted."""
        found: set[int] = set()
        for path in self.splits_dir.glob("*.split*.bundle"):
            index = checks.parse_bundle_name(path.name)
            if index is not None:
                found.add(index[1])
        return sorted(found)


def read_mapping(path: Path) -> dict[str, int]:
    """Parse mapping.txt into ``{label name: class id}`` (ids as in the file)."""
    problems, mapping = checks.parse_mapping(path)
    if problems:
        raise DataError(path, problems[0])
    return mapping


def read_bundle(path: Path) -> list[str]:
    """Video names (without ``.txt``) listed in a split bundle, in file order."""
    problems, videos = checks.parse_bundle(path)
    if problems:
        raise DataError(path, problems[0])
    return videos


def read_labels(path: Path, mapping: dict[str, int] | None = None) -> list[str]:
    """Frame label names of one groundTruth file; checked against ``mapping`` if given."""
    problems, labels = checks.parse_labels(path, mapping)
    if problems:
        raise DataError(path, problems[0])
    return labels


def load_features(path: Path, mmap: bool = True, expected_rows: int = 2048) -> np.ndarray:
    """Load a (2048, T) feature array, memory-mapped by default.

    The array is checked for shape (2-D, ``expected_rows`` rows, not transposed). Finite
    values are checked by :func:`checks.check_feature_values` in ``relate validate``; a
    full scan here would defeat memory mapping, so callers that need it call it on the
    slice they read.
    """
    problems, array = checks.open_feature_array(path, mmap=mmap, expected_rows=expected_rows)
    if problems:
        raise DataError(path, problems[0])
    assert array is not None
    return array


def load_split(layout: DatasetLayout, kind: str, split: int) -> list[str]:
    """Videos of ``{kind}.split{split}.bundle``; raises ``DataError`` if missing."""
    if kind not in SPLIT_KINDS:
        raise ValueError(f"kind must be one of {SPLIT_KINDS}, got {kind!r}")
    return read_bundle(layout.split_path(kind, split))


def aligned_length(features_len: int, labels_len: int, video: str) -> int:
    """The official training length min(T_feat, T_gt), warning on a mismatch."""
    if features_len != labels_len:
        logger.warning(
            "%s: %s",
            video,
            checks.length_mismatch_message(features_len, labels_len),
        )
    return min(features_len, labels_len)
