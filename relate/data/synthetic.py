"""Deterministic synthetic dataset in the MS-TCN layout, built so that RGB vs flow matters.

Every video is an instance of a procedural *activity* from a small grammar: an ordered list
of steps (some optional) with background gaps between them. Action classes come in *motion
pairs* (e.g. ``open_jar`` / ``close_jar``) that share one appearance prototype and differ
only in motion. Each frame has two latent vectors (width ``latent_dim``):

- flow latent = motion prototype of the frame's class + *misaligned bursts* (motion
  prototypes of random classes at random times, ignoring segment boundaries) + per-instance
  and per-frame noise;
- RGB latent = appearance prototype of the class's pair + a per-video appearance offset + a
  weak non-linear leak of the motion signal, ``motion_leak * tanh(gain * W m) / sqrt(d)``,
  + per-instance and per-frame noise.

Both latents are smoothed in time with a box window (I3D features pool ~21-frame windows),
mapped to 1024 rows by fixed random projections around a positive base, perturbed by
isotropic noise and clipped at 0 (I3D features are averages of ReLU outputs). So a per-frame
linear probe separates the two members of a pair from flow, but from RGB only through the
weak leak; see ``docs/synthetic.md`` and :mod:`relate.data.probe`.

Noise and offset sizes are given as the expected Euclidean norm in the latent space, where
every prototype has norm 1 (so 0.3 means "30 % of the distance scale between classes").

The parts live in ``synthetic_config`` (``SynthConfig``), ``synthetic_world`` (grammar and
prototypes), ``synthetic_segments`` (segments and bursts) and ``synthetic_render`` (features);
this module writes the dataset and re-exports them. Datasets shaped like GTEA, 50Salads and
Breakfast are configured by :mod:`relate.data.synthetic_shapes`.

Output for a given ``(config, seed)`` is byte-identical from run to run on one platform: all
randomness comes from ``numpy.random.SeedSequence(seed)``, arrays are float32, and every
iteration is over sorted or index-ordered collections.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from relate.data.synthetic_config import (
    BACKGROUND,
    DEFAULT_PAIR_NAMES,
    GRAMMARS,
    SynthConfig,
    class_names,
    config_json,
)
from relate.data.synthetic_info import INFO_FILE, read_info
from relate.data.synthetic_render import render_features
from relate.data.synthetic_segments import _integer_lengths, sample_bursts, sample_segments
from relate.data.synthetic_world import MODALITY_DIM, Step, World, build_world
from relate.errors import DataError
from relate.io import atomic_directory

__all__ = [
    "BACKGROUND",
    "DEFAULT_CONFIG",
    "DEFAULT_PAIR_NAMES",
    "GRAMMARS",
    "INFO_FILE",
    "MODALITY_DIM",
    "Step",
    "SynthConfig",
    "World",
    "_integer_lengths",
    "build_world",
    "class_names",
    "generate_dataset",
    "read_info",
    "render_features",
    "sample_bursts",
    "sample_segments",
    "video_plan",
]

logger = logging.getLogger(__name__)


DEFAULT_CONFIG = SynthConfig()
"""The documented default dataset's configuration."""


def video_plan(config: SynthConfig) -> list[tuple[str, int, int]]:
    """``(name, subject, activity)`` per video, in generation order.

    Video i belongs to subject ``i mod n_splits`` and performs activity
    ``(i div n_splits) mod n_activities``, so subjects get balanced activities.
    """
    width = max(2, len(str(config.n_videos)))
    plan = []
    for i in range(config.n_videos):
        subject = i % config.n_splits + 1
        activity = (i // config.n_splits) % config.n_activities + 1
        plan.append((f"S{subject}_act{activity}_v{i + 1:0{width}d}", subject, activity))
    return plan


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, array, allow_pickle=False)


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


