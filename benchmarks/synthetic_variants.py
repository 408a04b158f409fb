"""Short trainings on the default synthetic dataset: does two_stream beat rgb?

For each segmenter and variant: ``relate train`` (short), ``relate predict``, ``relate
evaluate`` on one split of the default synthetic dataset (seed 0), then a table of the
test-split metrics and a check that two_stream beats rgb on Acc and F1@50. This is the
issue's sanity check that the synthetic generator makes flow informative by construction.

    .venv/bin/python benchmarks/synthetic_variants.py [--epochs mstcn=20,asformer=20,fact=20]
        [--split 1] [--workdir results/synthetic_variants]

Everything runs in this process through ``relate.cli.main`` (same code path as the CLI).
Runs resume, so an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from tabulate import tabulate

from relate.cli import main as relate

SEGMENTERS = ("mstcn", "asformer", "fact")
VARIANTS = ("rgb", "flow", "two_stream")


def parse_epochs(text: str) -> dict[str, int]:
    pairs = (item.split("=") for item in text.split(","))
    return {name: int(value) for name, value in pairs}


def run(command: list[str]) -> None:
    code = relate(command)
    if code != 0:
        sys.exit(f"failed ({code}): relate {' '.join(command)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--epochs", type=parse_epochs, default=parse_epochs("mstcn=20,asformer=20,fact=20")
    )
    parser.add_argument("--split", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("results/synthetic_variants"))
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    args = parser.parse_args()

    data = args.workdir / "data" / "synthetic"
    if not (data / "info.json").exists():
        run(["synth", "--out", str(data), "--seed", "0"])
    rows = []
    scores: dict[tuple[str, str], dict[str, float]] = {}
    for segmenter in args.segmenters.split(","):
        epochs = args.epochs[segmenter]
        for variant in VARIANTS:
            tag = f"split{args.split}/{segmenter}/{variant}/seed{args.seed}"
            run_dir = args.workdir / "runs" / tag
            predictions = args.workdir / "predictions" / f"{tag}.npz"
            metrics_path = args.workdir / "metrics" / f"{tag}.json"
            start = time.perf_counter()
            run(
                [
                    "train",
                    "--data",
                    str(data),
                    "--dataset",
                    "synthetic",
                    "--split",
                    str(args.split),
                    "--segmenter",
                    segmenter,
                    "--variant",
                    variant,
                    "--seed",
                    str(args.seed),
                    "--out",
                    str(run_dir),
                    "--epochs",
                    str(epochs),
                ]
            )
            seconds = time.perf_counter() - start
            run(
                [
                    "predict",
                    "--run",
                    str(run_dir),
                    "--data",
                    str(data),
                    "--split",
                    str(args.split),
                    "--out",
                    str(predictions),
                ]
            )
            run(
                [
                    "evaluate",
                    "--data",
                    str(data),
                    "--dataset",
                    "synthetic",
                    "--split",
                    str(args.split),
                    "--predictions",
                    str(predictions),
                    "--out",
                    str(metrics_path),
                ]
            )
            metrics = json.loads(metrics_path.read_text())["metrics"]
            scores[segmenter, variant] = metrics
            rows.append(
                [
                    segmenter,
                    variant,
                    epochs,
                    *(round(metrics[k], 1) for k in ("f1@10", "f1@25", "f1@50", "edit", "acc")),
                    round(seconds),
                ]
            )
    print(
        f"synthetic dataset (default config, seed 0), split {args.split}, seed {args.seed}; "
        "test-split metrics, standard protocol; train s = wall time of this run's training call"
    )
    print(
        tabulate(
            rows,
            headers=[
                "segmenter",
                "variant",
                "epochs",
                "F1@10",
                "F1@25",
                "F1@50",
                "Edit",
                "Acc",
                "train s",
            ],
            tablefmt="github",
        )
    )
    failures = 0
    for segmenter in args.segmenters.split(","):
        rgb, both = scores[segmenter, "rgb"], scores[segmenter, "two_stream"]
        holds = both["acc"] > rgb["acc"] and both["f1@50"] > rgb["f1@50"]
        failures += not holds
        print(
            f"{segmenter}: two_stream beats rgb on Acc ({both['acc']:.1f} vs {rgb['acc']:.1f}) "
            f"and F1@50 ({both['f1@50']:.1f} vs {rgb['f1@50']:.1f}): {'yes' if holds else 'NO'}"
        )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
