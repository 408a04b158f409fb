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

Output for a given ``(config, seed)`` is reproducible: all randomness comes from
``numpy.random.SeedSequence(seed)``, rendering is deterministic, and the encoder runs with
one thread, so the ground truth is byte-identical and the decoded frames are identical.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from flow_extraction.video import VIDEO_FORMATS, write_video
from relate.data.synthetic import BACKGROUND, INFO_FILE, read_info
from relate.errors import DataError
from relate.io import atomic_directory

logger = logging.getLogger(__name__)

SHAPES = ("circle", "square", "triangle", "diamond", "hexagon", "cross")
"""Shape of motion pair p is ``SHAPES[p % 6]``; colours differ from pair to pair."""

PALETTE = (
    (230, 60, 50), (40, 110, 230), (240, 200, 40), (60, 190, 80),
    (200, 70, 210), (250, 140, 30), (40, 200, 210), (150, 100, 60),
)  # fmt: skip
"""Base RGB colour of motion pair p is ``PALETTE[p % 8]``."""

REFERENCE_SIZE = 112
"""Speeds in :class:`SynthVideoConfig` are pixels per frame at this frame size."""


@dataclass(frozen=True)
class SynthVideoConfig:
    """Every knob of the synthetic video generator; the defaults make a small test set."""

    n_videos: int = 4
    """Number of videos."""
    min_frames: int = 40
    """Shortest video in frames (lengths are uniform in [min_frames, max_frames])."""
    max_frames: int = 60
    """Longest video in frames."""
    size: int = 112
    """Frame width and height in pixels (even)."""
    fps: int = 15
    """Frame rate written into the container."""
    n_splits: int = 2
    """Leave-one-subject-out splits (= subjects); video i belongs to subject i mod n_splits."""
    n_motion_pairs: int = 2
    """Motion pairs; classes = 2 * pairs + background."""
    min_segment_frames: int = 5
    """Shortest segment (action or background) in frames."""
    speed: tuple[float, float] = (1.5, 3.0)
    """Range of an action segment's speed, pixels per frame at 112² (scaled with size)."""
    object_radius: float = 0.17
    """Shape radius as a fraction of the frame size."""
    pixel_noise: float = 0.0
    """Std of i.i.d. Gaussian pixel noise added to every frame (0 = none)."""
    video_format: str = "mp4"
    """``mp4`` (H.264 via PyAV, lossy) or ``avi`` (FFV1 via OpenCV, lossless)."""
    crf: int = 17
    """H.264 constant rate factor for mp4 (lower = higher quality)."""

    def __post_init__(self) -> None:
        segments = 2 * self.n_motion_pairs + 1
        too_short = f"need min_segment_frames * {segments} (segments per video) <= min_frames"
        checks = [
            (self.n_videos >= 1, "n_videos must be >= 1"),
            (1 <= self.n_splits <= self.n_videos, "need 1 <= n_splits <= n_videos"),
            (self.n_motion_pairs >= 1, "n_motion_pairs must be >= 1"),
            (self.min_segment_frames >= 2, "min_segment_frames must be >= 2"),
            (
                self.min_segment_frames * segments <= self.min_frames <= self.max_frames,
                too_short + " <= max_frames",
            ),
            (self.size >= 16 and self.size % 2 == 0, "size must be even and >= 16"),
            (self.fps >= 1, "fps must be >= 1"),
            (0 < self.speed[0] <= self.speed[1], "speed must be (lo, hi) with 0 < lo <= hi"),
            (0.02 <= self.object_radius <= 0.4, "object_radius must be in [0.02, 0.4]"),
            (self.pixel_noise >= 0, "pixel_noise must be >= 0"),
            (self.video_format in VIDEO_FORMATS, f"video_format must be one of {VIDEO_FORMATS}"),
            (0 <= self.crf <= 51, "crf must be in [0, 51]"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"SynthVideoConfig: {message}")

    @property
    def n_classes(self) -> int:
        """Action classes plus background."""
        return 2 * self.n_motion_pairs + 1


@dataclass(frozen=True)
class Sprite:
    """One motion pair's object, drawn centred on a full-size canvas."""

    shape: str
    colour: np.ndarray  # (3,) float32 RGB base colour
    alpha: np.ndarray  # (S, S) float32 coverage in [0, 1], centred at (S/2, S/2)
    texture: np.ndarray  # (S, S) float32 brightness factor, same placement as alpha
    direction: np.ndarray  # (2,) unit (dx, dy) of member 0; member 1 moves the other way


@dataclass(frozen=True)
class Segment:
    """One segment of a video; ``velocity`` and ``start_xy`` are None for background."""

    label: int
    start: int
    length: int
    start_xy: tuple[float, float] | None = None
    velocity: tuple[float, float] | None = None


def class_names(n_motion_pairs: int) -> tuple[str, ...]:
    """Class names in id order: pair p is ids 2p and 2p+1 (opposite directions); background last."""
    names: list[str] = []
    for p in range(n_motion_pairs):
        shape = SHAPES[p % len(SHAPES)] + ("" if p < len(SHAPES) else str(p // len(SHAPES) + 1))
        degrees = _axis_degrees(p, n_motion_pairs)
        if degrees == 0:
            names.extend((f"{shape}_right", f"{shape}_left"))
        elif degrees == 90:
            names.extend((f"{shape}_down", f"{shape}_up"))
        else:
            names.extend((f"{shape}_dir{degrees}", f"{shape}_dir{degrees + 180}"))
    names.append(BACKGROUND)
    return tuple(names)


def _axis_degrees(pair: int, n_pairs: int) -> int:
    """Motion axis of a pair in whole degrees (image coordinates, y down), evenly spread over
    [0, 180): 2 pairs -> 0 (horizontal) and 90 (vertical); 3 pairs -> 0, 60, 120."""
    return round(180 * pair / n_pairs)


def _shape_mask(shape: str, size: int, radius: float, supersample: int = 4) -> np.ndarray:
    """Anti-aliased coverage (size, size) float32 of ``shape`` centred at (size/2, size/2)."""
    import cv2  # deferred: `relate --help` and the CLI's options need this module, not OpenCV

    big = size * supersample
    canvas = np.zeros((big, big), dtype=np.uint8)
    c, r = big / 2, radius * supersample

    def poly(points: list[tuple[float, float]]) -> None:
        pts = np.round(np.array(points) * 16).astype(np.int32)  # 4 fractional bits
        cv2.fillPoly(canvas, [pts], 255, lineType=cv2.LINE_8, shift=4)

    def regular(n: int, phase: float) -> list[tuple[float, float]]:
        return [
            (
                c + r * math.cos(phase + 2 * math.pi * k / n),
                c + r * math.sin(phase + 2 * math.pi * k / n),
            )
            for k in range(n)
        ]

    if shape == "circle":
        cv2.circle(canvas, (int(c * 16), int(c * 16)), int(r * 16), 255, -1, cv2.LINE_8, 4)
    elif shape == "square":
        s = r / math.sqrt(2) * 1.15
        poly([(c - s, c - s), (c + s, c - s), (c + s, c + s), (c - s, c + s)])
    elif shape == "triangle":
        poly(regular(3, -math.pi / 2))
    elif shape == "diamond":
        poly(regular(4, 0.0))
    elif shape == "hexagon":
        poly(regular(6, 0.0))
    elif shape == "cross":
        w = r * 0.38
        poly([(c - r, c - w), (c + r, c - w), (c + r, c + w), (c - r, c + w)])
        poly([(c - w, c - r), (c + w, c - r), (c + w, c + r), (c - w, c + r)])
    else:
        raise ValueError(f"unknown shape {shape!r}")
    mask = cv2.resize(canvas.astype(np.float32) / 255.0, (size, size), interpolation=cv2.INTER_AREA)
    return mask.astype(np.float32)


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Smooth random texture (size, size) float32 in [0, 1] from a ``cells``² grid, bicubic."""
    import cv2  # deferred: `relate --help` and the CLI's options need this module, not OpenCV

    grid = rng.random((cells, cells)).astype(np.float32)
    image = cv2.resize(grid, (size, size), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(image.min()), float(image.max())
    return ((image - lo) / max(hi - lo, 1e-6)).astype(np.float32)


def build_sprites(config: SynthVideoConfig, rng: np.random.Generator) -> tuple[Sprite, ...]:
    """One sprite per motion pair: shape, base colour, texture and motion axis."""
    sprites = []
    radius = config.object_radius * config.size
    for p in range(config.n_motion_pairs):
        shape = SHAPES[p % len(SHAPES)]
        alpha = _shape_mask(shape, config.size, radius)
        texture = 0.6 + 0.8 * _smooth_noise(rng, config.size, max(4, config.size // 10))
        angle = math.radians(_axis_degrees(p, config.n_motion_pairs))
        direction = np.round([math.cos(angle), math.sin(angle)], 12) + 0.0  # exact 0 on the axes
        colour = np.array(PALETTE[p % len(PALETTE)], dtype=np.float32)
        sprites.append(Sprite(shape, colour, alpha, texture.astype(np.float32), direction))
    return tuple(sprites)


def _integer_lengths(weights: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Split ``total`` frames in proportion to ``weights``, each part >= ``minimum``, exact sum."""
    spare = total - minimum * len(weights)
    share = weights / weights.sum() * spare
    whole = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - whole), kind="stable")
    whole[order[: spare - int(whole.sum())]] += 1
    return whole + minimum


def plan_segments(
    config: SynthVideoConfig, index: int, sprites: tuple[Sprite, ...], rng: np.random.Generator
) -> list[Segment]:
    """Segments of video ``index``: background, then one action per pair (random order,
    background between), then background. Within a subject, the member of pair p
    alternates from video to video, so every subject sees both directions."""
    n_pairs = config.n_motion_pairs
    background = 2 * n_pairs
    round_ = index // config.n_splits
    actions = [2 * p + (round_ + p) % 2 for p in range(n_pairs)]
    actions = [actions[i] for i in rng.permutation(n_pairs)]
    labels = [background]
    for label in actions:
        labels += [label, background]
    total = int(rng.integers(config.min_frames, config.max_frames + 1))
    weights = np.array([1.0 if lab == background else 2.0 for lab in labels])
    weights *= rng.uniform(0.6, 1.4, size=len(labels))
    lengths = _integer_lengths(weights, total, config.min_segment_frames)
    scale = config.size / REFERENCE_SIZE
    segments, start = [], 0
    for label, length in zip(labels, lengths):
        if label == background:
            segments.append(Segment(label, start, int(length)))
        else:
            pair, member = divmod(label, 2)
            speed = scale * rng.uniform(*config.speed)
            sign = 1.0 if member == 0 else -1.0
            vx, vy = sign * speed * sprites[pair].direction + 0.0  # no -0.0 in info.json
            x0, y0 = rng.uniform(0, config.size, size=2)
            segments.append(
                Segment(label, start, int(length), (float(x0), float(y0)), (float(vx), float(vy)))
            )
        start += int(length)
    return segments


def render_backdrop(config: SynthVideoConfig, rng: np.random.Generator) -> np.ndarray:
    """A video's static backdrop (S, S, 3) float32 in [0, 255]: tinted smooth texture."""
    texture = _smooth_noise(rng, config.size, max(3, config.size // 16))
    tint = rng.uniform(70, 150, size=3).astype(np.float32)
    return (tint * (0.7 + 0.6 * texture[..., None])).astype(np.float32)


def render_frames(
    config: SynthVideoConfig,
    sprites: tuple[Sprite, ...],
    backdrop: np.ndarray,
    segments: list[Segment],
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Frames (T, S, S, 3) uint8 RGB of one video.

    In frame ``j`` of an action segment the pair's sprite is centred at
    ``start_xy + j * velocity`` (mod S: it wraps around the edges), translated with
    bilinear interpolation. ``rng`` draws the pixel noise (needed if ``pixel_noise > 0``).
    """
    import cv2  # deferred: `relate --help` and the CLI's options need this module, not OpenCV

    size = config.size
    n_frames = sum(s.length for s in segments)
    frames = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    centre = size / 2
    for seg in segments:
        layers = None
        if seg.velocity is not None:
            sprite = sprites[seg.label // 2]
            premultiplied = sprite.alpha[..., None] * sprite.texture[..., None] * sprite.colour
            layers = np.dstack([premultiplied, sprite.alpha]).astype(np.float32)  # (S, S, 4)
        for j in range(seg.length):
            image = backdrop.copy()
            if layers is not None:
                x = seg.start_xy[0] + j * seg.velocity[0] - centre
                y = seg.start_xy[1] + j * seg.velocity[1] - centre
                shift = np.float32([[1, 0, x], [0, 1, y]])
                moved = cv2.warpAffine(
                    layers, shift, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP
                )
                image = image * (1.0 - moved[..., 3:]) + moved[..., :3]
            if config.pixel_noise > 0:
                if rng is None:
                    raise ValueError("pixel_noise > 0 needs an rng")
                image = image + rng.standard_normal(image.shape) * config.pixel_noise
            frames[seg.start + j] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return frames


def video_names(config: SynthVideoConfig) -> list[tuple[str, int]]:
    """``(name, subject)`` per video in generation order (video i: subject i mod n_splits + 1)."""
    width = max(2, len(str(config.n_videos)))
    return [
        (f"S{i % config.n_splits + 1}_v{i + 1:0{width}d}", i % config.n_splits + 1)
        for i in range(config.n_videos)
    ]


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
    out: Path, config: SynthVideoConfig = SynthVideoConfig(), seed: int = 0, progress: bool = False
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
