"""One parity run: check the arguments, load the release, and collect every row."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from relate.errors import RelateError
from relate.tools.parity.constants import (
    DTYPES,
    GRADIENT_DTYPE,
    RELEASE_BACKBONES,
    SCORE_TOLERANCE,
    TENSOR_TOLERANCE,
)
from relate.tools.parity.eval_rows import compare_eval
from relate.tools.parity.evaluator import compare_evaluator
from relate.tools.parity.loading import load_release
from relate.tools.parity.pair import build_pair
from relate.tools.parity.refinement import compare_refinement, synthetic_pr_cases
from relate.tools.parity.rows import ParityReport, ParityRow
from relate.tools.parity.train_rows import compare_train

logger = logging.getLogger(__name__)


def options_for(segmenter: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of one segmenter: plain keys apply to all, ``<segmenter>:key`` to one.

    Raises:
        RelateError: a prefix that is not a released segmenter.
    """
    chosen: dict[str, Any] = {}
    for key, value in (options or {}).items():
        prefix, sep, rest = key.partition(":")
        if not sep:
            chosen[key] = value
        elif prefix not in RELEASE_BACKBONES:
            raise RelateError(
                f"option {key!r}: unknown segmenter prefix {prefix!r}; "
                f"use {', '.join(RELEASE_BACKBONES)}"
            )
        elif prefix == segmenter:
            chosen[rest] = value
    return chosen


def run_parity(
    release_path: str | Path,
    segmenters: Sequence[str] = ("mstcn", "asformer"),
    frames: int = 300,
    seed: int = 0,
    dataset: str = "gtea",
    num_classes: int = 11,
    options: Mapping[str, Any] | None = None,
    train: bool = True,
    evaluator: bool = True,
    dtype: str = "float32",
) -> ParityReport:
    """Compare this suite with the release at ``release_path``, head by head.

    For each segmenter both sides get the same weights and the same random (1, 1024, T) input
    and target; then come the eval rows, PR on the release's probabilities and (``train``)
    one seeded train step. PR on synthetic heads and the evaluator rows follow once.

    Args:
        release_path: a checkout of github.com/Hsj303/RELATE.
        segmenters: any of ``mstcn``, ``asformer``.
        frames: T of the random input (B = 1).
        seed: seeds weights, inputs, targets, dropout and the synthetic PR/evaluator data.
        dataset, num_classes: passed to ``RelateSpec.from_options`` (release defaults
            otherwise: 3 stages, 10 layers, d = 64, 1024-d input).
        options: extra ``RelateSpec.from_options`` options for our side (the release always
            runs its defaults); ``asformer:segmenter.channel_mask_rate`` applies to one
            segmenter only (see :func:`options_for`).
        train: add the seeded train-mode rows (dropout on, loss, gradients).
        evaluator: add the evaluator rows (not per segmenter).
        dtype: ``float32`` (as the release runs) or ``float64`` (both sides in double
            precision: what is left is then rounding, not a difference in the computation).
            Gradients are compared in float64 either way.

    Raises:
        RelateError: bad ``release_path`` (``DataError``), unknown segmenter, bad options,
            key mapping not a bijection (``KeyMappingError``).
    """
    if frames < 2:
        raise RelateError(f"--frames must be >= 2, got {frames}")
    unknown = [s for s in segmenters if s not in RELEASE_BACKBONES]
    if unknown or not segmenters:
        raise RelateError(
            f"unknown segmenter(s) {', '.join(unknown) or '(none)'}; the release "
            f"covers {', '.join(RELEASE_BACKBONES)}"
        )
    if dtype not in DTYPES:
        raise RelateError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    torch_dtype = DTYPES[dtype]
    for segmenter in segmenters:
        options_for(segmenter, options)  # bad prefixes fail before any work
    release = load_release(release_path)
    rows: list[ParityRow] = []
    for number, segmenter in enumerate(segmenters):
        logger.info("parity: %s (T = %d, seed %d)", segmenter, frames, seed)
        pair = build_pair(
            release,
            segmenter,
            dataset,
            num_classes,
            seed + number,
            options_for(segmenter, options),
            torch_dtype,
        )
        gen = torch.Generator().manual_seed(seed + 1000 + number)
        x_rgb = torch.randn(1, pair.spec.in_dim, frames, generator=gen).to(torch_dtype)
        x_flow = torch.randn(1, pair.spec.in_dim, frames, generator=gen).to(torch_dtype)
        target = torch.randint(0, num_classes, (1, frames), generator=gen)
        eval_rows, probabilities = compare_eval(release, pair, x_rgb, x_flow)
        rows += eval_rows
        rows += compare_refinement(
            release,
            segmenter,
            "model probabilities",
            (probabilities["rgb"], probabilities["flow"], probabilities["joint"]),
        )
        if train:
            rows += compare_train(release, pair, x_rgb, x_flow, target, seed + 2000 + number)
    for label, heads in synthetic_pr_cases(seed, frames, num_classes).items():
        rows += compare_refinement(release, "-", label, heads)
    if evaluator:
        rows += compare_evaluator(release, seed)
    settings = {
        "segmenters": list(segmenters),
        "frames": frames,
        "seed": seed,
        "dataset": dataset,
        "num_classes": num_classes,
        "options": dict(options or {}),
        "batch": 1,
        "dtype": dtype,
        "gradient_dtype": str(GRADIENT_DTYPE).removeprefix("torch."),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "tensor_tolerance": f"{TENSOR_TOLERANCE} * max(1, max abs of release)",
        "score_tolerance": SCORE_TOLERANCE,
    }
    return ParityReport(rows, str(release.path), release.commit, settings)
