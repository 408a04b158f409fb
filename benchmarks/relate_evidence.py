"""Issue 4 §9: RELATE and its baselines on the default synthetic dataset (MS-TCN, short schedule).

For each split and seed: the label-supervised baselines ``rgb``, ``two_stream`` and ``flow``
(official MS-TCN recipe), the teachers (``flow`` at RELATE's depth: 3 stages x 10 layers for
the release default, 3 x 3 for ``paper_literal``, whose ``param_budget=match_total`` picks 3
layers), the bridge for ``paper_literal``, the single-branch students ``kd`` and ``mars``
(RELATE's schedule, teacher = the 4-stage ``flow`` baseline of the same split and seed), and
RELATE with the release defaults and with ``--preset paper_literal``. Every run is scored
with the standard protocol; RELATE runs both without PR (``--head joint``) and with PR
(``--head final``). The table shows mean ± std over seeds of the split-averaged metric.

    .venv/bin/python benchmarks/relate_evidence.py [--epochs 10] [--splits 1,2] [--seeds 0,1]
        [--workdir results/relate_evidence] [--out docs/relate_evidence.md]

Everything runs through ``relate.cli.main`` (the CLI's code path) and resumes: an interrupted
run continues where it stopped, finished runs are not redone. Nothing is tuned here: the
generator is the default one, and the table reports what happens.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import pandas as pd
import torch
from tabulate import tabulate

from relate.cli import main as relate

METRICS = ("f1@10", "f1@25", "f1@50", "edit", "acc")


def run(command: list[str]) -> None:
    code = relate(command)
    if code != 0:
        sys.exit(f"failed ({code}): relate {' '.join(command)}")


def jobs(data: Path, work: Path, split: int, seed: int, epochs: int) -> list[dict]:
    """Every run of one (split, seed), in dependency order."""
    base = [
        "--data",
        str(data),
        "--dataset",
        "synthetic",
        "--split",
        str(split),
        "--segmenter",
        "mstcn",
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
    ]
    runs = work / "runs" / f"split{split}" / f"seed{seed}"

    def train(name: str, variant: str, *extra: str, heads=("final",), label=None) -> dict:
        return {
            "name": name,
            "label": label or name,
            "dir": runs / name,
            "heads": heads,
            "cmd": ["train", *base, "--variant", variant, "--out", str(runs / name), *extra],
        }

    bridge_dir = runs / "bridge"
    return [
        train("rgb", "rgb"),
        train("two_stream", "two_stream"),
        train("flow", "flow"),
        train("teacher3x10", "flow", "--set", "num_stages=3", heads=()),
        train("teacher3x3", "flow", "--set", "num_stages=3", "--set", "num_layers=3", heads=()),
        {
            "name": "bridge",
            "dir": bridge_dir,
            "heads": (),
            "cmd": [
                "train-bridge",
                "--data",
                str(data),
                "--dataset",
                "synthetic",
                "--split",
                str(split),
                "--seed",
                str(seed),
                "--out",
                str(bridge_dir),
            ],
        },
        train("kd", "kd", "--teacher", str(runs / "flow")),
        train("mars", "mars", "--teacher", str(runs / "flow")),
        train("relate", "relate", "--teacher", str(runs / "teacher3x10"), heads=("joint", "final")),
        train(
            "relate_paper_literal",
            "relate",
            "--teacher",
            str(runs / "teacher3x3"),
            "--preset",
            "paper_literal",
            "--bridge",
            str(bridge_dir),
            heads=("joint", "final"),
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--splits", default="1,2")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--workdir", type=Path, default=Path("results/relate_evidence"))
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    args = parser.parse_args()
    splits = [int(x) for x in args.splits.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]

    data = args.workdir / "data" / "synthetic"
    if not (data / "info.json").exists():
        run(["synth", "--out", str(data), "--seed", "0"])
    records = []
    seconds: dict[str, float] = {}
    for seed in seeds:
        for split in splits:
            for job in jobs(data, args.workdir, split, seed, args.epochs):
                start = time.perf_counter()
                run(job["cmd"])
                seconds[job["name"]] = seconds.get(job["name"], 0.0) + time.perf_counter() - start
                if not job["heads"]:
                    continue
                predictions = job["dir"] / "predictions.npz"
                if not predictions.exists():
                    run(
                        [
                            "predict",
                            "--run",
                            str(job["dir"]),
                            "--data",
                            str(data),
                            "--split",
                            str(split),
                            "--out",
                            str(predictions),
                        ]
                    )
                for head in job["heads"]:
                    metrics_path = job["dir"] / f"metrics-{head}.json"
                    if not metrics_path.exists():
                        run(
                            [
                                "evaluate",
                                "--data",
                                str(data),
                                "--dataset",
                                "synthetic",
                                "--split",
                                str(split),
                                "--predictions",
                                str(predictions),
                                "--head",
                                head,
                                "--out",
                                str(metrics_path),
                            ]
                        )
                    metrics = json.loads(metrics_path.read_text())["metrics"]
                    pr = (
                        {"joint": " (w/o PR)", "final": " (with PR)"}
                        if len(job["heads"]) > 1
                        else {"final": ""}
                    )
                    records.append(
                        {
                            "variant": job["label"] + pr[head],
                            "split": split,
                            "seed": seed,
                            **metrics,
                        }
                    )
    table = pd.DataFrame(records)
    per_seed = table.groupby(["variant", "seed"], sort=False)[list(METRICS)].mean()
    summary = per_seed.groupby(level="variant", sort=False).agg(["mean", "std"])
    rows = []
    for variant in summary.index:
        cells = [
            f"{summary.loc[variant, (m, 'mean')]:.1f}"
            + (f" ± {summary.loc[variant, (m, 'std')]:.1f}" if len(seeds) > 1 else "")
            for m in METRICS
        ]
        rows.append([variant, *cells])
    spread = (
        "mean ± std over seeds of the split-averaged metric. "
        if len(seeds) > 1
        else "one seed: the split-averaged metric, no std. "
    )
    header = (
        f"Default synthetic dataset (`relate synth --seed 0`), MS-TCN, splits {splits}, seeds "
        f"{seeds}, {args.epochs} epochs for every run (bridge: 100). Standard MS-TCN protocol; "
        f"{spread}torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads."
    )
    text = (
        header
        + "\n\n"
        + tabulate(
            rows, headers=["variant", "F1@10", "F1@25", "F1@50", "Edit", "Acc"], tablefmt="github"
        )
        + "\n"
    )
    print(text)
    print(
        "wall seconds per run name (summed over splits and seeds, this invocation):",
        {k: round(v) for k, v in seconds.items()},
    )
    if args.out is not None:
        from relate.io import write_text

        write_text(args.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
