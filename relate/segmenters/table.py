"""The segmenter table: one entry per segmenter, everything the rest of the suite asks of it.

Reading the table imports no torch: an entry names its module, which is imported on first
use (``--help`` lists the names without it). The module implements

* ``build_<name>(in_dim, num_classes, dataset, **overrides) -> Segmenter``;
* ``training_defaults(dataset) -> TrainingDefaults``, the official recipe;
* ``feature_width(dataset, **overrides) -> int``, the width F of each stage's features.

Per-dataset settings are dataset facts: a segmenter reads them from its key of the dataset's
``segmenter_settings`` in :mod:`relate.data.registry`. Adding a segmenter is writing its module
and its entry in :data:`_ENTRIES` (docs/extending.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib import import_module
from types import MappingProxyType, ModuleType
from typing import Any

from relate.registration import registered_in

DISTILL_SCHEDULES: tuple[str, ...] = ("release", "official")
"""``release``: distilled runs use the RELATE release's recipe; ``official``: the segmenter's."""


@dataclass(frozen=True)
class StageMap:
    """How a distilled model's ``depth`` (stages) and ``num_layers`` (layers per stage) become
    ``build`` keywords, and how many stages a built model has.

    Attributes:
        depth: ``depth`` -> build keywords giving that many stages.
        layers: ``num_layers`` -> build keywords giving that many layers per stage.
        count: a built segmenter -> its number of stages (``len(output.logits)``).
        min_depth: the fewest stages the segmenter can have.
    """

    depth: Callable[[int], dict[str, Any]]
    layers: Callable[[int], dict[str, Any]]
    count: Callable[[Any], int]
    min_depth: int = 1


@dataclass(frozen=True)
class SegmenterEntry:
    """One segmenter.

    Attributes:
        name: the ``--segmenter`` value.
        module: import path of the module (see the module doc for what it implements).
        title: the name shown in tables and figures.
        stages: the stage mapping distillation uses (RELATE's ``depth``, the students'
            ``single_branch_depth=relate``, the parameter table's official depth).
        distill_schedule: the recipe distilled runs use unless ``schedule`` says otherwise:
            ``release`` (the RELATE release's) or ``official`` (the segmenter's own).
        relate_overrides: build keywords RELATE's release sets on every dataset for its three
            segmenters (and a same-depth teacher) unless ``segmenter.<k>`` options set them
            (ASFormer: D12).
        paper: True for the segmenters the paper reports.
    """

    name: str
    module: str
    title: str
    stages: StageMap
    distill_schedule: str = "release"
    relate_overrides: Mapping[str, Any] = field(default_factory=dict, hash=False)
    paper: bool = False

    def __post_init__(self) -> None:
        if self.distill_schedule not in DISTILL_SCHEDULES:
            raise ValueError(
                f"distill_schedule must be one of {DISTILL_SCHEDULES}, "
                f"got {self.distill_schedule!r}"
            )

    def load(self) -> ModuleType:
        """The segmenter's module (imports torch)."""
        return import_module(self.module)

    def build(self, in_dim: int, num_classes: int, dataset: str, **overrides: Any) -> Any:
        """The segmenter with the official settings of ``dataset`` plus ``overrides``."""
        return getattr(self.load(), f"build_{self.name}")(in_dim, num_classes, dataset, **overrides)

    def training_defaults(self, dataset: str) -> Any:
        """The official recipe on ``dataset`` (a ``TrainingDefaults``)."""
        return self.load().training_defaults(dataset)

    def feature_width(self, dataset: str, **overrides: Any) -> int:
        """F, the width of each stage's features with ``overrides`` on ``dataset``."""
        return int(self.load().feature_width(dataset, **overrides))

    def depth_overrides(self, depth: int, num_layers: int | None = None) -> dict[str, Any]:
        """Build keywords for ``depth`` stages (and ``num_layers`` per stage when given)."""
        if depth < self.stages.min_depth:
            raise ValueError(f"{self.title} needs depth >= {self.stages.min_depth}, got {depth}")
        over = self.stages.depth(depth)
        if num_layers is not None:
            over.update(self.stages.layers(num_layers))
        return over

    def stage_count(self, model: Any) -> int:
        """Stages of a built segmenter."""
        return self.stages.count(model)


_MSTCN = SegmenterEntry(
    "mstcn",
    "relate.segmenters.mstcn",
    "MS-TCN",
    StageMap(
        depth=lambda d: {"num_stages": d},
        layers=lambda n: {"num_layers": n},
        count=lambda model: 1 + len(model.stages),
    ),
    paper=True,
)
_ASFORMER = SegmenterEntry(
    "asformer",
    "relate.segmenters.asformer",
    "ASFormer",
    StageMap(  # the encoder, then the decoders
        depth=lambda d: {"num_decoders": d - 1},
        layers=lambda n: {"num_layers": n},
        count=lambda model: 1 + len(model.decoders),
    ),
    # D12: the release masks 30% of the input channels on every dataset (official: 0.5 on GTEA)
    relate_overrides={"channel_mask_rate": 0.3},
    paper=True,
)
_FACT = SegmenterEntry(
    "fact",
    "relate.segmenters.fact",
    "FACT",
    StageMap(  # stage = block: an input block, update blocks, the last with TDU
        depth=lambda d: {"blocks": "i" + "u" * (d - 2) + "U"},
        layers=lambda n: {"f_layers": n, "u_f_layers": n},
        count=lambda model: len(model.blocks),
        min_depth=2,
    ),
    distill_schedule="official",  # the release has no FACT: FACT keeps its own recipe (D11)
    paper=True,
)

_ENTRIES: dict[str, SegmenterEntry] = {e.name: e for e in (_MSTCN, _ASFORMER, _FACT)}

TABLE: Mapping[str, SegmenterEntry] = MappingProxyType(_ENTRIES)
"""Name -> entry (read-only; :func:`registered` adds entries for the duration of a block)."""


def entry(name: str) -> SegmenterEntry:
    """The entry of segmenter ``name``; raises ``KeyError`` listing the known names."""
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(f"unknown segmenter {name!r}; known: {', '.join(_ENTRIES)}") from None


def registered(*entries: SegmenterEntry) -> AbstractContextManager[None]:
    """Add ``entries`` to the table inside the block (tests, plugins); removed after."""
    return registered_in(_ENTRIES, entries, "segmenters")


class ModuleNames(Mapping[str, str]):
    """A live read-only view of the table: name -> module path."""

    def __getitem__(self, name: str) -> str:
        return _ENTRIES[name].module

    def __iter__(self) -> Iterator[str]:
        return iter(_ENTRIES)

    def __len__(self) -> int:
        return len(_ENTRIES)

    def __repr__(self) -> str:
        return f"ModuleNames({dict(self)!r})"