def generate_dataset(
    out: Path,
    config: SynthConfig = DEFAULT_CONFIG,
    seed: int = 0,
    extra_info: dict[str, Any] | None = None,
) -> None:
    """Write a complete synthetic dataset in the MS-TCN layout to ``out``, atomically.

    Layout: ``features/{video}.npy`` (2048, T) float32, ``groundTruth/{video}.txt``,
    ``splits/{train,test}.split{k}.bundle`` (test = subject k, train = the others),
    ``mapping.txt`` (background last, or first with ``background_first``) and ``info.json``
    (seed, config, grammar, motion pairs, and per video its subject, activity and misaligned
    bursts).
    ``extra_info`` adds keys to ``info.json`` (the shaped datasets record their targets).
    An existing ``out`` is replaced only once the new dataset is complete, and only if it
    is empty or an earlier synthetic dataset (else :class:`DataError`).
    """
    out = Path(out)
    _check_replaceable(out)
    root_seq = np.random.SeedSequence(seed)
    world_seq, *video_seqs = root_seq.spawn(1 + config.n_videos)
    world = build_world(config, np.random.default_rng(world_seq))
    plan = video_plan(config)
    names = world.class_names

    with atomic_directory(out) as tmp:
        for sub in ("features", "groundTruth", "splits"):
            (tmp / sub).mkdir()
        n_frames = 0
        videos_info = {}
        for (video, subject, activity), seq in zip(plan, video_seqs):
            rng = np.random.default_rng(seq)
            segments = sample_segments(config, world, activity - 1, rng)
            bursts = sample_bursts(config, world, sum(n for _, n in segments), rng)
            features = render_features(config, world, segments, bursts, rng)
            _save_npy(tmp / "features" / f"{video}.npy", features)
            lines = "".join(f"{names[label]}\n" * length for label, length in segments)
            (tmp / "groundTruth" / f"{video}.txt").write_text(lines, encoding="utf-8")
            n_frames += features.shape[1]
            videos_info[video] = {
                "subject": subject,
                "activity": activity,
                "frames": features.shape[1],
                "bursts": [
                    {"start": start, "length": length, "motion_of": names[source]}
                    for start, length, source in bursts
                ],
            }
            logger.debug("%s: %d frames, %d segments", video, features.shape[1], len(segments))

        for k in range(1, config.n_splits + 1):
            test = sorted(v for v, s, _ in plan if s == k)
            train = sorted(v for v, s, _ in plan if s != k)
            for kind, videos in (("train", train), ("test", test)):
                text = "".join(f"{v}.txt\n" for v in videos)
                (tmp / "splits" / f"{kind}.split{k}.bundle").write_text(text, encoding="utf-8")

        mapping = "".join(f"{i} {name}\n" for i, name in enumerate(mapping_order(config, names)))
        (tmp / "mapping.txt").write_text(mapping, encoding="utf-8")
        info = _info(config, world, seed, videos_info)
        info.update(extra_info or {})
        text = json.dumps(info, indent=2, sort_keys=True) + "\n"
        (tmp / INFO_FILE).write_text(text, encoding="utf-8")
    logger.info("wrote %d synthetic videos (%d frames) to %s", config.n_videos, n_frames, out)


def _info(config: SynthConfig, world: World, seed: int, videos: dict[str, Any]) -> dict[str, Any]:
    """The ``info.json`` content: provenance, classes, grammar and per-video draws."""
    names = world.class_names
    info: dict[str, Any] = {
        "synthetic": True,
        "description": "Synthetic data from relate.data.synthetic, not real video features.",
        "seed": seed,
        "config": config_json(config),
        "classes": list(names),
        "background": config.background_name,
        "motion_pairs": [[names[2 * p], names[2 * p + 1]] for p in range(config.n_motion_pairs)],
        "activities": [
            [{"step": names[s.label], "optional": s.optional} for s in steps]
            for steps in world.activities
        ],
        "videos": videos,
    }
    first = 2 * config.n_motion_pairs
    if config.n_unpaired:
        info["unpaired"] = list(names[first : first + config.n_unpaired])
    if config.boundary_names:
        info["boundary"] = list(config.boundary_names)
    return info


def mapping_order(config: SynthConfig, names: tuple[str, ...]) -> tuple[str, ...]:
    """Class names in mapping.txt id order: the generator's order (background last), or the
    background first when ``config.background_first``."""
    if not config.background_first or config.background_name is None:
        return names
    return (config.background_name, *(n for n in names if n != config.background_name))
