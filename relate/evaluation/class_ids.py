"""Class ids of label names (mapping.txt both ways), as narrow integer arrays.

:mod:`relate.evaluation.evaluate` reads every label into ids of :attr:`Classes.dtype`, the narrowest
dtype that holds them (:func:`relate.evaluation.metrics.id_dtype`), the fastest input of the
metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from relate.data.checks import read_text_lines
from relate.data.layout import read_labels
from relate.evaluation.metrics_encode import id_dtype


@dataclass(frozen=True)
class Classes:
    """mapping.txt both ways, and the id dtype of :func:`relate.evaluation.metrics.id_dtype`."""

    name_to_id: dict[str, int]
    id_to_name: dict[int, str]
    dtype: np.dtype

    @classmethod
    def from_mapping(cls, mapping: dict[str, int]) -> Classes:
        id_to_name = {class_id: name for name, class_id in mapping.items()}
        return cls(mapping, id_to_name, id_dtype(max(id_to_name, default=0)))

    @property
    def contiguous(self) -> bool:
        """Whether the ids are exactly ``0..C-1``."""
        return max(self.id_to_name, default=-1) == len(self.id_to_name) - 1

    def ids(self, labels: list[str]) -> np.ndarray:
        """Class ids of label names (a ``KeyError`` for an unknown name)."""
        return np.fromiter(map(self.name_to_id.__getitem__, labels), self.dtype, len(labels))

    def truth_ids(self, path: Path) -> np.ndarray:
        """Class ids of a groundTruth file, accepted and read exactly as ``read_labels``.

        Fast path: every line is a label name as it stands. Anything else (whitespace,
        blank lines, unknown labels, an unreadable file) goes to ``read_labels``, which
        strips the lines or raises the validator's message.
        """
        problems, lines = read_text_lines(path)
        if not problems and lines:
            try:
                return self.ids(lines)
            except KeyError:
                pass
        return self.ids(read_labels(path, self.name_to_id))

    def unknown_ids(self, ids: np.ndarray) -> list[int]:
        """The distinct ids in ``ids`` that mapping.txt lacks, sorted."""
        if ids.size and self.contiguous and 0 <= ids.min() and ids.max() < len(self.id_to_name):
            return []  # two passes instead of a sort
        return sorted(set(np.unique(ids).tolist()) - set(self.id_to_name))
