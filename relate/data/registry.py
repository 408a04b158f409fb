"""The dataset registry: one row per dataset, the only place these facts live.

Facts from the official MS-TCN code (see docs/datasets.md): GTEA and Breakfast features
are at 15 fps and used at rate 1; 50Salads features are at 30 fps and subsampled by 2 for
training. Under the standard protocol only GTEA's ``background`` is dropped from Edit and
F1; 50Salads' action_start/action_end and Breakfast's SIL are ordinary classes.
Each ``synthetic_<name>`` row repeats the row of the paper dataset it stands in for
(``relate synth --like <name>`` generates it; docs/synthetic.md) and takes that dataset's
recipes (:func:`recipe_dataset`).

A row also holds the per-dataset recipe facts: the release's RELATE learning rate
(``relate_lr``, D11 of docs/decisions.md) and each segmenter's per-dataset settings
(``segmenter_settings``, read by the segmenter's own module; docs/extending.md). Adding a
dataset is adding a row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from relate.registration import registered_in

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
            splits, rates, label conventions and recipes; ``relate synth --like``), else None.
        relate_lr: the release's RELATE (and students') learning rate here, or None (a
            stand-in: its paper dataset's; see :func:`relate_lr`).
        segmenter_settings: segmenter name -> that segmenter's settings on this dataset (keys
            defined by the segmenter's module: ASFormer ``channel_mask_rate`` and ``lr``;
            FACT ``config`` (FACTConfig fields) and ``training`` (TrainingDefaults fields)).
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
    relate_lr: float | None = None
    segmenter_settings: Mapping[str, Mapping[str, Any]] = field(
        default_factory=dict, hash=False, repr=False
    )

    def default_root(self, data_dir: str | Path = "data") -> Path:
        """Default dataset folder: ``{data_dir}/{name}``."""
        return Path(data_dir) / self.name


# FACT: FACTConfig's defaults are the official configs/gtea.yaml; rows give the differences.
# FACT's recipe (TrainingDefaults) is the GTEA one unless ``training`` says otherwise.
_GTEA = DatasetInfo(
    "gtea", 15.0, 1, 4, 11, ("background",), "background",
    relate_lr=1e-3,
    segmenter_settings={
        "asformer": {"channel_mask_rate": 0.5},
        "fact": {"config": {"average_transcript_len": 32.9, "bg_class": (10,)}},
    },
)  # fmt: skip
"""FACT: configs/gtea.yaml + utils/dataset.py (average_transcript_len 32.9, bg_class [10])."""

_50SALADS = DatasetInfo(
    "50salads", 30.0, 2, 5, 19, (), None,
    relate_lr=5e-4,
    segmenter_settings={
        "fact": {
            "config": {
                "ntoken": 39, "average_transcript_len": 19.98, "bg_class": (), "eval_bg": True,
                "sample_rate": 2,
            }
        },
    },
)  # fmt: skip
"""FACT has no official 50Salads config: its utils/gen_config.py recipe (o2o) on the GTEA
base config, from the 50 real label files (docs/fact.md gives the command; test_fact.py
recomputes it): mean 19.98 and max 26 segments per video (the same at 30 fps and at sr=2),
ntoken=int(1.5*26)=39; no background class (bg_class=(); bgw=1 makes it irrelevant anyway).
FACT's recipe: gen_config keeps the base config's schedule, batch 1."""

_BREAKFAST = DatasetInfo(
    "breakfast", 15.0, 1, 4, 48, (), "SIL",
    relate_lr=1e-4,
    segmenter_settings={
        "asformer": {"lr": 1e-4},
        "fact": {
            "config": {
                "blocks": "iuUU", "f": "m2", "f_dim": 512, "a_dim": 512, "dropout": 0.0,
                "cmr": 0.3, "tm_t": 30, "tm_p": 0.05, "average_transcript_len": 6.9,
                "bg_class": (0,), "eval_bg": True,
            },
            "training": {"epochs": 150, "lr_decay_every": 80, "batch_size": 4},
        },
    },
)  # fmt: skip
"""FACT: configs/breakfast.yaml + utils/dataset.py (average_transcript_len 6.9, bg_class [0])."""

_SYNTHETIC = DatasetInfo(
    "synthetic", 15.0, 1, 4, 11, ("background",), "background", synthetic=True,
    relate_lr=1e-3,
    segmenter_settings={
        "asformer": {"channel_mask_rate": 0.5},
        "fact": {"config": {"ntoken": 21, "average_transcript_len": 9.9, "bg_class": (10,)}},
    },
)  # fmt: skip
"""The default synthetic dataset follows GTEA's settings. FACT: gen_config's recipe on
SynthConfig(), seed 0 (11 classes, background id 10 like GTEA): 30 videos, mean 9.9 and max
14 segments, ntoken=int(1.5*14)=21 (the command is in docs/fact.md)."""

_ROWS: dict[str, DatasetInfo] = {
    row.name: row
    for row in (
        _GTEA,
        _50SALADS,
        _BREAKFAST,
        _SYNTHETIC,
        DatasetInfo("synthetic_gtea", 15.0, 1, 4, 11, ("background",), "background", True, "gtea"),
        DatasetInfo("synthetic_50salads", 30.0, 2, 5, 19, (), None, True, "50salads"),
        DatasetInfo("synthetic_breakfast", 15.0, 1, 4, 48, (), "SIL", True, "breakfast"),
    )
}

DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(_ROWS)
"""Name -> dataset (read-only; :func:`registered` adds rows for the duration of a block)."""


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


def relate_lr(dataset: str) -> float:
    """The release's RELATE learning rate on ``dataset`` (a stand-in: its paper dataset's).

    Raises ``KeyError`` for an unknown dataset or one without a RELATE learning rate.
    """
    info = get_dataset(recipe_dataset(get_dataset(dataset).name))
    if info.relate_lr is None:
        known = ", ".join(n for n, row in DATASETS.items() if row.relate_lr is not None)
        raise KeyError(f"no RELATE learning rate for {dataset}; known: {known}")
    return info.relate_lr


def segmenter_settings(segmenter: str, dataset: str) -> Mapping[str, Any]:
    """``segmenter``'s settings on ``dataset`` (a stand-in: its paper dataset's); empty when
    the row gives none. Raises ``KeyError`` for an unknown dataset."""
    info = get_dataset(recipe_dataset(get_dataset(dataset).name))
    return info.segmenter_settings.get(segmenter, {})


def datasets_with(segmenter: str) -> tuple[str, ...]:
    """The datasets whose own row gives ``segmenter`` settings (stand-ins not listed)."""
    return tuple(n for n, row in DATASETS.items() if segmenter in row.segmenter_settings)


def registered(*rows: DatasetInfo) -> AbstractContextManager[None]:
    """Add ``rows`` to :data:`DATASETS` inside the block (tests, plugins); restored after."""
    return registered_in(_ROWS, rows, "datasets")
