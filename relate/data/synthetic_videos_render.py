"""Sprites, segment plans and frames of the synthetic videos (:mod:`relate.data.synthetic_videos`).

Everything here is deterministic given the ``numpy.random.Generator`` it is handed; OpenCV is
imported by the functions that draw, not by the module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from relate.data.synthetic_segments import _integer_lengths
from relate.data.synthetic_videos_config import (
    PALETTE,
    REFERENCE_SIZE,
    SHAPES,
    SynthVideoConfig,
    axis_degrees,
)


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
        angle = math.radians(axis_degrees(p, config.n_motion_pairs))
        direction = np.round([math.cos(angle), math.sin(angle)], 12) + 0.0  # exact 0 on the axes
        colour = np.array(PALETTE[p % len(PALETTE)], dtype=np.float32)
        sprites.append(Sprite(shape, colour, alpha, texture.astype(np.float32), direction))
    return tuple(sprites)


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
