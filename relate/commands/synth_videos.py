"""``relate synth-videos``: render small synthetic videos of moving shapes in the dataset layout."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from relate.data.synthetic_videos_config import SynthVideoConfig
from relate.errors import RelateError

DEFAULTS = {field.name: field.default for field in dataclasses.fields(SynthVideoConfig)}
"""SynthVideoConfig's defaults, read without building (and so checking) a config."""

OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--videos", "n_videos", int, "number of videos"),
    ("--min-frames", "min_frames", int, "shortest video, frames"),
    ("--max-frames", "max_frames", int, "longest video, frames"),
    ("--size", "size", int, "frame width = height, pixels (even)"),
    ("--fps", "fps", int, "frame rate written into the container"),
    ("--splits", "n_splits", int, "leave-one-subject-out splits (= subjects)"),
    ("--pairs", "n_motion_pairs", int, "motion pairs (classes = 2 * pairs + background)"),
    ("--noise", "pixel_noise", float, "std of Gaussian pixel noise per frame"),
    ("--crf", "crf", int, "H.264 quality for mp4 (lower = better)"),
)
"""Flags: (flag, SynthVideoConfig field, type, help)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth-videos",
        help="render small synthetic videos (moving shapes) with per-frame labels",
        description=(
            "Write DIR/videos/{video}.mp4 (or .avi), DIR/groundTruth, DIR/splits, "
            "DIR/mapping.txt and DIR/info.json. Actions come in motion pairs: the same "
            "shape moving in opposite directions, so only motion (flow) tells the two "
            "members of a pair apart. Same seed and options give the same labels and the "
            "same decoded frames. See docs/synthetic_videos.md."
        ),
    )
    parser.add_argument("--out", metavar="DIR", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    parser.add_argument(
        "--frames",
        type=int,
        metavar="N",
        help="every video exactly N frames (sets --min-frames and --max-frames)",
    )
    for flag, name, kind, text in OPTIONS:
        parser.add_argument(
            flag,
            dest=name,
            type=kind,
            default=None,
            metavar="N" if kind is int else "X",
            help=f"{text} (default: {DEFAULTS[name]})",
        )
    parser.add_argument(
        "--format",
        dest="video_format",
        choices=("mp4", "avi"),
        default=None,
        help="mp4 = H.264 via PyAV (lossy), avi = FFV1 via OpenCV (lossless) "
        f"(default: {DEFAULTS['video_format']})",
    )
    parser.set_defaults(handler=run)


def build_config(args: argparse.Namespace) -> SynthVideoConfig:
    """SynthVideoConfig from the defaults and the given flags."""
    changes: dict[str, object] = {}
    if args.frames is not None:
        changes.update(min_frames=args.frames, max_frames=args.frames)
    for _, name, _, _ in OPTIONS:
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.video_format is not None:
        changes["video_format"] = args.video_format
    try:
        return SynthVideoConfig(**changes)
    except ValueError as error:
        raise RelateError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from relate.data.synthetic_videos import generate_videos

    config = build_config(args)
    start = time.perf_counter()
    generate_videos(args.out, config, seed=args.seed, progress=sys.stderr.isatty())
    print(
        f"wrote {config.n_videos} synthetic videos ({config.size}x{config.size}, "
        f"{config.fps} fps, {config.video_format}) to {args.out}: {config.n_splits} splits, "
        f"{config.n_classes} classes, seed {args.seed} ({time.perf_counter() - start:.1f} s)"
    )
    return 0
