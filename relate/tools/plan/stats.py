"""Frames per video and videos per split of each dataset, for the cost model.

:data:`relate.data.registry.DATASETS` holds frame rates, sample rates and split counts but no
video lengths or split sizes, so they are written here once. They were derived from the real
MS-TCN label files (groundTruth line counts and the ``{train,test}.splitN.bundle`` lists of
GTEA, 50Salads and Breakfast; 28, 50 and 1712 videos): the mean is the total number of
labelled frames divided by the number of videos, at the feature frame rate and before the
dataset's sample rate. The planner applies ``sample_rate`` itself (50Salads: every 2nd frame).

The synthetic datasets' sizes come from the workflow config (``data.synthetic_sizes``, else
each shape's default size): see :func:`dataset_stats`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from relate.data.registry import get_dataset
from relate.data.sweep import registry_name
from relate.errors import RelateError


@dataclass(frozen=True)
class DatasetStats:
    """Sizes of one dataset.

    Attributes:
        mean_frames: mean frames per video at the feature frame rate (before sample_rate).
        train_videos, test_videos: videos in each split's train and test lists (split 1 first).
        sample_rate: temporal subsampling used for training and prediction (registry).
    """

    mean_frames: float
    train_videos: tuple[int, ...]
    test_videos: tuple[int, ...]
    sample_rate: int

    def videos(self, part: str, split: int) -> int:
        """Videos in the ``part`` ("train" or "test") list of ``split`` (1-based)."""
        counts = self.train_videos if part == "train" else self.test_videos
        if not 1 <= split <= len(counts):
            raise RelateError(f"split {split} is out of range (1..{len(counts)})")
        return counts[split - 1]

    def frames(self, part: str, split: int) -> float:
        """Frames a model sees in one pass over that list (after the sample rate)."""
        return self.videos(part, split) * self.mean_frames / self.sample_rate


# Derived once from the real label files (see the module doc): total frames / videos.
# gtea: 31,225 / 28; 50salads: 577,595 / 50; breakfast: 3,590,899 / 1712.
REAL_STATS: Mapping[str, tuple[float, tuple[int, ...], tuple[int, ...]]] = {
    "gtea": (1115.2, (21, 21, 21, 21), (7, 7, 7, 7)),
    "50salads": (11551.9, (40, 40, 40, 40, 40), (10, 10, 10, 10, 10)),
    "breakfast": (2097.5, (1460, 1261, 1279, 1136), (252, 451, 433, 576)),
}


def dataset_stats(name: str, config: Mapping[str, Any] | None = None) -> DatasetStats:
    """Sizes of dataset ``name``; a synthetic stand-in's from the workflow config's
    ``data.synthetic_sizes`` (else its shape's default size; splits are leave-one-subject-out
    with equal subjects); the plain ``synthetic`` dataset's from ``data.synthetic_videos`` and
    ``data.synthetic_frames`` (video i in subject i mod n_splits)."""
    name = registry_name(name)  # a swept stand-in has its registry dataset's sizes
    try:
        info = get_dataset(name)
    except KeyError as error:
        raise RelateError(str(error.args[0])) from None
    if name in REAL_STATS:
        mean, train, test = REAL_STATS[name]
        return DatasetStats(mean, train, test, info.sample_rate)
    if info.stands_in_for is not None:
        from relate.data.synthetic_shapes import shape_config

        data = (config or {}).get("data", {}) or {}
        size = (data.get("synthetic_sizes") or {}).get(info.stands_in_for, {})
        synth = shape_config(
            info.stands_in_for, n_videos=size.get("videos"), mean_frames=size.get("mean_frames")
        )
        test = (synth.n_videos // synth.n_splits,) * synth.n_splits
        train = tuple(synth.n_videos - n for n in test)
        mean = (synth.min_frames + synth.max_frames) / 2
        return DatasetStats(mean, train, test, info.sample_rate)
    if info.synthetic:
        data = (config or {}).get("data", {}) or {}
        videos = int(data.get("synthetic_videos", 30))
        low, high = data.get("synthetic_frames", [300, 1500])
        test = tuple(len(range(k - 1, videos, info.n_splits)) for k in range(1, info.n_splits + 1))
        train = tuple(videos - n for n in test)
        return DatasetStats((float(low) + float(high)) / 2, train, test, info.sample_rate)
    raise RelateError(f"no video statistics for dataset {name!r}")
