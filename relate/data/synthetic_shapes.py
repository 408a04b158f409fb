"""Synthetic datasets shaped like GTEA, 50Salads and Breakfast.

Each shape has its paper dataset's classes, splits, frame rate, sample rate, background
share, segments per video and relative segment-length distribution, with videos scaled down
``k`` times in frames (``k`` = real mean frames / synthetic mean frames). Everything tied to
real time scales with ``k``: the temporal smoothing (I3D pools 21 frames at the real frame
rate, so ``max(1, round(21 / k))`` frames here), the per-frame noise (so that the smoothed
noise equals the default dataset's) and the misaligned flow bursts (same rate and lengths
in seconds). The motion-pair construction is the default dataset's (docs/synthetic.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relate.data.synthetic_check import TOLERANCE
from relate.data.synthetic_config import SynthConfig

I3D_WINDOW = 21
"""Frames an I3D feature pools at the real frame rate."""

BURST_PER_SECOND = 0.09
"""Misaligned bursts per second of real time (the default: 0.006 per frame at 15 fps)."""
BURST_SECONDS = (10 / 15, 45 / 15)
"""Burst lengths in seconds of real time (the default: 10-45 frames at 15 fps)."""
LENGTH_SPREAD = 0.5
"""Video lengths are drawn uniformly in ``mean * (1 -/+ LENGTH_SPREAD)``."""


@dataclass(frozen=True)
class Shape:
    """One paper dataset's targets and the generator settings that reproduce them.

    Attributes:
        dataset: registry name of the paper dataset (``gtea``, ``50salads``, ``breakfast``).
        targets: its statistics (keys of :func:`relate.data.synthetic_stats.segment_stats`
            plus ``classes``, ``splits``, ``fps``, ``sample_rate``, ``real_videos``).
        activities: activity types of the grammar (fewer when there are fewer videos per
            split, so that every activity, and so every class, has videos).
        videos, mean_frames: default (demo) size.
        recipe: SynthConfig fields that give the targets' shape.
    """

    dataset: str
    targets: Mapping[str, Any]
    activities: int
    videos: int
    mean_frames: int
    recipe: Mapping[str, Any]

    @property
    def registry_name(self) -> str:
        return f"synthetic_{self.dataset}"


# Derived from the real MS-TCN groundTruth/splits/mapping files: per dataset, frame share of
# the background label, segment = maximal run of one label, relative length = segment
# frames / video frames; mean frames = labelled frames / videos.
TARGETS: Mapping[str, Mapping[str, Any]] = {
    "gtea": {
        "classes": 11, "splits": 4, "fps": 15.0, "sample_rate": 1, "real_videos": 28,
        "mean_frames": 1115.2, "background": "background", "background_share": 0.222,
        "segments_mean": 32.9, "segments_std": 6.2, "action_segments_mean": 18.8,
        "rel_quantiles": (0.0040, 0.0109, 0.0203, 0.0364, 0.0671), "rel_mean": 0.0304,
    },
    "50salads": {
        "classes": 19, "splits": 5, "fps": 30.0, "sample_rate": 2, "real_videos": 50,
        "mean_frames": 11551.9, "background": None, "background_share": 0.0,
        "segments_mean": 20.0, "segments_std": 2.4, "action_segments_mean": 20.0,
        "rel_quantiles": (0.0141, 0.0223, 0.0393, 0.0680, 0.0993), "rel_mean": 0.0501,
    },
    "breakfast": {
        "classes": 48, "splits": 4, "fps": 15.0, "sample_rate": 1, "real_videos": 1712,
        "mean_frames": 2097.5, "background": "SIL", "background_share": 0.072,
        "segments_mean": 6.8, "segments_std": 2.8, "action_segments_mean": 4.9,
        "rel_quantiles": (0.0142, 0.0339, 0.0863, 0.2064, 0.3798), "rel_mean": 0.1469,
    },
}  # fmt: skip

SHAPES: Mapping[str, Shape] = {
    # 10 actions = 5 motion pairs, each done 2-3 times per activity (~33 segments on 11
    # classes); short background gaps between most steps. 7 activities as in GTEA.
    "gtea": Shape(
        dataset="gtea",
        targets=TARGETS["gtea"],
        activities=7,
        videos=16,
        mean_frames=480,
        recipe={
            "n_motion_pairs": 5, "pairs_per_activity": (4, 5), "pair_repeats": (2, 3),
            "grammar": "covering", "optional_step_prob": 0.3, "skip_prob": 0.5,
            "gap_prob": 0.68, "gap_median": 15.0, "gap_sigma": 1.2,
            "duration_median_range": (30.0, 120.0), "duration_sigma": 0.7,
        },
    ),
    # 17 actions = 8 motion pairs + 1 unpaired, between action_start and action_end; no
    # background. The activities are order variants of one recipe using every class.
    "50salads": Shape(
        dataset="50salads",
        targets=TARGETS["50salads"],
        activities=5,
        videos=20,
        mean_frames=640,
        recipe={
            "n_motion_pairs": 8, "n_unpaired": 1, "background_name": None,
            "boundary_names": ("action_start", "action_end"), "pairs_per_activity": (8, 8),
            "unpaired_per_activity": (1, 1), "pair_repeats": (1, 2), "grammar": "covering",
            "optional_step_prob": 0.55, "skip_prob": 0.5,
            "duration_median_range": (30.0, 120.0), "duration_sigma": 0.65,
        },
    ),
    # 47 actions = 18 motion pairs + 11 unpaired, dealt to 10 activities of ~5 actions each
    # (a few shared); SIL opens and closes every video.
    "breakfast": Shape(
        dataset="breakfast",
        targets=TARGETS["breakfast"],
        activities=10,
        videos=40,
        mean_frames=320,
        recipe={
            "n_motion_pairs": 18, "n_unpaired": 11, "background_name": "SIL",
            "background_first": True,
            "pairs_per_activity": (1, 3), "unpaired_per_activity": (0, 2), "grammar": "covering",
            "optional_step_prob": 0.0, "gap_prob": 0.0, "gap_median": 11.5, "gap_sigma": 0.6,
            "duration_median_range": (15.0, 300.0), "duration_sigma": 0.7,
        },
    ),
}  # fmt: skip


def get_shape(like: str) -> Shape:
    """The shape named ``like``; ``ValueError`` naming the known ones otherwise."""
    if like not in SHAPES:
        raise ValueError(f"unknown shape {like!r}; known: {', '.join(SHAPES)}")
    return SHAPES[like]


def _resolve_videos(shape: Shape, n_videos: int | None, videos_per_split: int | None) -> int:
    splits = shape.targets["splits"]
    if n_videos is not None and videos_per_split is not None:
        raise ValueError("give n_videos or videos_per_split, not both")
    if videos_per_split is not None:
        n_videos = videos_per_split * splits
    n_videos = shape.videos if n_videos is None else n_videos
    if n_videos < splits or n_videos % splits:
        raise ValueError(
            f"{shape.dataset} has {splits} splits: the number of videos must be a positive "
            f"multiple of {splits} (got {n_videos})"
        )
    return n_videos


def shape_config(
    like: str,
    n_videos: int | None = None,
    videos_per_split: int | None = None,
    mean_frames: int | None = None,
) -> SynthConfig:
    """The SynthConfig of the dataset shaped like paper dataset ``like``.

    Args:
        like: ``gtea``, ``50salads`` or ``breakfast``.
        n_videos: total videos, a multiple of the dataset's splits (default: the shape's).
        videos_per_split: videos per split (each split's test videos) instead of ``n_videos``.
        mean_frames: mean frames per video (default: the shape's).

    Raises:
        ValueError: unknown shape, a video count that is not a multiple of the splits, or
            a size SynthConfig rejects (videos too short for their segments).
    """
    shape = get_shape(like)
    targets = shape.targets
    n_videos = _resolve_videos(shape, n_videos, videos_per_split)
    mean = shape.mean_frames if mean_frames is None else mean_frames
    if mean < 2:
        raise ValueError(f"mean_frames must be >= 2 (got {mean})")
    k = scale_down(shape, mean)
    fps = targets["fps"]
    smooth = max(1, round(I3D_WINDOW / k))
    noise = math.sqrt(smooth / I3D_WINDOW)
    frames_per_second = fps / k
    burst = tuple(max(1, round(s * frames_per_second)) for s in BURST_SECONDS)
    recipe = dict(shape.recipe)
    activities = min(shape.activities, n_videos // targets["splits"])
    for key, items in (
        ("pairs_per_activity", "n_motion_pairs"),
        ("unpaired_per_activity", "n_unpaired"),
    ):
        lo, hi = recipe.get(key, (0, 0))
        need = math.ceil(recipe.get(items, 0) / activities)
        recipe[key] = (min(lo, max(hi, need)), max(hi, need))
    try:
        return SynthConfig(
            n_videos=n_videos,
            n_splits=targets["splits"],
            n_activities=activities,
            min_frames=max(1, round(mean * (1 - LENGTH_SPREAD))),
            max_frames=round(mean * (1 + LENGTH_SPREAD)),
            min_segment_frames=1,
            smooth_frames=smooth,
            frame_noise=SynthConfig.frame_noise * noise,
            feature_noise=SynthConfig.feature_noise * noise,
            burst_rate=BURST_PER_SECOND / frames_per_second,
            burst_length=(burst[0], burst[1]),
            **recipe,
        )
    except ValueError as error:
        raise ValueError(f"{like} at {mean} mean frames per video: {error}") from None


def scale_down(shape: Shape, mean_frames: float) -> float:
    """How many times fewer frames the synthetic videos have than the real ones."""
    return shape.targets["mean_frames"] / mean_frames


def shape_info(like: str, config: SynthConfig) -> dict[str, Any]:
    """The ``shape`` entry of ``info.json``: what the dataset stands in for and its targets."""
    shape = get_shape(like)
    mean = (config.min_frames + config.max_frames) / 2
    return {
        "shape": {
            "like": like,
            "stands_in_for": shape.dataset,
            "registry_name": shape.registry_name,
            "scale_down": round(scale_down(shape, mean), 3),
            "targets": dict(shape.targets),
            "tolerance": dict(TOLERANCE),
        }
    }
