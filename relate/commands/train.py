"""``relate train``: train one segmenter on one split into a run folder (resumable)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from relate.commands.options import key_values, positive_int, split_key_value
from relate.data.registry import DATASETS
from relate.runs.methods import DISTILLED, TRAIN_VARIANTS

VARIANT_NAMES = tuple(n for n in TRAIN_VARIANTS if n not in DISTILLED)
"""The label-supervised variants (the method registry is read without importing torch)."""
DISTILLED_NAMES = DISTILLED
"""Variants that learn from a frozen ``flow`` teacher (need ``--teacher``)."""
PRESET_NAMES = ("release", "paper_literal")

TRAIN_PREFIX = "train."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a segmenter on one split (official recipe, resumable, deterministic)",
        description=(
            "Train SEGMENTER on the train videos of split K with the official optimiser, "
            "schedule and epochs of that segmenter, and write RUN_DIR/{config.json, log.jsonl, "
            "provenance.json, model.pt}. A checkpoint is written every epoch; rerunning the same "
            "command resumes from it, and a different configuration is refused. See "
            "docs/training.md."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (MS-TCN layout)")
    parser.add_argument(
        "--dataset",
        required=True,
        choices=sorted(DATASETS),
        help="dataset name (sample rate, official settings)",
    )
    parser.add_argument("--split", required=True, type=int, help="split index (1-based)")
    parser.add_argument("--segmenter", required=True, help="mstcn, asformer or fact")
    parser.add_argument(
        "--variant",
        required=True,
        choices=VARIANT_NAMES + DISTILLED_NAMES,
        help="rgb/flow/two_stream: input feature rows; relate (RELATE) and kd/rkd/gcr/mars "
        "(single-branch RGB students) learn from a frozen flow teacher (need --teacher)",
    )
    parser.add_argument("--seed", required=True, type=int, help="random seed (>= 0)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    parser.add_argument(
        "--epochs",
        type=int,
        help="override the official number of epochs (0: save the untrained model)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="cpu (default); cuda fails when CUDA is unavailable; auto: CUDA if available, "
        "else cpu",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="segmenter option (e.g. num_stages=3) or training setting with a 'train.' prefix "
        "(e.g. train.lr=0.001); values are JSON (numbers, true/false, null) or plain strings; "
        "repeatable",
    )
    parser.add_argument(
        "--teacher",
        type=Path,
        metavar="RUN_DIR",
        help="distilled variants: the trained `flow` run (same segmenter, dataset, split, seed "
        "and the architecture the student pairs with) used as the frozen teacher",
    )
    parser.add_argument(
        "--preset",
        choices=PRESET_NAMES,
        help="distilled variants: release (default) or paper_literal (every paper reading; "
        "`relate options` lists them); --option values win over the preset's",
    )
    parser.add_argument(
        "--teacher-for",
        choices=DISTILLED_NAMES,
        help="--variant flow: train the teacher that VARIANT (with these --preset/--option) "
        "needs: its architecture, under its schedule (D8 in docs/decisions.md)",
    )
    parser.add_argument(
        "--bridge",
        type=Path,
        metavar="RUN_DIR",
        help="relate with bridge=pretrained (paper_literal): a `relate train-bridge` run",
    )
    parser.add_argument(
        "--option",
        dest="relate_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="distilled variants: an option (depth=3, distill=rkd, fusion=naive, "
        "pr_confidence=raw, schedule=segmenter_official, ...; `relate options` lists all); "
        "repeatable",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="opt-in fast path: features kept in memory after the first epoch, fused Adam "
        "(deterministic, but not bit-identical to the default; docs/training.md)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="opt-in torch.compile of the model's forward (slow start-up; docs/training.md)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=1,
        metavar="K",
        help="write the resumable checkpoint after every K-th epoch (default 1); a killed run "
        "repeats at most K-1 epochs on resumption and ends in the same bytes",
    )
    parser.set_defaults(handler=run)


def parse_value(text: str) -> Any:
    """A ``--set`` value: JSON if it parses (Python's True/False/None too), else the string."""
    python_words = {"True": True, "False": False, "None": None}
    if text in python_words:
        return python_words[text]
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_settings(settings: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``KEY=VALUE`` items -> (segmenter overrides, training overrides)."""
    segmenter: dict[str, Any] = {}
    training: dict[str, Any] = {}
    for item in settings:
        key, raw = split_key_value(item, "--set")
        if key.startswith(TRAIN_PREFIX):
            training[key[len(TRAIN_PREFIX) :]] = parse_value(raw)
        else:
            segmenter[key] = parse_value(raw)
    return segmenter, training


def run(args: argparse.Namespace) -> int:
    from relate.runs.train import TrainRequest, train  # imports torch: only when training

    segmenter, training = parse_settings(args.settings)
    relate_options: dict[str, Any] = key_values(getattr(args, "relate_options", []), "--option")
    request = TrainRequest(
        data=args.data,
        dataset=args.dataset,
        split=args.split,
        segmenter=args.segmenter,
        variant=args.variant,
        seed=args.seed,
        out=args.out,
        epochs=args.epochs,
        device=args.device,
        overrides=segmenter,
        training_overrides=training,
        teacher=getattr(args, "teacher", None),
        relate_options=relate_options,
        preset=getattr(args, "preset", None),
        bridge=getattr(args, "bridge", None),
        teacher_for=getattr(args, "teacher_for", None),
        fast=getattr(args, "fast", False),
        compile=getattr(args, "compile", False),
        checkpoint_every=getattr(args, "checkpoint_every", 1),
    )
    weights = train(request)
    print(f"{weights}: {args.segmenter}/{args.variant}, split {args.split}, seed {args.seed}")
    return 0
