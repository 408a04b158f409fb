"""``relate synth``: generate the synthetic dataset, or describe a dataset with linear probes."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from tabulate import tabulate

from relate.data.synthetic import SynthConfig, generate_dataset
from relate.errors import RelateError
from relate.io import write_json

DEFAULTS = SynthConfig()

OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--videos", "n_videos", int, "number of videos"),
    ("--min-frames", "min_frames", int, "shortest video, frames"),
    ("--max-frames", "max_frames", int, "longest video, frames"),
    ("--splits", "n_splits", int, "leave-one-subject-out splits (= subjects)"),
    ("--pairs", "n_motion_pairs", int, "motion pairs (classes = 2 * pairs + background)"),
    ("--noise", "frame_noise", float, "per-frame latent noise before smoothing"),
    ("--motion-leak", "motion_leak", float, "strength of the non-linear motion leak into RGB"),
    ("--burst-rate", "burst_rate", float, "misaligned flow bursts per frame"),
    ("--burst-strength", "burst_strength", float, "burst motion relative to action motion"),
    ("--smooth-frames", "smooth_frames", int, "temporal box-filter width"),
)
"""Flags for the main knobs: (flag, SynthConfig field, type, help). ``--set`` reaches the rest."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate the synthetic dataset, or probe how informative RGB and flow are",
        description=(
            "With --out: write a deterministic synthetic dataset in the MS-TCN layout "
            "(same seed and options give byte-identical files). With --describe: train "
            "per-frame linear probes on RGB, flow and both for one split and print their "
            "test frame accuracy. See docs/synthetic.md."
        ),
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", type=Path, help="write a new dataset to DIR")
    mode.add_argument("--describe", metavar="DIR", type=Path, help="probe the dataset in DIR")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")

    generation = parser.add_argument_group("generation (with --out)")
    for flag, name, kind, text in OPTIONS:
        default = getattr(DEFAULTS, name)
        generation.add_argument(
            flag,
            dest=name,
            type=kind,
            default=None,
            metavar="N" if kind is int else "X",
            help=f"{text} (default: {default})",
        )
    generation.add_argument(
        "--set",
        dest="overrides",
        metavar="FIELD=VALUE",
        action="append",
        default=[],
        help="set any other SynthConfig field, e.g. --set gap_prob=0.3 or "
        "--set burst_length=5,20 (repeatable; see docs/synthetic.md)",
    )

    describe = parser.add_argument_group("description (with --describe)")
    describe.add_argument(
        "--split", type=int, default=1, metavar="K", help="split to probe (default: 1)"
    )
    describe.add_argument(
        "--max-train-frames",
        type=int,
        metavar="N",
        default=12000,
        help="training frames subsampled for the probe (default: 12000)",
    )
    describe.add_argument("--json", metavar="PATH", type=Path, help="also write the result as JSON")
    parser.set_defaults(handler=run)


def _parse_override(text: str) -> tuple[str, object]:
    """``FIELD=VALUE`` -> (field, value converted to the type of the field's default)."""
    name, sep, raw = text.partition("=")
    fields = {f.name for f in dataclasses.fields(SynthConfig)}
    if not sep or name not in fields:
        known = ", ".join(sorted(fields))
        raise RelateError(f"--set {text!r}: expected FIELD=VALUE with FIELD one of: {known}")
    default = getattr(DEFAULTS, name)
    try:
        if isinstance(default, tuple):
            parts = raw.split(",")
            if len(parts) != len(default):
                raise ValueError(f"expected {len(default)} comma-separated values")
            return name, tuple(type(d)(p) for d, p in zip(default, parts))
        return name, type(default)(raw)
    except ValueError as error:
        raise RelateError(f"--set {text!r}: {error}") from None


def build_config(args: argparse.Namespace) -> SynthConfig:
    """SynthConfig from the defaults, then ``--set`` overrides, then the named flags."""
    changes: dict[str, object] = dict(_parse_override(text) for text in args.overrides)
    for _, name, _, _ in OPTIONS:
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    try:
        return dataclasses.replace(DEFAULTS, **changes)
    except ValueError as error:
        raise RelateError(str(error)) from None


def format_probe(result: dict) -> str:
    """The probe result as a heading line and a table of percentages."""
    kind = "synthetic" if result["synthetic"] else "real"
    heading = (
        f"{result['dataset']} ({kind}), split {result['split']}: linear per-frame probes "
        f"trained on {result['train_videos']} videos ({result['train_frames_used']} of "
        f"{result['train_frames']} frames), tested on {result['test_videos']} videos "
        f"({result['test_frames']} frames); majority-class accuracy "
        f"{100 * result['chance']:.1f}%"
    )

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}"

    rows = [
        [name, pct(m["frame_acc"]), pct(m["pair_acc"]), pct(m["within_pair_acc"])]
        for name, m in result["modalities"].items()
    ]
    headers = ["features", "frame acc %", "pair acc %", "within-pair acc % (chance 50)"]
    return heading + "\n" + tabulate(rows, headers=headers, tablefmt="github")


def run(args: argparse.Namespace) -> int:
    if args.describe is not None:
        from relate.data.probe import probe_dataset  # imports torch: only when probing

        result = probe_dataset(
            args.describe, split=args.split, seed=args.seed, max_train_frames=args.max_train_frames
        )
        print(format_probe(result))
        if args.json is not None:
            write_json(args.json, result)
        return 0

    config = build_config(args)
    start = time.perf_counter()
    generate_dataset(args.out, config, seed=args.seed)
    print(
        f"wrote synthetic dataset to {args.out}: {config.n_videos} videos, "
        f"{config.n_splits} splits, {config.n_classes} classes, seed {args.seed} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0
