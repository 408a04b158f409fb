"""``SynthVideoConfig``: every knob of the synthetic video generator, and the names it implies.

Importing this module loads neither NumPy nor OpenCV, so the ``relate synth-videos`` options
(and ``relate --help``) can read the defaults cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from relate.data.synthetic_config import BACKGROUND

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
        # deferred: flow_extraction.video imports OpenCV, which `relate --help` does not need
        from flow_extraction.video import VIDEO_FORMATS

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


def class_names(n_motion_pairs: int) -> tuple[str, ...]:
    """Class names in id order: pair p is ids 2p and 2p+1 (opposite directions); background last."""
    names: list[str] = []
    for p in range(n_motion_pairs):
        shape = SHAPES[p % len(SHAPES)] + ("" if p < len(SHAPES) else str(p // len(SHAPES) + 1))
        degrees = axis_degrees(p, n_motion_pairs)
        if degrees == 0:
            names.extend((f"{shape}_right", f"{shape}_left"))
        elif degrees == 90:
            names.extend((f"{shape}_down", f"{shape}_up"))
        else:
            names.extend((f"{shape}_dir{degrees}", f"{shape}_dir{degrees + 180}"))
    names.append(BACKGROUND)
    return tuple(names)


def axis_degrees(pair: int, n_pairs: int) -> int:
    """Motion axis of a pair in whole degrees (image coordinates, y down), evenly spread over
    [0, 180): 2 pairs -> 0 (horizontal) and 90 (vertical); 3 pairs -> 0, 60, 120."""
    return round(180 * pair / n_pairs)


def video_names(config: SynthVideoConfig) -> list[tuple[str, int]]:
    """``(name, subject)`` per video in generation order (video i: subject i mod n_splits + 1)."""
    width = max(2, len(str(config.n_videos)))
    return [
        (f"S{i % config.n_splits + 1}_v{i + 1:0{width}d}", i % config.n_splits + 1)
        for i in range(config.n_videos)
    ]
