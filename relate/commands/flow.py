"""``relate flow``: compute and cache TV-L1 optical flow for every video in a folder."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from relate.errors import DataError, RelateError

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg")
"""File suffixes taken as videos when scanning ``--videos DIR``."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "flow",
        help="compute TV-L1 optical flow per video and cache it as .npz",
        description=(
            "Decode each video, compute Dual TV-L1 flow (OpenCV, pinned parameters) between "
            "consecutive grayscale frames at native resolution, and write OUT/{video}.npz "
            "(raw float32 flow + provenance). Videos whose cache exists and matches the "
            "parameters, OpenCV version and source file are skipped, so an interrupted run "
            "resumes. See docs/flow.md."
        ),
    )
    parser.add_argument(
        "--videos",
        metavar="DIR",
        type=Path,
        required=True,
        help="folder of video files, or a dataset folder with a videos/ subfolder",
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="folder for {video}.npz"
    )
    parser.add_argument(
        "--video",
        dest="names",
        metavar="NAME",
        nargs="+",
        action="extend",
        default=[],
        help="only these videos (file name without suffix; default: every video in DIR)",
    )
    parser.add_argument(
        "--threads", type=int, metavar="N", help="OpenCV threads (default: OpenCV's choice)"
    )
    parser.add_argument(
        "--max-frames", type=int, metavar="N", help="use only the first N frames of each video"
    )
    parser.add_argument(
        "--short-side",
        type=int,
        metavar="N",
        help="store each flow field resized so its shorter side is N (values unchanged; "
        "with N=256 the I3D resize + crop gives exactly what it gives on native flow, "
        "at a fraction of the size; default: store native resolution)",
    )
    parser.add_argument(
        "--force", action="store_true", help="recompute even when a matching cache exists"
    )
    parser.set_defaults(handler=run)


def _is_video(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES


def find_videos(folder: Path, names: list[str]) -> list[tuple[str, Path]]:
    """``(name, path)`` of the videos to process, sorted by name.

    ``folder`` holds the video files, or is a dataset root whose ``videos/`` holds them.

    Raises:
        DataError: the folder is missing or empty, a requested name has no file, or two
            files share a name.
    """
    if not folder.is_dir():
        raise DataError(folder, "video folder not found")
    if (folder / "videos").is_dir() and not any(_is_video(p) for p in folder.iterdir()):
        folder = folder / "videos"
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if _is_video(path):
            if path.stem in found:
                raise DataError(path, f"two videos named {path.stem!r} ({found[path.stem].name})")
            found[path.stem] = path
    if names:
        names = [Path(n).stem if Path(n).suffix.lower() in VIDEO_SUFFIXES else n for n in names]
        missing = sorted(set(names) - set(found))
        if missing:
            raise DataError(folder, f"no video file for: {', '.join(missing)}")
        return [(name, found[name]) for name in sorted(set(names))]
    if not found:
        raise DataError(folder, f"no video files ({', '.join(VIDEO_SUFFIXES)})")
    return sorted(found.items())


def video_flow(
    path: Path,
    *,
    max_frames: int | None,
    threads: int | None,
    short_side: int | None,
    progress: bool,
) -> tuple[np.ndarray, int, tuple[int, int]]:
    """Stream one video through TV-L1: (flow (T-1, H', W', 2) float32, frames T, native (H, W)).

    Frames are decoded one at a time; with ``short_side`` each flow field is resized at
    once (shorter side = ``short_side``, values unchanged), so only the stored flow is held.
    """
    from flow_extraction.tvl1 import iter_flow
    from flow_extraction.video import iter_frames, resize_short_side

    counted: list[tuple[int, int]] = []

    def frames() -> Iterator[np.ndarray]:
        for frame in iter_frames(path, max_frames=max_frames):
            counted.append(frame.shape[:2])
            yield frame

    fields = []
    pairs = tqdm(
        iter_flow(frames(), threads=threads),
        desc=path.stem,
        unit="pair",
        disable=not progress,
        leave=False,
    )
    try:
        for field in pairs:
            if short_side is not None:
                field = resize_short_side(field[None], short_side)[0]
            fields.append(field)
    except ValueError as error:
        raise DataError(path, str(error)) from None
    if not fields:
        raise DataError(path, f"only {len(counted)} frame decoded; flow needs two")
    return np.stack(fields), len(counted), counted[0]


def run(args: argparse.Namespace) -> int:
    from flow_extraction.flow_io import cache_key, cache_matches, flow_meta, write_flow

    if args.threads is not None and args.threads < 1:
        raise RelateError("--threads must be >= 1")
    if args.max_frames is not None and args.max_frames < 2:
        raise RelateError("--max-frames must be >= 2 (flow needs two frames)")
    if args.short_side is not None and args.short_side < 1:
        raise RelateError("--short-side must be >= 1")
    videos = find_videos(args.videos, args.names)
    interactive = sys.stderr.isatty()
    computed = skipped = 0
    start = time.perf_counter()
    for name, path in tqdm(videos, desc="flow", unit="video", disable=not interactive):
        target = args.out / f"{name}.npz"
        key = cache_key(path, max_frames=args.max_frames, stored_short_side=args.short_side)
        if not args.force and cache_matches(target, key):
            logger.debug("%s: cached flow matches, skipped", target)
            skipped += 1
            continue
        began = time.perf_counter()
        flow, n_frames, (height, width) = video_flow(
            path,
            max_frames=args.max_frames,
            threads=args.threads,
            short_side=args.short_side,
            progress=interactive,
        )
        seconds = time.perf_counter() - began
        meta = flow_meta(
            path,
            n_frames,
            max_frames=args.max_frames,
            stored_short_side=args.short_side,
            threads=args.threads,
            seconds=round(seconds, 3),
            height=height,
            width=width,
        )
        write_flow(target, flow, meta)
        computed += 1
        logger.info("%s: %d frame pairs in %.1f s -> %s", name, len(flow), seconds, target)
    print(
        f"flow for {len(videos)} video(s) in {args.out}: {computed} computed, "
        f"{skipped} already cached ({time.perf_counter() - start:.1f} s)"
    )
    return 0
