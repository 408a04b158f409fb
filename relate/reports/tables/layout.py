"""The paper's table layout: metrics, frame columns, titles, rows and the dataset mapping."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from relate.errors import RelateError
from relate.reports.summary import METRIC_COLUMNS
from relate.segmenters import TABLE as SEGMENTER_TABLE

METRICS: tuple[str, ...] = METRIC_COLUMNS
"""The five metrics, in the paper's column order."""
NO_PRESET = "-"
"""``preset`` of the variants presets do not apply to (rgb, flow, two_stream)."""
KEY = ("dataset", "segmenter", "row", "preset", "convention", "split", "seed")
"""What identifies one metrics file; two files with the same key are an error."""
FRAME_COLUMNS = (
    "dataset",
    "segmenter",
    "row",
    "variant",
    "preset",
    "convention",
    "split",
    "seed",
    "epochs",
    "lr",
    "settings",
    "synthetic",
    "head",
    "options",
    *METRICS,
    "path",
)
METRIC_TITLES = {
    "f1@10": "F1@10",
    "f1@25": "F1@25",
    "f1@50": "F1@50",
    "edit": "Edit",
    "acc": "Acc",
    "avg": "Avg",
    "avg_gain": "Avg gain",
}
DATASET_TITLES = {"gtea": "GTEA", "50salads": "50Salads", "breakfast": "Breakfast"}
SEGMENTER_TITLES = {name: entry.title for name, entry in SEGMENTER_TABLE.items()}
TABLE_TITLES = {
    1: "Table 1: performance comparison on three datasets and three segmenters",
    2: "Table 2: ablation of distillation, dual branch and action-gated attention "
    "(50Salads, MS-TCN)",
    3: "Table 3: fusion mechanisms (GTEA, ASFormer)",
    4: "Table 4: CMKD methods (Breakfast, MS-TCN)",
}
ROW_TITLES: Mapping[int, Mapping[str, str]] = {
    1: {
        "two_stream": "RGB+OF (two-stream)",
        "rgb": "RGB",
        "relate_wo_pr": "RELATE (w/o PR)",
        "relate": "RELATE",
    },
    2: {
        "rgb": "RGB baseline",
        "kd": "CMKD, no DB",
        "relate_wo_pr:aga=none": "CMKD + DB, no AGA",
        "relate_wo_pr:aga=rgb": "CMKD + DB + AGA on RGB",
        "relate_wo_pr:aga=flow": "CMKD + DB + AGA on OF",
        "relate_wo_pr": "CMKD + DB + AGA on both (RELATE w/o PR)",
    },
    3: {
        "relate_wo_pr:fusion=naive": "Naïve",
        "relate_wo_pr:fusion=self_attention": "Self-attention",
        "relate_wo_pr:fusion=cross_attention": "Cross-attention",
        "relate_wo_pr:fusion=local_attentive": "Local-attentive",
        "relate_wo_pr": "Ours (AFT)",
    },
    4: {
        "kd": "KD",
        "relate_wo_pr": "RELATE + KD",
        "rkd": "RKD",
        "relate_wo_pr:distill=rkd": "RELATE + RKD",
        "gcr": "GCR",
        "relate_wo_pr:distill=gcr": "RELATE + GCR",
    },
}
"""(table, row name) -> the row's label in the paper."""
GAIN_REFERENCE: Mapping[int, Mapping[str, str]] = {
    3: {row: "relate_wo_pr:fusion=naive" for row in ROW_TITLES[3]},
    4: {"relate_wo_pr": "kd", "relate_wo_pr:distill=rkd": "rkd", "relate_wo_pr:distill=gcr": "gcr"},
}
"""Rows whose printed average carries a delta: row -> the row the delta is taken from."""
CELL_LEGEND = (
    "Each cell: reproduced mean ± sample std over seeds of the per-seed unweighted mean over "
    "splits (no ± with one seed), then (paper value; delta = reproduced − paper). "
    '"not run": no metrics file for that cell; nothing is filled in.'
)


def parse_dataset_from(items: Sequence[str]) -> dict[str, str]:
    """``PAPER=SOURCE`` items (``gtea=synthetic``) -> dict; :class:`RelateError` if malformed."""
    mapping = {}
    for item in items:
        paper, eq, source = item.partition("=")
        if not eq or paper not in DATASET_TITLES or not source:
            raise RelateError(
                f"--dataset-from {item!r}: expected PAPER=SOURCE with PAPER one "
                f"of {', '.join(DATASET_TITLES)}, e.g. gtea=synthetic"
            )
        if paper in mapping:
            raise RelateError(f"--dataset-from: {paper} given twice")
        mapping[paper] = source
    return mapping
