"""Prediction refinement (PR) of RELATE: a training-free rule over three heads' probabilities.

The rule (paper Sec. 3.4, as executed by the authors' release; ``docs/refine.md``): for each
frame t, let the joint head's raw confidence be max_c p_J[t, c].

* If it is below ``delta`` and the joint head is the least confident of the three heads at t,
  the output row t becomes the row at t - 1 of the head that was most confident at t - 1.
* Else, if it is below ``delta`` (and t > 0), the output row t repeats output row t - 1.
* Otherwise output row t is p_J[t].

The defaults follow the release (github.com/Hsj303/RELATE ``relate/refinement.py``) with its
plain bugs fixed; every departure is one option in :data:`PR_OPTIONS` (D14-D16 are sections of
docs/decisions.md):

=================  ==========================  ==============  ==============  =========
option             values (first = default)    release         paper_literal   source
=================  ==========================  ==============  ==============  =========
``pr_confidence``  minmax_video, raw           minmax_video    raw             D14
``pr_mstar``       all_heads, unimodal         all_heads       unimodal        D15
``pr_t0``          keep, wrap_release          wrap_release    keep            D16
``pr_rows``        probabilities,              minmax_release  probabilities   refine.md
                   minmax_release
=================  ==========================  ==============  ==============  =========

``RELEASE_PR_OPTIONS`` reproduces the release bit for bit (same float arithmetic in the
input's dtype); ``PAPER_LITERAL_PR_OPTIONS`` is the paper's text read literally.

Shapes: T frames, C classes. Inputs and output are (T, C).

Complexity: O(T * C) time and memory, no Python loop over frames and no (T, T) array. Each
frame's case depends only on the unrefined inputs, so the cases are computed with whole-array
operations; the only sequential part ("repeat the previous output row") is a forward fill,
done with a cumulative maximum over frame indices.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import torch

from relate.blocks.refine_options import (
    DEFAULT_PR_OPTIONS,
    PAPER_LITERAL_PR_OPTIONS,
    PR_OPTIONS,
    RELEASE_PR_OPTIONS,
    PROption,
    resolve_pr_options,
)

__all__ = [
    "DEFAULT_DELTA",
    "DEFAULT_PR_OPTIONS",
    "HEADS",
    "PAPER_LITERAL_PR_OPTIONS",
    "PR_OPTIONS",
    "PROption",
    "RELEASE_PR_OPTIONS",
    "refine_prediction",
    "resolve_pr_options",
]

logger = logging.getLogger(__name__)

DEFAULT_DELTA = 0.7
"""The paper's delta (Sec. 4.1.2) and the release's ``--refine-threshold`` default."""

MINMAX_EPSILON = 1e-8
"""Added to each head's (max - min) in the release's min-max normalisation."""

HEADS = ("rgb", "flow", "joint")
"""Head order. Ties in "lowest" and in m* go to the first head in this order."""
_RGB, _FLOW, _JOINT = 0, 1, 2

_FLOAT_DTYPES = (np.float16, np.float32, np.float64)


Array = TypeVar("Array", np.ndarray, torch.Tensor)


def refine_prediction(
    p_rgb: Array, p_flow: Array, p_joint: Array, delta: float = DEFAULT_DELTA, **options: str
) -> Array:
    """Refine the joint head's frame probabilities with the RGB and flow heads' (PR).

    Args:
        p_rgb: (T, C) frame probabilities of the RGB branch (last stage).
        p_flow: (T, C) frame probabilities of the flow branch (last stage).
        p_joint: (T, C) frame probabilities of the joint segmenter (last stage).
        delta: the threshold in [0, 1]. A frame counts as uncertain when the joint head's raw
            max probability is strictly below delta, compared in the inputs' dtype (as in the
            release): a confidence equal to delta is not refined.
        **options: the options of :data:`PR_OPTIONS` (``pr_confidence``, ``pr_mstar``,
            ``pr_t0``, ``pr_rows``); the ones left out take their default.

    Returns:
        (T, C) refined joint probabilities, a new array of the inputs' type and dtype (and
        device, for tensors; detached). Every row is a copy of an input row (with
        ``pr_rows="probabilities"``), so rows sum to 1 whenever the input rows do. With
        ``pr_rows="minmax_release"`` replaced rows are min-max-normalised rows instead.

    Raises:
        TypeError: unknown option, mixed or non-floating input types.
        ValueError: bad option value, delta outside [0, 1], shapes not equal (T, C) with
            C >= 1, or non-finite inputs.

    Cost: O(T * C) time and memory, vectorised (see the module docstring).
    """
    opts = resolve_pr_options(options)
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise ValueError(f"delta must be a number in [0, 1], got {delta!r}")
    if not (math.isfinite(delta) and 0.0 <= delta <= 1.0):
        raise ValueError(f"delta must be in [0, 1], got {delta!r}")
    heads = (p_rgb, p_flow, p_joint)
    if all(isinstance(p, torch.Tensor) for p in heads):
        device, dtype = p_joint.device, p_joint.dtype
        if any(p.device != device or p.dtype != dtype for p in heads):
            raise TypeError("p_rgb, p_flow and p_joint must share one dtype and device")
        if dtype not in (torch.float16, torch.float32, torch.float64):
            raise TypeError(f"unsupported dtype {dtype}; cast to torch.float32 first")
        arrays = [p.detach().cpu().numpy() for p in heads]
        return torch.from_numpy(_refine_numpy(arrays, delta, opts)).to(device)
    if all(isinstance(p, np.ndarray) for p in heads):
        if any(p.dtype != p_joint.dtype for p in heads):
            raise TypeError("p_rgb, p_flow and p_joint must share one dtype")
        if p_joint.dtype.type not in _FLOAT_DTYPES:
            raise TypeError(f"unsupported dtype {p_joint.dtype}; use float16, float32 or float64")
        return _refine_numpy(list(heads), delta, opts)
    names = ", ".join(type(p).__name__ for p in heads)
    raise TypeError(f"inputs must be all numpy arrays or all torch tensors, got {names}")


def _refine_numpy(heads: list[np.ndarray], delta: float, opts: Mapping[str, str]) -> np.ndarray:
    """The rule on three (T, C) numpy arrays of one floating dtype; returns a new (T, C)."""
    shape = heads[_JOINT].shape
    if len(shape) != 2 or shape[1] < 1 or any(p.shape != shape for p in heads):
        shapes = ", ".join(str(p.shape) for p in heads)
        raise ValueError(f"inputs must all have one shape (T, C) with C >= 1, got {shapes}")
    frames = shape[0]
    p = np.stack(heads)  # (3, T, C): RGB, flow, joint
    if frames == 0:
        return p[_JOINT]
    if not np.isfinite(p).all():
        raise ValueError("inputs contain NaN or infinite values")

    # Per-head min-max over all T*C entries, in the inputs' dtype (the Python float epsilon
    # stays in that dtype, as in the release's torch arithmetic).
    normalised = p
    if opts["pr_rows"] == "minmax_release" or opts["pr_confidence"] == "minmax_video":
        low_end = p.min(axis=(1, 2), keepdims=True)  # (3, 1, 1)
        high_end = p.max(axis=(1, 2), keepdims=True)  # (3, 1, 1)
        normalised = (p - low_end) / (high_end - low_end + MINMAX_EPSILON)  # (3, T, C)
    scored = normalised if opts["pr_confidence"] == "minmax_video" else p
    rows = normalised if opts["pr_rows"] == "minmax_release" else p
    confidence = scored.max(axis=2)  # (3, T)

    # Each frame's case depends on the unrefined inputs only.
    uncertain = p[_JOINT].max(axis=1) < np.asarray(delta, dtype=p.dtype)  # (T,) raw, strict
    joint_lowest = confidence.argmin(axis=0) == _JOINT  # (T,) first index wins ties
    replace = uncertain & joint_lowest
    hold = uncertain & ~joint_lowest
    hold[0] = False  # frame 0 has no previous output row

    out = p[_JOINT].copy()  # (T, C)
    t = np.flatnonzero(replace[1:]) + 1  # replaced frames, t >= 1
    candidates = 3 if opts["pr_mstar"] == "all_heads" else 2  # heads 0..candidates-1
    mstar = confidence[:candidates, t - 1].argmax(axis=0)  # (len(t),) first index wins ties
    out[t] = rows[mstar, t - 1]
    if replace[0] and opts["pr_t0"] == "wrap_release":
        out[0] = rows[_RGB, frames - 1]  # the release's index t - 1 = -1 wraps around

    if hold.any():  # forward fill: a hold frame takes the last non-hold frame's output row
        source = np.where(hold, 0, np.arange(frames))
        np.maximum.accumulate(source, out=source)
        out = out[source]
    replaced = t.size + int(replace[0] and opts["pr_t0"] == "wrap_release")
    logger.debug(
        "PR: %d of %d frames uncertain, %d replaced, %d held (%s)",
        int(uncertain.sum()),
        frames,
        replaced,
        int(hold.sum()),
        ", ".join(f"{name}={value}" for name, value in opts.items()),
    )
    return out
