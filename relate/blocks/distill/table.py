"""The distillation-loss table: one entry per loss, with its function, stages and knobs.

Reading the table imports no torch (``relate options`` and ``--help`` read it): an entry names
its function as ``module:attribute``, imported on first use. Adding a loss is writing its
function and its entry in :data:`_ENTRIES` (docs/extending.md).

A knob is one option of one loss, kept under that loss's entry. The built-in knobs keep the
option names runs have always stored (``temperature``, ``kd_reduction``, ``rkd_loss``, ...: a
field of :class:`relate.blocks.relate_model.RelateSpec` and
:class:`relate.blocks.students.StudentSpec` each); a knob without such a name is spelled
``distill.<knob>`` and kept in the specs' ``distill_options``.

Sources: the release's defaults (D8-D10 of docs/decisions.md; docs/distillation.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib import import_module
from types import MappingProxyType
from typing import Any

from relate.registration import registered_in

KD_TEMPERATURE = 2.0  # release: --temperature (train.py L63) and every YAML
CMKD_GAMMA = 0.5  # release: --gamma (train.py L64), weight of KD, RKD or GCR
MARS_ALPHA = 50.0  # the MARS paper's alpha
EPS_RELEASE = 1e-6  # release's epsilon in the RKD mean and the GCR (T - 1) denominator

KNOB_KINDS: tuple[str, ...] = ("choice", "bool", "positive")
NESTED_PREFIX = "distill."
"""Spelling of a knob that has no option name of its own: ``distill.<knob>``."""


@dataclass(frozen=True)
class Knob:
    """One option of a distillation loss.

    Its name (the key in :attr:`LossEntry.knobs`) is the loss function's keyword it sets;
    a knob named ``stages`` sets the stages paired instead (``default``, ``all``, ``last``).

    Attributes:
        default: its value in the release.
        kind: ``choice`` (one of ``choices``), ``bool`` or ``positive`` (a number > 0).
        choices: the allowed values of a ``choice`` knob.
        option: the option name runs store it under (a spec field), or None: ``distill.<k>``.
        shown_default: the default as the options table shows it (None: from ``default``).
        source: where the reading is documented (a D-number of docs/decisions.md).
        description: one line for the options table.
    """

    default: Any
    kind: str = "choice"
    choices: tuple[Any, ...] = ()
    option: str | None = None
    shown_default: str | None = None
    source: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KNOB_KINDS:
            raise ValueError(f"knob kind must be one of {KNOB_KINDS}, got {self.kind!r}")
        self.check("default", self.default)

    def check(self, name: str, value: Any) -> None:
        """Raise ``ValueError`` naming ``name`` unless ``value`` is allowed."""
        if self.kind == "bool" and not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        if self.kind == "choice" and value not in self.choices:
            raise ValueError(f"{name} must be one of {self.choices}, got {value!r}")
        if self.kind == "positive" and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
        ):
            raise ValueError(f"{name} must be > 0, got {value!r}")

    @property
    def values_text(self) -> str:
        """The allowed values as the options table shows them."""
        if self.kind == "bool":
            return "true | false"
        if self.kind == "positive":
            return "float > 0"
        return " | ".join(str(c) for c in self.choices)

    @property
    def default_text(self) -> str:
        """The default as the options table shows it."""
        if self.shown_default is not None:
            return self.shown_default
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, float) and self.default.is_integer():
            return str(int(self.default))
        return str(self.default)


@dataclass(frozen=True)
class LossEntry:
    """One distillation loss.

    Attributes:
        name: the loss's name: RELATE's ``distill`` value and, for a student loss, the
            student's ``--variant``.
        function: ``module:attribute`` of ``f(student, teacher, mask=None, **knobs) -> scalar``
            on (B, C|F, T) tensors; it must detach the teacher itself.
        tensor: the per-stage tensor it compares: ``logits`` or ``features``.
        stages: the stages it pairs by default: ``all`` or ``last``.
        knobs: knob name -> :class:`Knob`.
        relate: True when RELATE's CMKD may use it (``distill=<name>``).
        student: True when a single-branch student learns with it.
        weight: the students' default weight of the term.
        title: one line for help texts.
    """

    name: str
    function: str
    tensor: str
    stages: str
    knobs: Mapping[str, Knob] = field(default_factory=dict, hash=False)
    relate: bool = True
    student: bool = True
    weight: float = CMKD_GAMMA
    title: str = ""

    def __post_init__(self) -> None:
        if self.tensor not in ("logits", "features"):
            raise ValueError(f"tensor must be 'logits' or 'features', got {self.tensor!r}")
        if self.stages not in ("all", "last"):
            raise ValueError(f"stages must be 'all' or 'last', got {self.stages!r}")
        stages = self.knobs.get("stages")
        if stages is not None and set(stages.choices) != {"default", "all", "last"}:
            raise ValueError(f"{self.name}: a stages knob takes default, all and last")

    def load(self) -> Callable[..., Any]:
        """The loss function (imports torch)."""
        module, _, attribute = self.function.partition(":")
        return getattr(import_module(module), attribute)

    def option_name(self, knob: str) -> str:
        """The option that sets ``knob``: its own name, else ``distill.<knob>``."""
        return self.knobs[knob].option or NESTED_PREFIX + knob


def _kd_knobs() -> dict[str, Knob]:
    return {
        "temperature": Knob(
            KD_TEMPERATURE, "positive", option="temperature", source="D9",
            description="KD temperature",
        ),
        "reduction": Knob(
            "sum_frames", choices=("sum_frames", "mean_frames"),
            option="kd_reduction", source="D9",
            description="KD summed over frames (release) or averaged",
        ),
        "tau2": Knob(
            False, "bool", option="kd_tau2", source="D9",
            description="multiply KD by tau^2",
        ),
        "stages": Knob(
            "default", choices=("default", "all", "last"), option="kd_stages",
            shown_default="default (all)", source="D9", description="stages KD pairs",
        ),
    }  # fmt: skip


_ENTRIES: dict[str, LossEntry] = {
    e.name: e
    for e in (
        LossEntry(
            "kd", "relate.blocks.distill.kd:kd_loss", "logits", "all", _kd_knobs(),
            title="logit KD at temperature 2 on every stage",
        ),
        LossEntry(
            "rkd", "relate.blocks.distill.rkd:rkd_loss", "features", "last",
            {"loss": Knob(
                "mse", choices=("mse", "huber"), option="rkd_loss", source="D10",
                description="RKD distance loss",
            )},
            title="distance-wise relational KD on the last stage's features",
        ),
        LossEntry(
            "gcr", "relate.blocks.distill.gcr:gcr_loss", "features", "last",
            {"matrix": Knob(
                "channel", choices=("channel", "frame"), option="gcr_matrix",
                source="D10", description="GCR relation matrix",
            )},
            title="channel-covariance MSE on the last stage's features",
        ),
        LossEntry(
            "mars", "relate.blocks.distill.mars:mars_loss", "features", "last",
            relate=False, weight=MARS_ALPHA,
            title="MARS feature MSE on the last stage's features",
        ),
    )
}  # fmt: skip

LOSSES: Mapping[str, LossEntry] = MappingProxyType(_ENTRIES)
"""Name -> entry (read-only; :func:`registered` adds entries for the duration of a block)."""


def loss_entry(name: str) -> LossEntry:
    """The entry of loss ``name``; raises ``KeyError`` listing the known names."""
    try:
        return _ENTRIES[name]
    except KeyError:
        raise KeyError(
            f"unknown distillation loss {name!r}; known: {', '.join(_ENTRIES)}"
        ) from None


def relate_losses() -> tuple[str, ...]:
    """The losses RELATE's CMKD may use (``distill`` values)."""
    return tuple(n for n, e in _ENTRIES.items() if e.relate)


def student_losses() -> tuple[str, ...]:
    """The losses single-branch students learn with (their ``--variant`` values)."""
    return tuple(n for n, e in _ENTRIES.items() if e.student)


def named_knobs() -> dict[str, tuple[str, Knob]]:
    """Option name -> (loss, knob) of every knob with an option name of its own."""
    return {k.option: (e.name, k) for e in _ENTRIES.values() for k in e.knobs.values() if k.option}


def registered(*entries: LossEntry) -> AbstractContextManager[None]:
    """Add ``entries`` to the table inside the block (tests, plugins); removed after."""
    return registered_in(_ENTRIES, entries, "distillation losses")


class LossFunctions(Mapping[str, Callable[..., Any]]):
    """A live read-only view of the table: name -> loss function (imported on access)."""

    def __getitem__(self, name: str) -> Callable[..., Any]:
        return _ENTRIES[name].load()

    def __iter__(self) -> Iterator[str]:
        return iter(_ENTRIES)

    def __len__(self) -> int:
        return len(_ENTRIES)
