"""What the release is and runs with, and the tolerances of every row.

The release's departures from the paper carry D-numbers defined in docs/decisions.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

RELEASE_URL = "github.com/Hsj303/RELATE"
RELEASE_BACKBONES: Mapping[str, str] = {"mstcn": "MS-TCN", "asformer": "ASFormer"}
"""Our segmenter name -> the release's ``--backbone`` value (FACT is not released)."""

RELEASE_MODULES: tuple[str, ...] = (
    "layers",
    "backbones",
    "segmenters",
    "alignment_fusion",
    "losses",
    "refinement",
    "metrics",
)
RELEASE_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "segmenters": ("RGBSegmenter", "FlowSegmenter", "RefSegmenter", "JointSegmenter"),
    "alignment_fusion": ("AlignmentFusionTransformer",),
    "losses": (
        "segmentation_loss",
        "logit_distillation_loss",
        "rkd_distance_loss",
        "global_covariance_relation_loss",
    ),
    "refinement": ("refine_joint_prediction",),
    "metrics": ("f_score", "edit_score", "frame_accuracy"),
}
RELEASE_EVALUATE_SCRIPT = "scripts/evaluate.py"

# The release's training defaults (the argparse defaults of its scripts/train.py).
RELEASE_R = 2  # ASFormer r1 = r2
RELEASE_CHANNEL_MASK_RATE = 0.3  # --channel-mask-rate, every dataset (D12)
RELEASE_GAMMA = 0.5  # --gamma, weight of the CMKD loss
RELEASE_TEMPERATURE = 2.0  # KD temperature tau
RELEASE_DELTA = 0.7  # PR confidence threshold

TENSOR_TOLERANCE = 1e-5
"""Target for tensors and losses: |ours - release| <= 1e-5 * max(1, max |release|)."""
SCORE_TOLERANCE = 1e-9
"""Target for evaluator scores (percent): identical up to float64 rounding."""
COUNT_TOLERANCE = 0.0
"""Target for counts of differing labels or printed values: none."""
GRADIENT_DTYPE = torch.float64
"""Precision of the train step whose gradients are compared (see ``train_rows``)."""
CDIST_MM_THRESHOLD = 25
"""``torch.cdist`` (p = 2) computes distances through a matrix product when either input has
more than 25 rows; its self-distances are then rounding noise instead of exact zeros."""
DTYPES: Mapping[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}

EVALUATOR_SPLITS: Mapping[str, tuple[int, str | None]] = {
    "gtea": (7, "background"),
    "50salads": (6, None),
    "breakfast": (10, "SIL"),
}
"""Synthetic evaluator splits: dataset layout -> (videos, background class name)."""
METRIC_ORDER: tuple[str, ...] = ("f1@10", "f1@25", "f1@50", "edit", "acc")
PRINTED_KEYS: Mapping[str, str] = {
    "F1@10": "f1@10",
    "F1@25": "f1@25",
    "F1@50": "f1@50",
    "Edit": "edit",
    "Acc": "acc",
}
"""Labels printed by the release's ``scripts/evaluate.py`` -> our metric keys."""
