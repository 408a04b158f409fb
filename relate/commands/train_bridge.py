"""``relate train-bridge``: pre-train the modality bridge for ``bridge=pretrained``.

D7 of docs/decisions.md records how the release and the paper differ on the bridge.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from relate.data.registry import DATASETS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-bridge",
        help="pre-train the modality bridge (RGB I3D -> pseudo-flow I3D) for bridge=pretrained",
        description=(
            "Train the release's modality bridge (1x1 conv 1024-256-1024 with ReLU) to map the "
            "RGB rows of the train videos of split K to their flow rows (MSE), with the "
            "release's recipe (Adam lr 1e-4, batch 8, 100 epochs). A RELATE run with "
            "bridge=pretrained (the paper_literal preset) loads it with --bridge RUN_DIR and "
            "keeps it frozen. Resumable and deterministic, like `relate train`."
        ),
    )
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (MS-TCN layout)")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset name")
    parser.add_argument("--split", required=True, type=int, help="split index (1-based)")
    parser.add_argument("--seed", required=True, type=int, help="random seed (>= 0)")
    parser.add_argument("--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    parser.add_argument("--epochs", type=int, default=100, help="epochs (default: 100)")
    parser.add_argument("--batch-size", type=int, default=8, help="videos per step (default: 8)")
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (1e-4)")
    parser.add_argument("--hidden", type=int, default=256, help="hidden width (default: 256)")
    parser.add_argument(
        "--padding",
        choices=("exclude", "include"),
        default="exclude",
        help="padded frames in the MSE: exclude (default) or include (the release)",
    )
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="cpu",
        help="cpu (default); cuda fails when CUDA is unavailable; auto: CUDA if available",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from relate.runs.bridge import BridgeRequest, train_bridge

    weights = train_bridge(
        BridgeRequest(
            data=args.data,
            dataset=args.dataset,
            split=args.split,
            seed=args.seed,
            out=args.out,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            hidden=args.hidden,
            padding=args.padding,
            device=args.device,
        )
    )
    print(f"{weights}: bridge for {args.dataset} split {args.split}, seed {args.seed}")
    return 0
