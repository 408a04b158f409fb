"""One pass over a split's frames: the runs of equal labels of both sides.

Videos are taken in blocks of about ``BLOCK_FRAMES`` frames: each block's predictions and
GT are joined into one array and scanned for runs with a few numpy calls. Blocks keep the
temporaries small, so they stay in cache and are reused by the allocator instead of being
mapped afresh (page faults cost more than the scan itself on megabyte arrays). Frame
accuracy needs no further pass: correct frames are the overlaps of same-label runs
(:func:`relate.evaluation.metrics_segments.same_label_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from relate.evaluation.metrics_encode import EncodedSplit
from relate.evaluation.metrics_segments import Segments

BLOCK_FRAMES = 1 << 16
BLOCK_BYTES = 1 << 18
"""Frames and label bytes per side of a block, whichever is fewer (a video longer than
that is a block of its own); measured best on Breakfast from int8 to int64 labels."""


@dataclass(frozen=True)
class Scan:
    """All runs of both sides (background ones included), on the split's frame axis."""

    predicted: Segments
    truth: Segments
    correct_frames: np.ndarray | None
    """Per-frame ``prediction == GT`` when asked for (``relate_release``)."""


def scan_split(split: EncodedSplit, frames: bool = False) -> Scan:
    """Runs of equal labels of both sides of ``split`` (a run never crosses a video
    boundary), and the per-frame correct mask if ``frames``."""
    bounds = split.bounds
    itemsize = split.dtype.itemsize if split.dtype is not None else 8
    cuts = _block_cuts(bounds, max(min(BLOCK_FRAMES, BLOCK_BYTES // itemsize), 1))
    correct_frames = np.empty(int(bounds[-1]), dtype=bool) if frames else None
    starts, labels = [], []
    for v0, v1 in zip(cuts[:-1], cuts[1:]):
        base, n = int(bounds[v0]), int(bounds[v1] - bounds[v0])
        block = _join([*split.predicted[v0:v1], *split.truth[v0:v1]], split.dtype)
        run_starts = np.empty(2 * n, dtype=bool)
        np.not_equal(block[1:], block[:-1], out=run_starts[1:])
        video_starts = bounds[v0:v1] - base
        run_starts[video_starts] = True  # also frame 0
        run_starts[video_starts + n] = True
        start = np.flatnonzero(run_starts)
        starts.append(start)
        labels.append(block[start])
        if correct_frames is not None:
            np.equal(block[:n], block[n:], out=correct_frames[base : base + n])
    predicted, truth = _split_sides(starts, labels, bounds, cuts)
    return Scan(predicted, truth, correct_frames)


def _split_sides(
    starts: list[np.ndarray], labels: list[np.ndarray], bounds: np.ndarray, cuts: list[int]
) -> tuple[Segments, Segments]:
    """Runs found in the blocks (block coordinates: predictions, then GT) as one Segments
    per side on the split's frame axis."""
    base = bounds[cuts[:-1]]
    size = bounds[cuts[1:]] - base  # frames per side of each block
    runs = np.fromiter(map(len, starts), dtype=np.int64, count=len(starts))
    local = np.concatenate(starts)
    label = np.concatenate(labels)
    end = np.empty_like(local)
    end[:-1] = local[1:]
    end[np.cumsum(runs) - 1] = 2 * size  # the last run of a block ends with it
    block_size = np.repeat(size, runs)
    is_truth = local >= block_size
    shift = np.repeat(base, runs) - np.where(is_truth, block_size, 0)
    start, end = local + shift, end + shift
    sides = []
    for mask in (~is_truth, is_truth):
        side_start = start[mask]
        sides.append(
            Segments(label[mask], side_start, end[mask], np.searchsorted(side_start, bounds))
        )
    return sides[0], sides[1]


def _join(arrays: list[np.ndarray], dtype: np.dtype | None) -> np.ndarray:
    """``np.concatenate(arrays)``; for many small arrays of one dtype, ``bytes.join`` is
    several times faster (about 40 ns an array instead of 200)."""
    if dtype is not None:
        try:
            return np.frombuffer(b"".join(arrays), dtype=dtype)
        except TypeError:  # an array that is not contiguous
            pass
    return np.concatenate(arrays)


def _block_cuts(bounds: np.ndarray, frames_per_block: int) -> list[int]:
    """First video of each block (then the number of videos): blocks of whole videos,
    each starting where the running frame count passes a multiple of the block size."""
    total = int(bounds[-1])
    marks = np.arange(frames_per_block, total, frames_per_block)
    first = np.searchsorted(bounds, marks, side="right") - 1
    return np.unique(np.r_[0, first, bounds.size - 1]).tolist()
