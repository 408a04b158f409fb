"""TV-L1 optical flow between consecutive frames (OpenCV contrib, CPU).

The features archive was made with OpenCV 2.4's GPU Dual TV-L1 at its default parameters
on consecutive grayscale frames at the video's native resolution (docs/features.md). No GPU
TV-L1 exists in today's wheels, so this uses the CPU implementation
``cv2.optflow.DualTVL1OpticalFlow`` with every parameter set explicitly to the same defaults
(:data:`TVL1_PARAMS`), so a change of OpenCV's defaults cannot change our flow.
Results are bit-identical across thread counts for one OpenCV version; record the version
with every cached flow (:mod:`flow_extraction.flow_io`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

import cv2
import numpy as np
from tqdm import tqdm

logger = logging.getLogger(__name__)

TVL1_PARAMS: Mapping[str, float | int] = MappingProxyType(
    {
        "tau": 0.25,
        "lambda": 0.15,
        "theta": 0.3,
        "nscales": 5,
        "warps": 5,
        "epsilon": 0.01,
        "inner_iterations": 30,
        "outer_iterations": 10,
        "scale_step": 0.8,
        "gamma": 0.0,
        "median_filtering": 5,
    }
)
"""Pinned Dual TV-L1 parameters (OpenCV's defaults; gamma 0 = no illumination term)."""

_SETTERS = {
    "tau": "setTau",
    "lambda": "setLambda",
    "theta": "setTheta",
    "nscales": "setScalesNumber",
    "warps": "setWarpingsNumber",
    "epsilon": "setEpsilon",
    "inner_iterations": "setInnerIterations",
    "outer_iterations": "setOuterIterations",
    "scale_step": "setScaleStep",
    "gamma": "setGamma",
    "median_filtering": "setMedianFiltering",
}


def opencv_version() -> str:
    """The OpenCV version string recorded with every flow."""
    return str(cv2.__version__)


def create_tvl1() -> cv2.optflow.DualTVL1OpticalFlow:
    """A DualTVL1 solver with every parameter of :data:`TVL1_PARAMS` set explicitly."""
    solver = cv2.optflow.DualTVL1OpticalFlow_create()
    for name, value in TVL1_PARAMS.items():
        getattr(solver, _SETTERS[name])(value)
    solver.setUseInitialFlow(False)
    return solver


@contextmanager
def opencv_threads(threads: int | None) -> Iterator[None]:
    """Set OpenCV's thread count for the block and restore the previous value afterwards."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    previous = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)


def iter_flow(frames: Iterable[np.ndarray], *, threads: int | None = None) -> Iterator[np.ndarray]:
    """Stream TV-L1 flow: one (H, W, 2) float32 field (x, y) per consecutive frame pair.

    Args:
        frames: (H, W, 3) uint8 RGB frames of one size, e.g. from
            :func:`flow_extraction.video.iter_frames`; only one previous frame is kept.
        threads: OpenCV threads while the generator runs (None: OpenCV's setting); the
            previous value is restored when it finishes or is closed.
    """
    with opencv_threads(threads):
        solver = create_tvl1()
        previous, first_shape = None, None
        for index, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
                raise ValueError(
                    f"frame {index}: expected (H, W, 3) uint8 RGB, got {frame.shape} {frame.dtype}"
                )
            if first_shape is None:
                first_shape = frame.shape
            elif frame.shape != first_shape:
                raise ValueError(f"frame {index} is {frame.shape}, frame 0 was {first_shape}")
            current = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            if previous is not None:
                yield solver.calc(previous, current, None)
            previous = current


def compute_flow(
    frames: np.ndarray, *, threads: int | None = None, progress: bool = False
) -> np.ndarray:
    """Raw TV-L1 flow between consecutive frames.

    Args:
        frames: (T, H, W, 3) uint8 RGB, T >= 2, at the resolution the flow is wanted at
            (the protocol uses the native video resolution).
        threads: OpenCV threads for this call (None: leave OpenCV's setting alone).
        progress: show a progress bar over frame pairs.

    Returns:
        (T-1, H, W, 2) float32 displacements (x, y) in pixels from frame t to frame t+1,
        unclipped and unscaled.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(
            f"expected (T, H, W, 3) uint8 RGB frames, got {frames.shape} {frames.dtype}"
        )
    n_frames, height, width, _ = frames.shape
    if n_frames < 2:
        raise ValueError(f"need at least 2 frames for flow, got {n_frames}")
    flow = np.empty((n_frames - 1, height, width, 2), dtype=np.float32)
    pairs = iter_flow(frames, threads=threads)
    bar = tqdm(
        pairs, total=n_frames - 1, desc="TV-L1", unit="pair", disable=not progress, leave=False
    )
    for t, field in enumerate(bar):
        flow[t] = field
    logger.debug("TV-L1 on %d frame pairs at %dx%d", n_frames - 1, width, height)
    return flow
