"""``relate synth``: generate a synthetic dataset (the default one, or one shaped like a paper
dataset), describe a dataset with linear probes, or measure its shape statistics."""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from tabulate import tabulate

from relate.data.synthetic import SynthConfig, generate_dataset
from relate.data.synthetic_config import SHAPE_FIELDS
from relate.data.synthetic_shapes import SHAPES, shape_config, shape_info
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

FIXED_BY_SHAPE = frozenset(
    {"n_videos", "n_splits", "n_motion_pairs", "min_frames", "max_frames", *SHAPE_FIELDS}
)
"""Fields that ``--like`` decides (``--videos`` and ``--mean-frames`` size the shape)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth",
        help="generate the synthetic dataset, or probe how informative RGB and flow are",
        description=(
            "With --out: write a deterministic synthetic dataset in the MS-TCN layout "
            "(same seed and options give byte-identical files); with --like, one shaped "
            "like GTEA, 50Salads or Breakfast. With --describe: train per-frame linear "
            "probes on RGB, flow and both for one split and print their test frame "
            "accuracy (and, for a shaped dataset, its shape statistics). With "
            "--shape-stats: print the label statistics next to the targets. "
            "See docs/synthetic.md."
        ),
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", metavar="DIR", type=Path, help="write a new dataset to DIR")
    mode.add_argument("--describe", metavar="DIR", type=Path, help="probe the dataset in DIR")
    mode.add_argument(
        "--shape-stats",
        metavar="DIR",
        type=Path,
        help="measure background share, segments and relative segment lengths of DIR's labels "
        "next to the targets of the paper dataset it is shaped like",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")

    generation = parser.add_argument_group("generation (with --out)")
    generation.add_argument(
        "--like",
        choices=sorted(SHAPES),
        help="shape the dataset like this paper dataset: its classes, splits, rates, "
        "background share, segments per video and relative segment lengths, scaled down in "
        "frames (with --shape-stats: compare with its targets)",
    )
    generation.add_argument(
        "--mean-frames",
        type=int,
        metavar="F",
        help="with --like: mean frames per video (default: the shape's demo size)",
    )
    for flag, name, kind, text in OPTIONS:
        default = getattr(DEFAULTS, name)
        if name == "n_videos":
            default = f"{default}; with --like the shape's, a multiple of its splits"
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
    describe.add_argument(
        "--json", metavar="PATH", type=Path, help="also write the result (or statistics) as JSON"
    )
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
    """SynthConfig from the defaults (or the ``--like`` shape), then ``--set`` overrides,
    then the named flags."""
    changes: dict[str, object] = dict(_parse_override(text) for text in args.overrides)
    for _, name, _, _ in OPTIONS:
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    try:
        if args.like is None:
            if args.mean_frames is not None:
                raise RelateError("--mean-frames needs --like (else use --min-frames/--max-frames)")
            return dataclasses.replace(DEFAULTS, **changes)
        fixed = sorted(FIXED_BY_SHAPE & (changes.keys() - {"n_videos"}))
        if fixed:
            raise RelateError(
                f"--like {args.like} sets {', '.join(fixed)} itself; "
                "size the dataset with --videos and --mean-frames"
            )
        n_videos = changes.pop("n_videos", None)
        base = shape_config(args.like, n_videos=n_videos, mean_frames=args.mean_frames)
        return dataclasses.replace(base, **changes)
    except ValueError as error:
        raise RelateError(str(error)) from None


def shape_report(root: Path, like: str | None) -> tuple[str, dict]:
    """Shape statistics of ``root`` next to the targets of ``like`` (default: the shape
    recorded in its ``info.json``), as text and as a JSON-ready dict."""
    from relate.data.synthetic_check import check_shape, format_comparison
    from relate.data.synthetic_info import read_info
    from relate.data.synthetic_stats import shape_stats

    shape = (read_info(root) or {}).get("shape") or {}
    like = like or shape.get("like")
    targets = dict(SHAPES[like].targets) if like else None
    background = targets["background"] if targets and not shape else None
    stats = shape_stats(root, background=background)
    against = f"targets of {like}" if like else "no targets (not a shaped dataset; use --like)"
    scale = f", scaled down {shape['scale_down']}x in frames" if shape.get("scale_down") else ""
    heading = (
        f"{root}: {stats['videos']} videos, {stats['splits']} splits, {stats['classes']} "
        f"classes{scale}; shape statistics from groundTruth against {against}"
    )
    problems = check_shape(stats, targets) if targets else []
    result = {"like": like, "measured": stats, "targets": targets, "outside_tolerance": problems}
    return heading + "\n" + format_comparison(stats, targets), result


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
    if args.shape_stats is not None:
        text, result = shape_report(args.shape_stats, args.like)
        print(text)
        if args.json is not None:
            write_json(args.json, result)
        return 0
    if args.describe is not None:
        from relate.data.probe import probe_dataset  # imports torch: only when probing
        from relate.data.synthetic_info import generator_record, read_info

        result = probe_dataset(
            args.describe, split=args.split, seed=args.seed, max_train_frames=args.max_train_frames
        )
        result["generator"] = generator_record(args.describe)
        if args.like or (read_info(args.describe) or {}).get("shape"):
            text, result["shape"] = shape_report(args.describe, args.like)
            print(text + "\n")
        print(format_probe(result))
        if args.json is not None:
            write_json(args.json, result)
        return 0

    config = build_config(args)
    start = time.perf_counter()
    extra = shape_info(args.like, config) if args.like else None
    generate_dataset(args.out, config, seed=args.seed, extra_info=extra)
    shaped = f" shaped like {args.like}" if args.like else ""
    print(
        f"wrote synthetic dataset{shaped} to {args.out}: {config.n_videos} videos, "
        f"{config.n_splits} splits, {config.n_classes} classes, seed {args.seed} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0
