"""Numerical parity of this suite's RELATE with the authors' code release (docs/parity.md).

The release (github.com/Hsj303/RELATE, MS-TCN and ASFormer) is imported from a local
checkout, never copied into the suite. For each segmenter, the release's four segmenters and
AFT and our ``RelateModel`` plus teacher get the same random weights (through a key mapping
checked to be a bijection with equal shapes), see the same random input, and every head is
compared: per-stage logits, features, anchors, the AFT output, the CMKD losses, a seeded
train-mode step (loss and gradients), prediction refinement and the evaluator.

Modules: ``constants`` (release settings, tolerances), ``loading`` (import the checkout),
``mapping`` (state_dict keys), ``pair`` (both sides with the same weights), ``rows`` (rows,
report), ``eval_rows``, ``cmkd``, ``train_rows``, ``refinement``, ``evaluator`` (the rows of
each kind) and ``run`` (:func:`run_parity`).
"""

from __future__ import annotations

from relate.errors import DataError, RelateError
from relate.tools.parity.cmkd import compare_cmkd, rkd_self_distance_allowance
from relate.tools.parity.constants import (
    COUNT_TOLERANCE,
    DTYPES,
    EVALUATOR_SPLITS,
    GRADIENT_DTYPE,
    METRIC_ORDER,
    RELEASE_BACKBONES,
    RELEASE_MODULES,
    RELEASE_URL,
    SCORE_TOLERANCE,
    TENSOR_TOLERANCE,
)
from relate.tools.parity.eval_rows import compare_eval
from relate.tools.parity.evaluator import (
    EvalSplit,
    compare_evaluator,
    release_evaluate_printout,
    release_scores,
    synthetic_split,
)
from relate.tools.parity.loading import ReleaseModules, load_release
from relate.tools.parity.mapping import KeyMappingError, check_mapping, key_mapping, release_key
from relate.tools.parity.pair import ModelPair, build_pair
from relate.tools.parity.refinement import compare_refinement, synthetic_pr_cases
from relate.tools.parity.rows import ParityReport, ParityRow, count_row, tensor_row
from relate.tools.parity.run import options_for, run_parity
from relate.tools.parity.train_rows import compare_train, train_step

__all__ = [
    "COUNT_TOLERANCE",
    "DTYPES",
    "EVALUATOR_SPLITS",
    "GRADIENT_DTYPE",
    "METRIC_ORDER",
    "RELEASE_BACKBONES",
    "RELEASE_MODULES",
    "RELEASE_URL",
    "SCORE_TOLERANCE",
    "TENSOR_TOLERANCE",
    "DataError",
    "EvalSplit",
    "KeyMappingError",
    "ModelPair",
    "ParityReport",
    "ParityRow",
    "RelateError",
    "ReleaseModules",
    "build_pair",
    "check_mapping",
    "compare_cmkd",
    "compare_eval",
    "compare_evaluator",
    "compare_refinement",
    "compare_train",
    "count_row",
    "key_mapping",
    "load_release",
    "options_for",
    "release_evaluate_printout",
    "release_key",
    "release_scores",
    "rkd_self_distance_allowance",
    "run_parity",
    "synthetic_pr_cases",
    "synthetic_split",
    "tensor_row",
    "train_step",
]
