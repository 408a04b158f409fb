"""The dataset registry: one row per dataset, the only place these facts live.

Facts from the official MS-TCN code (see docs/datasets.md): GTEA and Breakfast features
are at 15 fps and used at rate 1; 50Salads features are at 30 fps and subsampled by 2 for
training. Under the standard protocol only GTEA's ``background`` is dropped from Edit and
F1; 50Salads' action_start/action_end and Breakfast's SIL are ordinary classes.
Each ``synthetic_<name>`` row repeats the row of the paper dataset it stands in for
(``relate synth --like <name>`` generates it; docs/synthetic.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

FEATURE_DIM = 2048
"""Rows of a feature file: 0-1023 I3D-RGB, 1024-2047 I3D-flow."""

RGB_ROWS = slice(0, 1024)
FLOW_ROWS = slice(1024, 2048)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset.

    Attributes:
        name: registry key, also the folder name under ``data/``.
        fps: frame rate of features and labels.
        sample_rate: temporal subsampling used for training (50Salads: 2).
        n_splits: number of cross-validation splits.
        n_classes: number of classes in mapping.txt.
        background: labels dropped from Edit and F1 under the standard protocol.
        release_background: the single label the RELATE release drops (its own convention).
        synthetic: True for generated data; every output made from it says so.
        stands_in_for: the paper dataset a synthetic dataset is shaped like (its classes,
            splits, rates and label conventions; ``relate synth --like``), else None.
    """

    name: str
    fps: float
    sample_rate: int
    n_splits: int
    n_classes: int
    background: tuple[str, ...]
    release_background: str | None
    synthetic: bool = False
    stands_in_for: str | None = None

    def default_root(self, data_dir: str | Path = "data") -> Path:
        """Default dataset folder: ``{data_dir}/{name}``."""
        return Path(data_dir) / self.name


DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "gtea": DatasetInfo("gtea", 15.0, 1, 4, 11, ("background",), "background"),
        "50salads": DatasetInfo("50salads", 30.0, 2, 5, 19, (), None),
        "breakfast": DatasetInfo("breakfast", 15.0, 1, 4, 48, (), "SIL"),
        "synthetic": DatasetInfo(
            "synthetic", 15.0, 1, 4, 11, ("background",), "background", synthetic=True
        ),
        "synthetic_gtea": DatasetInfo(
            "synthetic_gtea", 15.0, 1, 4, 11, ("background",), "background", True, "gtea"
        ),
        "synthetic_50salads": DatasetInfo(
            "synthetic_50salads", 30.0, 2, 5, 19, (), None, True, "50salads"
        ),
        "synthetic_breakfast": DatasetInfo(
            "synthetic_breakfast", 15.0, 1, 4, 48, (), "SIL", True, "breakfast"
        ),
    }
)


def get_dataset(name: str) -> DatasetInfo:
    """Look up a dataset by name; raises ``KeyError`` listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise KeyError(f"unknown dataset {name!r}; known: {known}") from None


def recipe_dataset(name: str) -> str:
    """The dataset whose official settings (learning rates, FACT's tables, ...) runs on
    ``name`` use: the paper dataset a synthetic stand-in is shaped like, else ``name``
    (unknown names too: the recipe tables' own lookups then name what they know)."""
    info = DATASETS.get(name)
    return (info.stands_in_for or info.name) if info else name
