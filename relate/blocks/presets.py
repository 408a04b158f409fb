"""Every option of the distilled variants in one place, and the ``release`` / ``paper_literal``
presets (D1-D25: the sections of docs/decisions.md).

``relate train --variant V [--preset P] --option KEY=VALUE ...`` expands the preset, lets the
explicit options win, and splits the result into model options (the spec of
:mod:`relate.blocks.relate_model` or :mod:`relate.blocks.students`, plus the run options
``schedule`` and ``param_budget``) and prediction-refinement options (``pr_*``, used by
``relate predict``).
``relate options`` prints :data:`OPTIONS` as a table (docs/options.md is generated from it).

The rule: the default is the authors' release, plain bugs are fixed by default (reproducible
by an option), and ``paper_literal`` selects the paper's reading of every discrepancy where the
paper says something the release does not do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from relate.blocks.distill.table import CMKD_GAMMA, LOSSES, relate_losses, student_losses
from relate.blocks.refine_options import PR_OPTIONS

RELATE = ("relate",)
STUDENTS: tuple[str, ...] = student_losses()
DISTILLED = RELATE + STUDENTS
PRESETS: tuple[str, ...] = ("release", "paper_literal")


@dataclass(frozen=True)
class Option:
    """One ``--option`` name.

    Attributes:
        name: the key (``fusion.<k>`` / ``segmenter.<k>`` prefixes are documented as one row).
        values: allowed values, or a type description (``"int >= 1"``).
        default: the default (the release's behaviour unless ``note`` says otherwise).
        paper_literal: the value the ``paper_literal`` preset selects (None: same as default).
        variants: the variants that take it.
        source: where the reading is documented (a D-number of docs/decisions.md, or a
            page of docs/).
        description: one line.
    """

    name: str
    values: str
    default: str
    paper_literal: str | None
    variants: tuple[str, ...]
    source: str
    description: str


def _pr_rows() -> list[Option]:
    rows = []
    for name, opt in PR_OPTIONS.items():
        literal = opt.paper_literal if opt.paper_literal != opt.default else None
        rows.append(
            Option(
                name,
                " | ".join(opt.values),
                opt.default,
                literal,
                RELATE,
                opt.source,
                f"prediction refinement; release = {opt.release}",
            )
        )
    return rows


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _weight_default() -> str:
    """The students' default weight, e.g. ``0.5 (mars: 50)``."""
    other = [f"{n}: {_number(e.weight)}" for n, e in LOSSES.items() if e.weight != CMKD_GAMMA]
    return _number(CMKD_GAMMA) + (f" ({', '.join(other)})" if other else "")


def _knob_rows() -> list[Option]:
    """One row per knob of every loss of the loss table, in the table's order."""
    return [
        Option(
            entry.option_name(name),
            knob.values_text,
            knob.default_text,
            None,
            (RELATE if entry.relate else ()) + STUDENTS,
            knob.source,
            knob.description,
        )
        for entry in LOSSES.values()
        for name, knob in entry.knobs.items()
    ]


OPTIONS: tuple[Option, ...] = (
    Option(
        "depth",
        "int >= 1",
        "3",
        None,
        RELATE,
        "D1",
        "stages per segmenter (MS-TCN stages, ASFormer 1 + decoders, FACT blocks)",
    ),
    Option(
        "num_layers",
        "int >= 1",
        "segmenter default (10)",
        None,
        RELATE,
        "D1",
        "layers per stage (FACT: f_layers and u_f_layers)",
    ),
    Option(
        "param_budget",
        "none | match_total",
        "none",
        "match_total",
        RELATE,
        "D1",
        "match_total: most layers per stage within the RGB baseline's parameters "
        "(bridge not counted)",
    ),
    Option(
        "anchor_stage",
        "stage index | last",
        "1",
        "last",
        RELATE,
        "D2",
        "which stage's argmax gives the AGA anchors",
    ),
    Option(
        "trunk",
        "release | paper",
        "release",
        "paper",
        RELATE,
        "D4-D6",
        "fusion trunk: InstanceNorm + window attention + 1x1 (release) or LayerNorm + "
        "global SDPA attention + FFN (paper)",
    ),
    Option(
        "fusion.<k>",
        "input_norm, norm, attention, window, window_mask, ffn, passthrough, "
        "anchor, variant, placement",
        "from trunk",
        None,
        RELATE,
        "D4-D6, D17-D19",
        "one fusion setting (overrides the trunk preset's)",
    ),
    Option(
        "aga",
        "both | rgb | flow | none",
        "both",
        None,
        RELATE,
        "D17, D18",
        "which modalities the action-gated attention gates (Table 2)",
    ),
    Option(
        "fusion",
        "aft | naive | self_attention | cross_attention | local_attentive",
        "aft",
        None,
        RELATE,
        "D17, D19",
        "fusion module (Table 3)",
    ),
    Option(
        "distill", " | ".join(relate_losses()), "kd", None, RELATE, "D10", "CMKD loss (Table 4)"
    ),
    Option("gamma", "float >= 0", "0.5", None, RELATE, "D9", "weight of L_CMKD"),
    Option(
        "weight",
        "float >= 0",
        _weight_default(),
        None,
        STUDENTS,
        "distillation.md",
        "weight of the distillation term",
    ),
    *_knob_rows(),
    Option(
        "teacher_arch",
        "same_as_branch | baseline",
        "same_as_branch",
        None,
        RELATE,
        "D8",
        "teacher depth; baseline pairs stages from the last",
    ),
    Option(
        "bridge",
        "none | pretrained | joint",
        "none",
        "pretrained",
        RELATE,
        "D7",
        "modality bridge before the flow branch (pretrained needs --bridge RUN_DIR)",
    ),
    Option("bridge_hidden", "int >= 1", "256", None, RELATE, "D7", "bridge hidden width"),
    Option("bridge_weight", "float >= 0", "1", None, RELATE, "D7", "bridge MSE weight (joint)"),
    Option(
        "bridge_mse_padding",
        "exclude | include",
        "exclude",
        None,
        RELATE,
        "D7",
        "padded frames in the bridge MSE (include = release)",
    ),
    Option(
        "single_branch_depth",
        "baseline | relate",
        "baseline",
        None,
        STUDENTS,
        "D20",
        "student depth: the RGB baseline's or RELATE's 3 stages",
    ),
    Option(
        "segmenter.<k>",
        "any segmenters.build override",
        "official",
        None,
        DISTILLED,
        "D12",
        "e.g. segmenter.channel_mask_rate=0.5 (ASFormer; RELATE's default is the "
        "release's 0.3 on every dataset)",
    ),
    Option(
        "schedule",
        "release | segmenter_official",
        "release (FACT: its own)",
        None,
        DISTILLED,
        "D11",
        "optimiser, lr, epochs; train.<k>=v overrides one setting",
    ),
    *_pr_rows(),
    Option(
        "pr_delta",
        "float in [0, 1]",
        "0.7",
        None,
        RELATE,
        "paper §3.4",
        "prediction refinement threshold delta",
    ),
)
"""Every option, in the order of the docs table."""

PR_OPTION_NAMES = frozenset(PR_OPTIONS) | {"pr_delta"}


def preset_options(preset: str, variant: str) -> dict[str, str]:
    """The options ``preset`` selects for ``variant`` (``release``: none, the defaults)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; known: {', '.join(PRESETS)}")
    if preset == "release":
        return {}
    return {
        o.name: o.paper_literal
        for o in OPTIONS
        if o.paper_literal is not None and variant in o.variants
    }


@dataclass(frozen=True)
class ExpandedOptions:
    """A distilled run's options after the preset: ``model`` (spec and run options) and
    ``pr`` (prediction refinement, RELATE only)."""

    model: dict[str, Any] = field(default_factory=dict)
    pr: dict[str, Any] = field(default_factory=dict)


def _yields(name: str, explicit: Mapping[str, Any]) -> bool:
    """True when a preset value must give way to an explicit option it contradicts."""
    if name == "trunk":
        return explicit.get("fusion") == "naive"
    if name == "param_budget":
        return "num_layers" in explicit
    return False


def expand_options(variant: str, preset: str | None, options: Mapping[str, Any]) -> ExpandedOptions:
    """Preset values, then ``options`` on top; split into model and PR options.

    A preset value that an explicit option contradicts (``trunk`` with ``fusion=naive``,
    ``param_budget`` with ``num_layers``) is dropped. PR options are refused for students.
    """
    if variant not in DISTILLED:
        raise ValueError(f"--preset/--option apply to {', '.join(DISTILLED)}, not {variant!r}")
    merged = {
        k: v
        for k, v in preset_options(preset or "release", variant).items()
        if not _yields(k, options)
    }
    merged.update(options)
    pr = {k: merged.pop(k) for k in list(merged) if k in PR_OPTION_NAMES}
    if pr and variant != "relate":
        raise ValueError(f"prediction-refinement options {sorted(pr)} apply to relate only")
    return ExpandedOptions(model=merged, pr=pr)


def options_table() -> list[dict[str, str]]:
    """:data:`OPTIONS` as rows for tabulate (``relate options``, docs/options.md)."""
    return [
        {
            "option": o.name,
            "values": o.values.replace(" | ", " / "),
            "default (release)": o.default,
            "paper_literal": o.paper_literal or "",
            "variants": ", ".join(o.variants),
            "source": o.source,
            "what": o.description,
        }
        for o in OPTIONS
    ]


OPTION_NAMES: Mapping[str, Option] = MappingProxyType({o.name: o for o in OPTIONS})
