"""Features of one synthetic video: latent RGB and flow signals, projected to 2048 rows."""

from __future__ import annotations

import math

import numpy as np

from relate.data.registry import FEATURE_DIM
from relate.data.synthetic_config import SynthConfig
from relate.data.synthetic_world import MODALITY_DIM, World


def _noise(rng: np.random.Generator, shape: tuple[int, ...], norm: float) -> np.ndarray:
    """Gaussian noise whose last axis has expected squared norm ``norm**2``."""
    return rng.standard_normal(shape) * (norm / math.sqrt(shape[-1]))


def render_features(
    config: SynthConfig,
    world: World,
    segments: list[tuple[int, int]],
    bursts: list[tuple[int, int, int]],
    rng: np.random.Generator,
) -> np.ndarray:
    """Features (2048, T) float32 of one video: rows 0-1023 RGB, 1024-2047 flow."""
    d = config.latent_dim
    labels = np.repeat([s[0] for s in segments], [s[1] for s in segments])
    seg_index = np.repeat(np.arange(len(segments)), [s[1] for s in segments])
    t_len = len(labels)

    # Motion actually present in the video: the action's own motion plus misaligned bursts.
    motion = world.motion[labels].copy()  # (T, d)
    for start, length, source in bursts:
        motion[start : start + length] += config.burst_strength * world.motion[source]

    flow = (
        motion
        + _noise(rng, (len(segments), d), config.instance_noise)[seg_index]
        + _noise(rng, (t_len, d), config.frame_noise)
    )
    leak = np.tanh(config.leak_gain * motion @ world.leak_matrix.T) / math.sqrt(d)
    rgb = (
        world.appearance[world.pair_of(labels)]
        + _noise(rng, (1, d), config.video_offset)
        + _noise(rng, (len(segments), d), config.instance_noise)[seg_index]
        + config.motion_leak * leak
        + _noise(rng, (t_len, d), config.frame_noise)
    )

    features = np.empty((FEATURE_DIM, t_len), dtype=np.float32)
    for offset, modality, latent in ((0, "rgb", rgb), (MODALITY_DIM, "flow", flow)):
        x = world.projection[modality] @ latent.T + world.base[modality][:, None]  # (1024, T)
        x += rng.standard_normal(x.shape) * config.feature_noise
        from scipy.ndimage import uniform_filter1d  # 0.4 s of imports: only when smoothing

        x = uniform_filter1d(x, size=config.smooth_frames, axis=1, mode="nearest")
        features[offset : offset + MODALITY_DIM] = np.maximum(x, 0.0)
    return features
