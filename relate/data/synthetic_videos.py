"""Deterministic synthetic *videos* (moving textured shapes) in the dataset layout.

This is the raw-video counterpart of :mod:`relate.data.synthetic`: small videos that let
the path video -> TV-L1 -> I3D -> features (and the latency benchmark) run end to end
without real data. Motion defines the action:

- action classes come in *motion pairs*; pair ``p`` has one shape, colour and texture and
  one axis of motion (axes evenly spread: with 2 pairs, horizontal and vertical);
  its two members move the same shape in opposite directions along that axis. So one frame
  (RGB) tells the pair but not the member; the flow's sign tells the member;
- the shape enters at a uniformly random position and moves on a torus (it wraps around the
  frame edges), so position does not reveal the direction either;
- background frames show only the video's static textured backdrop (no shape).

Each video has one action segment per motion pair (which member is balanced over the
videos of a subject), in random order, with background before, between and after.
Videos are encoded as H.264 .mp4 (PyAV) or lossless FFV1 .avi (OpenCV).

The parts live in ``synthetic_videos_config`` (``SynthVideoConfig``, class and video names)
and ``synthetic_videos_render`` (sprites, segment plans, frames); this module writes the
dataset and re-exports them.

Output for a given ``(config, seed)`` is reproducible: all randomness comes from
``numpy.random.SeedSequence(seed)``, rendering is deterministic, and the encoder runs with
one thread, so the ground truth is byte-identical and the decoded frames are identical.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from flow_extraction.video import write_video
from relate.data.synthetic import BACKGROUND, INFO_FILE, read_info
from relate.data.synthetic_videos_config import (
    PALETTE,
    REFERENCE_SIZE,
    SHAPES,
    SynthVideoConfig,
    class_names,
    video_names,
)
from relate.data.synthetic_videos_render import (
    Segment,
    Sprite,
    build_sprites,
    plan_segments,
    render_backdrop,
    render_frames,
)
from relate.errors import DataError
from relate.io import atomic_directory

__all__ = [
    "DEFAULT_CONFIG",
    "PALETTE",
    "REFERENCE_SIZE",
    "SHAPES",
    "Segment",
    "Sprite",
    "SynthVideoConfig",
    "build_sprites",
    "class_names",
    "generate_videos",
    "plan_segments",
    "render_backdrop",
    "render_frames",
    "video_names",
]

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = SynthVideoConfig()
"""The default (small test) configuration."""


def _check_replaceable(out: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier synthetic dataset."""
    if not out.exists():
        return
    if not out.is_dir():
        raise DataError(out, "exists and is not a folder; choose another output path")
    if any(out.iterdir()) and not (read_info(out) or {}).get("synthetic"):
        raise DataError(
            out, "exists and is not a synthetic dataset (no info.json); refusing to replace it"
        )


def generate_videos(
    out: Path, config: SynthVideoConfig = DEFAULT_CONFIG, seed: int = 0, progress: bool = False
) -> None:
    """Write a synthetic video dataset to ``out``, atomically.

    Layout: ``videos/{video}.{mp4,avi}``, ``groundTruth/{video}.txt`` (one label per
    frame), ``splits/{train,test}.split{k}.bundle`` (test = subject k), ``mapping.txt``
    (background last) and ``info.json`` (seed, config, classes, motion pairs and per video
    its subject, frames and segments with start position and velocity).
    No ``features/`` folder: run ``relate flow`` and the feature extractor to make it.
    """
    out = Path(out)
    _check_replaceable(out)
    world_seq, *video_seqs = np.random.SeedSequence(seed).spawn(1 + config.n_videos)
    sprites = build_sprites(config, np.random.default_rng(world_seq))
    names = class_names(config.n_motion_pairs)
    plan = video_names(config)

    with atomic_directory(out) as tmp:
        for sub in ("videos", "groundTruth", "splits"):
            (tmp / sub).mkdir()
        videos_info = {}
        items = tqdm(
            list(zip(plan, video_seqs)), desc="synth videos", unit="video", disable=not progress
        )
        for index, ((video, subject), seq) in enumerate(items):
            rng = np.random.default_rng(seq)
            segments = plan_segments(config, index, sprites, rng)
            backdrop = render_backdrop(config, rng)
            frames = render_frames(config, sprites, backdrop, segments, rng)
            write_video(
                tmp / "videos" / f"{video}.{config.video_format}",
                frames,
                config.fps,
                crf=config.crf,
            )
            lines = "".join(f"{names[s.label]}\n" * s.length for s in segments)
            (tmp / "groundTruth" / f"{video}.txt").write_text(lines, encoding="utf-8")
            videos_info[video] = {
                "subject": subject,
                "frames": len(frames),
                "file": f"videos/{video}.{config.video_format}",
                "segments": [
                    {
                        "label": names[s.label],
                        "start": s.start,
                        "length": s.length,
                        "start_xy": None
                        if s.start_xy is None
                        else [round(v, 4) for v in s.start_xy],
                        "velocity": None
                        if s.velocity is None
                        else [round(v, 4) for v in s.velocity],
                    }
                    for s in segments
                ],
            }
            logger.debug("%s: %d frames, %d segments", video, len(frames), len(segments))
        _write_splits_and_mapping(tmp, config, plan, names)
        info = {
            "synthetic": True,
            "generator": "relate.data.synthetic_videos",
            "description": (
                "Synthetic videos of moving shapes (relate synth-videos), not real video."
            ),
            "seed": seed,
            "config": asdict(config),
            "fps": config.fps,
            "classes": list(names),
            "background": BACKGROUND,
            "motion_pairs": [
                [names[2 * p], names[2 * p + 1]] for p in range(config.n_motion_pairs)
            ],
            "videos": videos_info,
        }
        (tmp / INFO_FILE).write_text(
            json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    logger.info("wrote %d synthetic videos to %s", config.n_videos, out)


def _write_splits_and_mapping(
    root: Path, config: SynthVideoConfig, plan: list[tuple[str, int]], names: tuple[str, ...]
) -> None:
    """Split bundles (test = subject k, train = the others) and mapping.txt."""
    for k in range(1, config.n_splits + 1):
        test = sorted(v for v, s in plan if s == k)
        train = sorted(v for v, s in plan if s != k)
        for kind, videos in (("train", train), ("test", test)):
            text = "".join(f"{v}.txt\n" for v in videos)
            (root / "splits" / f"{kind}.split{k}.bundle").write_text(text, encoding="utf-8")
    mapping = "".join(f"{i} {name}\n" for i, name in enumerate(names))
    (root / "mapping.txt").write_text(mapping, encoding="utf-8")
