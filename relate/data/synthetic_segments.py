"""Per-video draws of the synthetic generator: the segments and the misaligned flow bursts."""

from __future__ import annotations

import math

import numpy as np

from relate.data.synthetic_config import SynthConfig
from relate.data.synthetic_world import World


def _integer_lengths(raw: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Split ``total`` frames in proportion to ``raw``, each part >= ``minimum``, exact sum."""
    spare = total - minimum * len(raw)
    share = raw / raw.sum() * spare
    whole = np.floor(share).astype(np.int64)
    left = spare - int(whole.sum())
    order = np.argsort(-(share - whole), kind="stable")
    whole[order[:left]] += 1
    return whole + minimum


def _swap_members(
    config: SynthConfig, world: World, labels: list[int], rng: np.random.Generator
) -> None:
    """Per pair with two or more steps: exchange its two members, with ``order_swap_prob``."""
    partner = world.partner
    pairs = sorted({min(label, int(partner[label])) for label in labels if partner[label] >= 0})
    for pair in pairs:
        members = [i for i, label in enumerate(labels) if min(label, partner[label]) == pair]
        if len(members) >= 2 and rng.random() < config.order_swap_prob:
            for i in members:
                labels[i] = int(partner[labels[i]])


def _merge_runs(sequence: list[int]) -> list[int]:
    """Neighbouring steps of the same class become one segment (segments are maximal runs)."""
    return [label for i, label in enumerate(sequence) if i == 0 or label != sequence[i - 1]]


def sample_segments(
    config: SynthConfig, world: World, activity: int, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """One video's ``(label, length)`` segments: an instance of ``activity``, time-stretched
    to a length drawn from ``[min_frames, max_frames]``."""
    grammar = world.activities[activity]
    steps = [s for s in grammar if not (s.optional and rng.random() < config.skip_prob)]
    if not steps:
        steps = [world.activities[activity][0]]
    labels = [s.label for s in steps]
    _swap_members(config, world, labels, rng)
    bg = world.background_id
    opening, closing = world.boundary_ids[:1], world.boundary_ids[1:]
    sequence = ([] if bg is None else [bg]) + list(opening)
    for i, label in enumerate(labels):
        if i > 0 and bg is not None and rng.random() < config.gap_prob:
            sequence.append(bg)
        sequence.append(label)
    sequence += list(closing) + ([] if bg is None else [bg])
    sequence = _merge_runs(sequence)
    raw = np.array(
        [
            rng.lognormal(math.log(config.gap_median), config.gap_sigma)
            if label == bg
            else rng.lognormal(math.log(world.duration_medians[label]), config.duration_sigma)
            for label in sequence
        ]
    )
    total = int(rng.integers(config.min_frames, config.max_frames + 1))
    lengths = _integer_lengths(raw, total, config.min_segment_frames)
    return [(label, int(n)) for label, n in zip(sequence, lengths)]


def sample_bursts(
    config: SynthConfig, world: World, n_frames: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """Misaligned flow bursts of one video as ``(start, length, source class)``.

    Starts are uniform over the video, so bursts ignore (and often span) segment
    boundaries; the source class is any class but the background, unrelated to the current
    one. Lengths are cut at the end of the video.
    """
    bursts = []
    for _ in range(int(rng.poisson(config.burst_rate * n_frames))):
        start = int(rng.integers(0, n_frames))
        length = int(rng.integers(config.burst_length[0], config.burst_length[1] + 1))
        source = int(rng.integers(0, world.n_sources))
        bursts.append((start, min(length, n_frames - start), source))
    return bursts
