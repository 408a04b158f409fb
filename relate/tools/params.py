"""Parameter counts of every variant, at inference and in training (``relate params``).

The table compares, for one dataset and segmenter, the label-supervised baselines at their
official depth (``rgb``, ``flow``, ``two_stream``), the teacher (the ``flow`` variant at
RELATE's depth), RELATE as released, RELATE with naive (concatenation) fusion, and RELATE
under ``param_budget=match_total`` (the most layers per stage whose inference count, bridge
aside, stays within the RGB baseline's; D1 of docs/decisions.md). The reference numbers are in
docs/decisions.md (parameter counts of the released model).

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

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from relate import segmenters
from relate.blocks.param_budget import (
    baseline_count,
    match_total_layers,
    relate_counts,
    resolve_num_classes,
    spec_with_layers,
    split_budget,
)
from relate.blocks.relate_model import RelateSpec
from relate.data.variants import VARIANTS

BASELINES: tuple[str, ...] = ("rgb", "flow", "two_stream")
COLUMNS: tuple[str, ...] = (
    "variant",
    "depth",
    "inference params",
    "training params",
    "frozen params in training",
    "ratio to rgb",
    "notes",
)


def _row(
    variant: str,
    depth: Any,
    inference: int | None,
    training: int | None,
    frozen: int | None,
    rgb: int,
    notes: str = "",
) -> dict[str, Any]:
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
    return segmenters.entry(segmenter).stage_count(model)


def parameter_table(
    segmenter: str,
    dataset: str,
    num_classes: int | None = None,
    options: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per variant (see the module doc for the columns).

    ``options`` are RELATE ``key=value`` options (as for :meth:`RelateSpec.from_options`) that
    apply to every RELATE row and the teacher; the ``relate`` row is the release default when
    they are empty. The naive row drops fusion-only options (``trunk``, ``aga``,
    ``fusion.*``), which naive concatenation does not take.
    """
    num_classes = resolve_num_classes(dataset, num_classes)
    opts, _ = split_budget(options)
    official = _official_depth(segmenter, dataset, num_classes)
    counts = {v: baseline_count(segmenter, dataset, num_classes, v) for v in BASELINES}
    rgb = counts["rgb"]
    rows = [
        _row(
            v,
            official,
            counts[v],
            counts[v],
            0,
            rgb,
            f"official depth, {VARIANTS[v].in_dim}-d input",
        )
        for v in BASELINES
    ]

    release = RelateSpec.from_options(segmenter, dataset, num_classes, **opts)
    rel = relate_counts(release)
    rows.insert(
        3,
        _row(
            "teacher",
            release.depth,
            rel["teacher"],
            rel["teacher"],
            0,
            rgb,
            "flow variant at RELATE's depth; frozen inside RELATE training, not run at test time",
        ),
    )
    bridge_note = "" if release.bridge == "none" else f"; bridge ({release.bridge}) included"
    default = (
        "release default"
        if not opts
        else "with options " + ", ".join(f"{k}={v}" for k, v in sorted(opts.items()))
    )
    rows.append(
        _row(
            "relate",
            release.depth,
            rel["inference"],
            rel["training"],
            rel["frozen"],
            rgb,
            f"{default}: RGB + flow + {release.fusion} + joint{bridge_note}; frozen = teacher"
            + (" + bridge" if rel["inference"] != rel["training"] else ""),
        )
    )

    naive_opts = {
        k: v for k, v in opts.items() if k not in ("trunk", "aga") and not k.startswith("fusion.")
    }
    naive_opts["fusion"] = "naive"
    naive = RelateSpec.from_options(segmenter, dataset, num_classes, **naive_opts)
    nc = relate_counts(naive)
    rows.append(
        _row(
            "relate (fusion=naive)",
            naive.depth,
            nc["inference"],
            nc["training"],
            nc["frozen"],
            rgb,
            "concatenation instead of the AFT",
        )
    )

    match_opts = {k: v for k, v in opts.items() if k != "num_layers"}
    layers = match_total_layers(segmenter, dataset, num_classes, match_opts)
    if layers is None:
        rows.append(
            _row(
                "relate (param_budget=match_total)",
                None,
                None,
                None,
                None,
                rgb,
                "no layer count fits the RGB baseline's count",
            )
        )
    else:
        spec = spec_with_layers(segmenter, dataset, num_classes, layers, match_opts)
        mc = relate_counts(spec)
        note = f"{layers} layers per stage: the most within the RGB baseline's {rgb:,}"
        if spec.bridge != "none":
            note += " (bridge not counted against the budget)"
        rows.append(
            _row(
                "relate (param_budget=match_total)",
                spec.depth,
                mc["inference"],
                mc["training"],
                mc["frozen"],
                rgb,
                note,
            )
        )
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
    out["ratio to rgb"] = [
        "—" if v is None or pd.isna(v) else f"{v:.2f}×" for v in table["ratio to rgb"]
    ]
    return out


def header_line(segmenter: str, dataset: str, num_classes: int) -> str:
    """The one-line caption of the table."""
    return f"Parameter counts: dataset {dataset}, segmenter {segmenter}, {num_classes} classes"


def to_markdown(table: pd.DataFrame, segmenter: str, dataset: str, num_classes: int) -> str:
    """Header line plus the table in GitHub Markdown."""
    from tabulate import tabulate

    shown = format_table(table)
    body = tabulate(
        shown.values.tolist(), headers=list(shown.columns), tablefmt="github", disable_numparse=True
    )
    return f"{header_line(segmenter, dataset, num_classes)}\n\n{body}\n"
