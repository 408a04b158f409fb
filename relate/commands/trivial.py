"""``relate trivial``: sanity-baseline predictions (majority class, nearest class mean)."""

from __future__ import annotations

import argparse
from pathlib import Path

from relate.evaluation.trivial import METHODS, ROWS, predict_split


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "trivial",
        help="write sanity-baseline predictions for a split (not a paper model)",
        description=(
            "Fit a trivial per-frame predictor on train.split<K> and write MS-TCN text "
            "predictions for the test videos: 'majority' (most frequent label) or "
            "'nearest_mean' (nearest standardised class mean on the chosen feature rows)."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (MS-TCN layout)")
    parser.add_argument("--split", required=True, type=int, help="split index (1-based)")
    parser.add_argument("--method", choices=METHODS, default="nearest_mean")
    parser.add_argument("--rows", choices=sorted(ROWS), default="all", help="feature rows used")
    parser.add_argument("--out", required=True, type=Path, help="output folder of {video}.txt")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    count = predict_split(args.data, args.split, args.method, args.rows, args.out)
    print(f"{args.out}: {count} predictions ({args.method}, rows {args.rows}, split {args.split})")
    return 0
