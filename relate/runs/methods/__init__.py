"""The registry of methods: what a run trains, one entry per method.

Every ``relate train --variant`` value and the bridge pre-training run is one :class:`Method`.
An entry says which feature rows a video contributes, which of them the model sees, where the
run's config keeps the method's options, and names two hook objects, loaded on first use so
that reading the registry (``--help``) imports no torch:

* ``model_hooks`` (:mod:`relate.runs.model_hooks`, :mod:`relate.runs.distilled_model_hooks`):
  build the model from a stored config and predict one video; all that prediction needs;
* ``train_hooks`` (:mod:`relate.runs.methods.baseline`, ``...distilled``): plan a request into
  a resolved config, prepare the frozen parts (teacher, bridge), and compute one video's loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from types import MappingProxyType
from typing import Any

from relate.blocks.distill.table import loss_entry, student_losses
from relate.data.registry import FEATURE_DIM, RGB_ROWS
from relate.data.variants import VARIANTS, InputVariant
from relate.errors import RelateError

ALL_ROWS = slice(0, FEATURE_DIM)


@dataclass(frozen=True)
class Method:
    """One method.

    Attributes:
        name: the ``--variant`` value (``bridge`` for ``relate train-bridge``).
        input: the feature rows read for one video (recorded as the config's ``variant``).
        sees: the rows the trained model itself gets (the rest feed a frozen teacher).
        section: the config key holding the method's options (None: it has none).
        teacher: True when the method learns from a frozen ``flow`` teacher.
        teacher_run: the workflow's run id of that teacher (``{preset}`` is filled in):
            ``flow`` (the RGB baseline's architecture, D20) or ``teacher-{preset}`` (a ``flow``
            run at the architecture ``--teacher-for relate`` with that preset sets).
        model_hooks, train_hooks: ``module:attribute`` of the hook objects.
    """

    name: str
    input: InputVariant
    sees: slice
    section: str | None
    teacher: bool
    model_hooks: str | None
    train_hooks: str
    teacher_run: str | None = None

    @property
    def description(self) -> str:
        """One line for help texts."""
        return self.input.description

    def model(self) -> Any:
        """The model-side hooks (:class:`relate.runs.methods.hooks.ModelHooks`)."""
        if self.model_hooks is None:
            raise RelateError(f"{self.name} runs make no predictions")
        return _load(self.model_hooks)

    def training(self) -> Any:
        """The training-side hooks (:class:`relate.runs.methods.hooks.TrainingHooks`)."""
        return _load(self.train_hooks)


def _load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(import_module(module), attribute)


def _baseline(variant: InputVariant) -> Method:
    return Method(
        variant.name,
        variant,
        variant.rows,
        None,
        False,
        "relate.runs.model_hooks:BASELINE",
        "relate.runs.methods.baseline:HOOKS",
    )


def _distilled(name: str, text: str, section: str, hooks: str, teacher_run: str) -> Method:
    return Method(
        name,
        InputVariant(name, ALL_ROWS, text),
        RGB_ROWS,
        section,
        True,
        f"relate.runs.distilled_model_hooks:{hooks}",
        "relate.runs.methods.distilled:HOOKS",
        teacher_run,
    )


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        **{name: _baseline(variant) for name, variant in VARIANTS.items()},
        "relate": _distilled(
            "relate",
            "RELATE: model sees RGB rows; flow rows feed the teacher",
            "relate",
            "RELATE",
            "teacher-{preset}",
        ),
        **{
            name: _distilled(
                name,
                f"RGB student, {text}, from the flow teacher (all 2048 rows read)",
                "student",
                "STUDENT",
                "flow",
            )
            for name, text in ((n, loss_entry(n).title) for n in student_losses())
        },
        "bridge": Method(
            "bridge",
            InputVariant("bridge", ALL_ROWS, "modality bridge: RGB rows -> flow rows (MSE)"),
            RGB_ROWS,
            "bridge",
            False,
            None,
            "relate.runs.bridge:HOOKS",
        ),
    }
)
"""Name -> method; never mutated."""

TRAIN_VARIANTS: tuple[str, ...] = tuple(n for n, m in METHODS.items() if n != "bridge")
"""The ``relate train --variant`` values."""
DISTILLED: tuple[str, ...] = tuple(n for n, m in METHODS.items() if m.teacher)
"""The variants that need ``--teacher``."""


def get_method(name: str) -> Method:
    """The method ``name``; a ``RelateError`` listing the known ones."""
    if name not in TRAIN_VARIANTS:
        raise RelateError(f"unknown variant {name!r}; known: {', '.join(TRAIN_VARIANTS)}")
    return METHODS[name]
