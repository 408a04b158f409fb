"""``relate predict``: frame probabilities of a trained run on a split's test videos (.npz)."""

from __future__ import annotations

import argparse
from pathlib import Path

from relate.commands.options import key_values


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="write the frame probabilities of every head of a trained run (.npz)",
        description=(
            "Load RUN_DIR/config.json and model.pt, predict every test video of split K in "
            "eval mode, and write one .npz with float32 (C, T) probabilities per video and "
            "head ('{video}/stage{s}', '{video}/final') plus a JSON '__meta__' entry. "
            "50Salads: predicted at every 2nd frame, each prediction repeated x2. Score it "
            "with `relate evaluate --predictions FILE.npz`. See docs/training.md."
        ),
    )
    parser.add_argument(
        "--run", required=True, type=Path, metavar="RUN_DIR", help="run folder of `relate train`"
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (MS-TCN layout)")
    parser.add_argument("--split", required=True, type=int, help="split index (1-based)")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE.npz", help="output file")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="cpu (default); cuda fails when CUDA is unavailable; auto: CUDA if available, "
        "else cpu",
    )
    register_pr_options(parser)
    parser.set_defaults(handler=run)


def register_pr_options(parser: argparse.ArgumentParser) -> None:
    """``--pr-option KEY=VALUE`` (relate runs): prediction-refinement options."""
    parser.add_argument(
        "--pr-option",
        dest="pr_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="relate runs: override a prediction-refinement option of the run (pr_confidence, "
        "pr_mstar, pr_t0, pr_rows, pr_delta; `relate options` lists the values); repeatable",
    )


def run(args: argparse.Namespace) -> int:
    from relate.evaluation.predict import predict_split  # imports torch: only when predicting

    overrides = key_values(args.pr_options, "--pr-option")
    count = predict_split(args.run, args.data, args.split, args.out, args.device, overrides)
    print(f"{args.out}: {count} test videos of split {args.split}")
    return 0
