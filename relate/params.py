"""Parameter counts of every variant, at inference and in training (``relate params``).

The table compares, for one dataset and segmenter, the label-supervised baselines at their
official depth (``rgb``, ``flow``, ``two_stream``), the teacher (the ``flow`` variant at
RELATE's depth), RELATE as released, RELATE with naive (concatenation) fusion, and RELATE
under ``param_budget=match_total`` (the largest depth whose inference count stays within the
RGB baseline's). Source of the reference numbers: reference-relate-release.md §6.

What each column counts:

* **inference params**: every parameter that runs at test time. RELATE: RGB branch + flow
  branch + fusion + joint segmenter (+ the modality bridge when ``bridge != "none"``); the
  teacher is not run at test time and is not counted.
* **training params**: parameters the optimiser updates. The teacher is frozen (and a
  ``pretrained`` bridge too), so they are not in this column.
* **frozen params in training**: parameters held in memory but not trained: for RELATE the
  teacher plus a frozen bridge; 0 for the baselines and the teacher's own training run.
* **ratio to rgb**: inference params / the RGB baseline's inference params.

Models are built on ``torch.device("meta")``: nothing is allocated, so even FACT on
Breakfast (about 119M parameters for RELATE) is counted in a fraction of a second.
"""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd
import torch

from relate import segmenters
from relate.data.registry import get_dataset
from relate.models import RelateModel, RelateSpec, build_teacher, count_parameters
from relate.variants import VARIANTS

BASELINES: tuple[str, ...] = ("rgb", "flow", "two_stream")
PARAM_BUDGETS: tuple[str, ...] = ("none", "match_total")
MAX_DEPTH = 64
"""Upper bound of the depth search (counts grow with depth, so it is never reached in practice)."""

COLUMNS: tuple[str, ...] = (
    "variant",
    "depth",
    "inference params",
    "training params",
    "frozen params in training",
    "ratio to rgb",
    "notes",
)


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


