"""Seeding and RNG-state capture, so that training is deterministic and resumable.

``seed_everything`` seeds Python, NumPy and torch and switches torch to deterministic
algorithms. ``capture_rng_state`` / ``restore_rng_state`` move every global RNG state in
and out of a dict made of tensors and plain Python values only, so a checkpoint holding
it loads with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

CUBLAS_WORKSPACE = ":4096:8"
"""cuBLAS needs this workspace setting for deterministic results on CUDA >= 10.2."""


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) and make torch deterministic.

    Turns on torch's deterministic algorithms for eager execution (what
    ``torch.use_deterministic_algorithms(True)`` does, without importing the compiler
    stack: about 2 s of start-up per job; :func:`relate.runs.fast_path.compile_model` sets the
    compiler's own flag), cuDNN deterministic with benchmark off, and
    ``CUBLAS_WORKSPACE_CONFIG`` (unless already set) before CUDA is used.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
    set_deterministic = getattr(torch._C, "_set_deterministic_algorithms", None)
    if set_deterministic is None:
        torch.use_deterministic_algorithms(True)
    else:
        set_deterministic(True, warn_only=False)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def capture_rng_state() -> dict[str, object]:
    """Every global RNG state, as tensors and plain values (``weights_only``-loadable)."""
    version, internal, gauss_next = random.getstate()
    kind, keys, pos, has_gauss, cached_gaussian = np.random.get_state(legacy=True)
    state: dict[str, object] = {
        "python": {
            "version": int(version),
            "internal": torch.tensor(internal, dtype=torch.int64),
            "gauss_next": gauss_next,
        },
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, object]) -> None:
    """Restore the states captured by :func:`capture_rng_state`.

    The CUDA states are restored only when CUDA is available and the same number of
    devices was captured; a run resumed on another device type continues from the
    restored CPU state (the CUDA streams are re-seeded by ``seed_everything``).

    Raises:
        KeyError, ValueError, TypeError, RuntimeError: the dict is not such a state.
    """
    py = state["python"]
    random.setstate(
        (py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss_next"])
    )
    nps = state["numpy"]
    keys = nps["keys"].numpy().astype(np.uint32)
    np.random.set_state((nps["kind"], keys, nps["pos"], nps["has_gauss"], nps["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def epoch_generator(seed: int, epoch: int) -> np.random.Generator:
    """A generator that depends only on ``(seed, epoch)`` (for the epoch's video order)."""
    return np.random.default_rng([seed % 2**63, epoch])
