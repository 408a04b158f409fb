"""``relate evaluate``: score a predictions folder against one split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from relate import io
from relate.data.registry import DATASETS, get_dataset
from relate.evaluation.metrics import CONVENTIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="score per-video predictions (Acc, Edit, F1@10/25/50) against a split",
        description=(
            "Score a folder of per-video predictions ({video}.txt in the MS-TCN format, "
            "or {video}.npy of class ids), or the .npz probabilities of `relate predict` "
            "(argmax of --head), against the test videos of one split, and write "
            "JSON. The default convention is the standard MS-TCN protocol."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (MS-TCN layout)")
    parser.add_argument(
        "--dataset",
        required=True,
        choices=sorted(DATASETS),
        help="dataset name (sets background labels)",
    )
    parser.add_argument("--split", required=True, type=int, help="split index (1-based)")
    parser.add_argument(
        "--predictions",
        required=True,
        type=Path,
        help="folder of prediction files, or a FILE.npz of probabilities from `relate predict`",
    )
    parser.add_argument(
        "--head",
        default="final",
        help="with an .npz: the head scored, 'final' (default) or 'stage<s>'",
    )
    parser.add_argument(
        "--label", default="", help="name of the predictor, kept in the JSON for reports"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed of the run, kept in the JSON for reports"
    )
    parser.add_argument("--out", type=Path, help="write the JSON here (default: print it)")
    parser.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default="standard",
        help="standard (MS-TCN eval.py), fact (background excluded from Acc) or relate_release",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from relate.evaluation.evaluate import (
        evaluate_split,  # only when scoring: `relate` start-up stays light
    )
    from relate.provenance import provenance

    result = evaluate_split(
        args.data,
        args.split,
        args.predictions,
        get_dataset(args.dataset),
        args.convention,
        args.head,
    )
    if args.predictions.suffix == ".npz" and not args.predictions.is_dir():
        result["head"] = args.head
    result["label"] = args.label
    result["seed"] = args.seed
    result["provenance"] = provenance()
    if args.out is None:
        print(json.dumps(result["metrics"], indent=2))
    else:
        io.write_json(args.out, result)
        scores = ", ".join(f"{k} {v:.2f}" for k, v in result["metrics"].items())
        print(f"{args.out}: split {args.split} ({result['videos']} videos): {scores}")
    return 0