def _split_budget(options: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """Options without ``param_budget``, and the budget (``none`` when absent)."""
    opts = dict(options or {})
    budget = str(opts.pop("param_budget", "none"))
    if budget not in PARAM_BUDGETS:
        raise ValueError(f"param_budget must be one of {PARAM_BUDGETS}, got {budget!r}")
    return opts, budget


def spec_at_depth(
    segmenter: str, dataset: str, num_classes: int, depth: int,
    options: Mapping[str, Any] | None = None,
) -> RelateSpec:
    """RELATE spec with ``options`` at ``depth``.

    When ``anchor_stage`` is not given and the release's stage 1 does not exist (depth 1),
    the anchors come from the only stage, 0: this is the one departure from the release
    defaults that a depth-1 budget model needs, and the table's notes say so.
    """
    opts, _ = _split_budget(options)
    opts["depth"] = depth
    if "anchor_stage" not in opts and depth < 2:
        opts["anchor_stage"] = 0
    return RelateSpec.from_options(segmenter, dataset, num_classes, **opts)


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


def match_total_depth(
    segmenter: str, dataset: str, num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> int | None:
    """The largest depth whose RELATE inference count is <= the RGB baseline's, or None.

    Every other option (``num_layers``, ``fusion``, ``bridge``, ...) is kept from ``options``;
    only ``depth`` is searched (from 1, or 2 for FACT, which needs an input and an update
    block). Counts grow with depth, so the search stops at the first depth over budget.
    Returns None when not even the smallest depth fits (for example FACT, whose three
    segmenters each cost about as much as the baseline); :func:`require_match_total_depth`
    raises instead.
    """
    num_classes = resolve_num_classes(dataset, num_classes)
    budget = baseline_count(segmenter, dataset, num_classes, "rgb")
    best: int | None = None
    for depth in range(2 if segmenter == "fact" else 1, MAX_DEPTH + 1):
        spec = spec_at_depth(segmenter, dataset, num_classes, depth, options)
        if relate_counts(spec)["inference"] > budget:
            break
        best = depth
    return best


def require_match_total_depth(
    segmenter: str, dataset: str, num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> int:
    """:func:`match_total_depth`, raising ``ValueError`` with the numbers when no depth fits."""
    depth = match_total_depth(segmenter, dataset, num_classes, options)
    if depth is None:
        n = resolve_num_classes(dataset, num_classes)
        budget = baseline_count(segmenter, dataset, n, "rgb")
        smallest = 2 if segmenter == "fact" else 1
        count = relate_counts(spec_at_depth(segmenter, dataset, n, smallest, options))["inference"]
        raise ValueError(
            f"param_budget=match_total: no depth fits {segmenter} on {dataset} (C={n}): "
            f"RELATE at depth {smallest} has {count:,} inference params, the RGB baseline "
            f"{budget:,}; reduce num_layers or widths instead"
        )
    return depth


def resolve_options(
    segmenter: str, dataset: str, num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """RELATE options with ``param_budget`` replaced by a concrete ``depth``.

    ``param_budget=match_total`` sets ``depth`` to :func:`require_match_total_depth` (and
    ``anchor_stage=0`` at depth 1 unless given); setting both it and ``depth`` is an error.
    The result goes straight to :meth:`RelateSpec.from_options`.
    """
    opts, budget = _split_budget(options)
    if budget == "none":
        return opts
    if "depth" in opts:
        raise ValueError("param_budget=match_total picks the depth; do not also set depth")
    depth = require_match_total_depth(segmenter, dataset, num_classes, opts)
    opts["depth"] = depth
    if "anchor_stage" not in opts and depth < 2:
        opts["anchor_stage"] = 0
    return opts


def _row(variant: str, depth: Any, inference: int | None, training: int | None,
         frozen: int | None, rgb: int, notes: str = "") -> dict[str, Any]:
    return {
        "variant": variant,
        "depth": depth,
        "inference params": inference,
        "training params": training,
        "frozen params in training": frozen,
        "ratio to rgb": None if inference is None else inference / rgb,
        "notes": notes,
    }


def _official_depth(segmenter: str, dataset: str, num_classes: int) -> int:
    """Stages of the official segmenter (MS-TCN stages, ASFormer 1 + decoders, FACT blocks)."""
    with torch.device("meta"):
        model = segmenters.build(segmenter, VARIANTS["rgb"].in_dim, num_classes, dataset)
    if segmenter == "mstcn":
        return 1 + len(getattr(model, "stages", []))
    if segmenter == "asformer":
        return 1 + len(getattr(model, "decoders", []))
    return len(getattr(model, "blocks", []))


def parameter_table(
    segmenter: str, dataset: str, num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per variant (see the module doc for the columns).

    ``options`` are RELATE ``key=value`` options (as for :meth:`RelateSpec.from_options`) that
    apply to every RELATE row and the teacher; the ``relate`` row is the release default when
    they are empty. The naive row drops fusion-only options (``trunk``, ``aga``,
    ``fusion.*``), which naive concatenation does not take.
    """
    num_classes = resolve_num_classes(dataset, num_classes)
    opts, _ = _split_budget(options)
    official = _official_depth(segmenter, dataset, num_classes)
    counts = {v: baseline_count(segmenter, dataset, num_classes, v) for v in BASELINES}
    rgb = counts["rgb"]
    rows = [
        _row(v, official, counts[v], counts[v], 0, rgb, f"official depth, {VARIANTS[v].in_dim}-d input")
        for v in BASELINES
    ]

    release = RelateSpec.from_options(segmenter, dataset, num_classes, **opts)
    rel = relate_counts(release)
    rows.insert(3, _row(
        "teacher", release.depth, rel["teacher"], rel["teacher"], 0, rgb,
        "flow variant at RELATE's depth; frozen inside RELATE training, not run at test time",
    ))
    bridge_note = "" if release.bridge == "none" else f"; bridge ({release.bridge}) included"
    default = "release default" if not opts else "with options " + ", ".join(
        f"{k}={v}" for k, v in sorted(opts.items()))
    rows.append(_row(
        "relate", release.depth, rel["inference"], rel["training"], rel["frozen"], rgb,
        f"{default}: RGB + flow + {release.fusion} + joint{bridge_note}; frozen = teacher"
        + (" + bridge" if rel["inference"] != rel["training"] else ""),
    ))

    naive_opts = {k: v for k, v in opts.items()
                  if k not in ("trunk", "aga") and not k.startswith("fusion.")}
    naive_opts["fusion"] = "naive"
    naive = RelateSpec.from_options(segmenter, dataset, num_classes, **naive_opts)
    nc = relate_counts(naive)
    rows.append(_row("relate (fusion=naive)", naive.depth, nc["inference"], nc["training"],
                     nc["frozen"], rgb, "concatenation instead of the AFT"))

    match_opts = {k: v for k, v in opts.items() if k != "depth"}
    depth = match_total_depth(segmenter, dataset, num_classes, match_opts)
    if depth is None:
        rows.append(_row("relate (param_budget=match_total)", None, None, None, None, rgb,
                         "no depth fits the RGB baseline's count"))
    else:
        spec = spec_at_depth(segmenter, dataset, num_classes, depth, match_opts)
        mc = relate_counts(spec)
        note = f"largest depth within the RGB baseline's {rgb:,}"
        if depth < 2 and "anchor_stage" not in match_opts:
            note += "; anchors from stage 0 (the release's stage 1 does not exist)"
        rows.append(_row("relate (param_budget=match_total)", depth, mc["inference"],
                         mc["training"], mc["frozen"], rgb, note))
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for col in ("depth", "inference params", "training params", "frozen params in training"):
        table[col] = table[col].astype("Int64")  # nullable: the match_total row may be empty
    table["ratio to rgb"] = table["ratio to rgb"].astype(float)
    return table


def _fmt_int(value: Any, sep: bool = True) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{int(value):,}" if sep else str(int(value))


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for display: thousands separators, ratios to 2 decimals, '—' for missing."""
    out = table.copy().astype(object)
    for col in ("inference params", "training params", "frozen params in training"):
        out[col] = [_fmt_int(v) for v in table[col]]
    out["depth"] = [_fmt_int(v, sep=False) for v in table["depth"]]
    out["ratio to rgb"] = ["—" if v is None or pd.isna(v) else f"{v:.2f}×"
                           for v in table["ratio to rgb"]]
    return out


def header_line(segmenter: str, dataset: str, num_classes: int) -> str:
    """The one-line caption of the table."""
    return f"Parameter counts: dataset {dataset}, segmenter {segmenter}, {num_classes} classes"


def to_markdown(table: pd.DataFrame, segmenter: str, dataset: str, num_classes: int) -> str:
    """Header line plus the table in GitHub Markdown."""
    from tabulate import tabulate

    shown = format_table(table)
    body = tabulate(shown.values.tolist(), headers=list(shown.columns), tablefmt="github",
                    disable_numparse=True)
    return f"{header_line(segmenter, dataset, num_classes)}\n\n{body}\n"
