"""``param_budget`` (D1 of docs/decisions.md): parameter counts of RELATE and of the RGB
baseline, and the layers per stage that keep RELATE within the baseline's inference count.

Models are built on ``torch.device("meta")``: nothing is allocated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from relate import segmenters
from relate.blocks.distill import ModalityBridge
from relate.blocks.relate_model import RelateModel, RelateSpec, build_teacher, count_parameters
from relate.data.registry import get_dataset
from relate.data.variants import VARIANTS

PARAM_BUDGETS: tuple[str, ...] = ("none", "match_total")
MAX_LAYERS = 64
"""Upper bound of the layer search (counts grow with layers, so it is never reached in practice)."""


def resolve_num_classes(dataset: str, num_classes: int | None) -> int:
    """``num_classes`` or, when None, the dataset registry's class count."""
    if num_classes is not None:
        return int(num_classes)
    return get_dataset(dataset).n_classes


def baseline_count(segmenter: str, dataset: str, num_classes: int, variant: str = "rgb") -> int:
    """Parameters of a baseline (``rgb``, ``flow``, ``two_stream``) at its official depth."""
    in_dim = VARIANTS[variant].in_dim
    with torch.device("meta"):
        model = segmenters.build(segmenter, in_dim, num_classes, dataset)
    return count_parameters(model)


def split_budget(options: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """Options without ``param_budget``, and the budget (``none`` when absent)."""
    opts = dict(options or {})
    budget = str(opts.pop("param_budget", "none"))
    if budget not in PARAM_BUDGETS:
        raise ValueError(f"param_budget must be one of {PARAM_BUDGETS}, got {budget!r}")
    return opts, budget


def spec_with_layers(
    segmenter: str,
    dataset: str,
    num_classes: int,
    num_layers: int,
    options: Mapping[str, Any] | None = None,
) -> RelateSpec:
    """RELATE spec with ``options`` and ``num_layers`` layers per stage (depth unchanged)."""
    opts, _ = split_budget(options)
    opts["num_layers"] = num_layers
    return RelateSpec.from_options(segmenter, dataset, num_classes, **opts)


def budget_count(spec: RelateSpec) -> int:
    """Inference parameters that ``param_budget`` matches: everything RELATE runs at test time
    except a modality bridge, which has no layers to reduce (with the release's 1024-256-1024
    bridge alone at 525,568 parameters, no MS-TCN RELATE could otherwise fit the RGB baseline's
    731,244; D1 and D7 can only hold together this way)."""
    bridge = 0
    if spec.bridge != "none":
        bridge = count_parameters(ModalityBridge(spec.in_dim, hidden=spec.bridge_hidden))
    return relate_counts(spec)["inference"] - bridge


def relate_counts(spec: RelateSpec) -> dict[str, int]:
    """Inference, trainable and frozen-in-training parameter counts of a RELATE spec."""
    with torch.device("meta"):
        model = RelateModel(spec)
        teacher = build_teacher(spec)
    total = count_parameters(model)
    trainable = count_parameters(model, trainable_only=True)
    return {
        "inference": total,
        "training": trainable,
        "frozen": count_parameters(teacher) + (total - trainable),
        "teacher": count_parameters(teacher),
    }


def match_total_layers(
    segmenter: str,
    dataset: str,
    num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> int | None:
    """The largest ``num_layers`` whose RELATE :func:`budget_count` is <= the RGB baseline's
    parameters, or None (D1: "matched by reducing layers"; at 3 stages MS-TCN fits with L = 3).

    Every other option (``depth``, ``fusion``, ...) is kept from ``options``; only the layers
    per stage are searched, from 1 (FACT: ``f_layers`` and ``u_f_layers``). Counts grow with
    layers, so the search stops at the first count over budget. Returns None when not even one
    layer fits (for example FACT, whose three segmenters each cost about as much as the
    baseline); :func:`require_match_total_layers` raises instead.
    """
    num_classes = resolve_num_classes(dataset, num_classes)
    budget = baseline_count(segmenter, dataset, num_classes, "rgb")
    best: int | None = None
    for layers in range(1, MAX_LAYERS + 1):
        spec = spec_with_layers(segmenter, dataset, num_classes, layers, options)
        if budget_count(spec) > budget:
            break
        best = layers
    return best


def require_match_total_layers(
    segmenter: str,
    dataset: str,
    num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> int:
    """:func:`match_total_layers`, raising ``ValueError`` with the numbers when none fits."""
    layers = match_total_layers(segmenter, dataset, num_classes, options)
    if layers is None:
        n = resolve_num_classes(dataset, num_classes)
        budget = baseline_count(segmenter, dataset, n, "rgb")
        smallest = budget_count(spec_with_layers(segmenter, dataset, n, 1, options))
        raise ValueError(
            f"param_budget=match_total: no layer count fits {segmenter} on {dataset} (C={n}): "
            f"RELATE with 1 layer per stage has {smallest:,} parameters, the RGB baseline "
            f"{budget:,}"
        )
    return layers


def resolve_options(
    segmenter: str,
    dataset: str,
    num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """RELATE options with ``param_budget`` replaced by a concrete ``num_layers``.

    ``param_budget=match_total`` sets ``num_layers`` to :func:`require_match_total_layers`;
    setting both it and ``num_layers`` is an error. The result goes straight to
    :meth:`RelateSpec.from_options`.
    """
    opts, budget = split_budget(options)
    if budget == "none":
        return opts
    if "num_layers" in opts:
        raise ValueError("param_budget=match_total picks num_layers; do not also set num_layers")
    opts["num_layers"] = require_match_total_layers(segmenter, dataset, num_classes, opts)
    return opts
