"""Per-frame I3D features as in the standard MS-TCN archive (Kinetics-FeatureExtractor).

For every frame i the model sees a window of ``window`` (21) inputs centred on i and the
feature is the mean of the T' = 2 outputs of Mixed_5c -> AvgPool3d([2, 7, 7], stride 1).

Window content (h = window // 2):

* RGB: frames i-h .. i+h.
* Flow: the raw flow ``flow[k]`` is the motion from frame k to k+1 (k = 0 .. T-2); frame i uses
  ``flow[i-h] .. flow[i+h]``, i.e. the motion between frames i-h .. i+h+1, one frame past the
  RGB window, as the original extractor.

Boundaries (``padding``):

* ``"extractor"`` (default, what the archive's code does): RGB repeats the first / last frame;
  flow outside 0 .. T-2 is zero (the extractor's flow between repeated first frames, which
  TV-L1 makes ~0, and the zero flow fields it appends at the end).
* ``"zero"`` (what the archive's author described in ms-tcn issue #34): RGB outside the video is
  0 in the normalised [-1, 1] space (mid grey); flow as above.

Windows are gathered batch by batch from the per-frame arrays, so memory holds one batch of
windows, never all T of them.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Literal

import numpy as np
import torch
from tqdm import tqdm

from flow_extraction.i3d import FEATURE_DIM
from flow_extraction.video import resize_short_side_and_center_crop

logger = logging.getLogger(__name__)

Kind = Literal["rgb", "flow"]
Padding = Literal["extractor", "zero"]
PADDINGS = ("extractor", "zero")

WINDOW = 21
SHORT_SIDE = 256
CROP = 224
RGB_CENTER = 127.5
"""RGB is mapped to [-1, 1] by (v - 127.5) / 127.5."""
FLOW_BOUND = 20.0
"""Flow is clipped to [-20, 20] pixels (after the resize) and divided by 20."""
CHANNELS: dict[str, int] = {"rgb": 3, "flow": 2}


def crop_rgb(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, 224, 224, 3) uint8: short side 256, centre crop 224."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    return resize_short_side_and_center_crop(frames, SHORT_SIDE, CROP)


def normalize_rgb(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 in [-1, 1]; float input is returned as float32 unchanged."""
    if frames.dtype == np.uint8:
        return (frames.astype(np.float32) - RGB_CENTER) / RGB_CENTER
    return frames.astype(np.float32, copy=False)


def preprocess_rgb(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, 224, 224, 3) float32 in [-1, 1] (resize, crop, scale)."""
    return normalize_rgb(crop_rgb(frames))


def preprocess_flow(flow: np.ndarray) -> np.ndarray:
    """Raw (T-1, H, W, 2) flow -> (T-1, 224, 224, 2) float32: resize, crop, clip ±20, / 20.

    Displacements are not rescaled for the resize (as the original extractor).
    """
    if flow.ndim != 4 or flow.shape[-1] != 2:
        raise ValueError(f"expected a (T-1, H, W, 2) flow array, got {flow.shape}")
    cropped = resize_short_side_and_center_crop(
        flow.astype(np.float32, copy=False), SHORT_SIDE, CROP
    )
    return np.clip(cropped, -FLOW_BOUND, FLOW_BOUND) / np.float32(FLOW_BOUND)


def window_indices(
    centres: np.ndarray, n_inputs: int, *, kind: Kind, padding: Padding, window: int = WINDOW
) -> tuple[np.ndarray, np.ndarray]:
    """Which input feeds each window position.

    Args:
        centres: (B,) centre frame indices.
        n_inputs: number of per-frame inputs (T frames for RGB, T-1 flows for flow).

    Returns:
        index (B, window) into the inputs (always in range when n_inputs > 0) and
        valid (B, window) bool; invalid positions are filled with zeros.
    """
    if window % 2 != 1 or window < 1:
        raise ValueError(f"window must be odd and positive, got {window}")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    half = window // 2
    wanted = centres[:, None] + np.arange(-half, half + 1)[None, :]  # (B, window)
    valid = (wanted >= 0) & (wanted < n_inputs)
    if kind == "rgb" and padding == "extractor":
        valid = np.ones_like(valid)  # replicate the first / last frame
    index = np.clip(wanted, 0, max(n_inputs - 1, 0))
    return index, valid


def gather_windows(
    inputs: np.ndarray, centres: np.ndarray, *, kind: Kind, padding: Padding, window: int = WINDOW
) -> np.ndarray:
    """(B, C, window, H, W) float32 model input for the given centre frames."""
    n_inputs = len(inputs)
    index, valid = window_indices(centres, n_inputs, kind=kind, padding=padding, window=window)
    if n_inputs == 0:
        clips = np.zeros((*index.shape, *inputs.shape[1:]), np.float32)
    else:
        clips = (
            normalize_rgb(inputs[index])
            if kind == "rgb"
            else inputs[index].astype(np.float32, copy=False)
        )
        if not valid.all():
            clips = clips * valid[:, :, None, None, None]  # (B, window, H, W, C)
    return np.ascontiguousarray(clips.transpose(0, 4, 1, 2, 3))  # (B, C, window, H, W)


def n_frames(inputs: np.ndarray, kind: Kind) -> int:
    """Video length T: one per RGB frame, one more than the number of flow fields."""
    return len(inputs) if kind == "rgb" else len(inputs) + 1


def stream_features(
    inputs: np.ndarray,
    model: torch.nn.Module,
    *,
    kind: Kind,
    padding: Padding = "extractor",
    batch_size: int = 8,
    device: str = "cpu",
    bf16: bool = False,
    window: int = WINDOW,
    progress: bool = False,
    frames: slice | None = None,
    channels_last: bool = True,
) -> np.ndarray:
    """Per-frame features of one stream.

    Args:
        inputs: RGB (T, H, W, 3) in [-1, 1] float32 (or uint8, normalised per batch) or flow
            (T-1, H, W, 2) float32 in [-1, 1] (see :func:`preprocess_rgb`, :func:`preprocess_flow`).
        model: an :class:`InceptionI3d` (anything with ``extract_features`` returning
            (B, D, T', 1, 1)); it is moved to ``device`` and used in eval mode.
        frames: only these centre frames (default: all T).
        channels_last: run the clips and the model in the channels-last 3-D memory layout
            (the model is converted in place). The same arithmetic, summed in another order
            by oneDNN: float32 features differ from the contiguous layout's by float rounding
            only; on this project's 2-core CPU (one thread, batch 4) it is 1.67x faster with
            bf16 and 1.13x in float32 (``benchmarks/bench_i3d.py --layouts``).

    Returns:
        (1024, n) float32, n = T or the number of frames selected.
    """
    if kind not in CHANNELS:
        raise ValueError(f"kind must be 'rgb' or 'flow', got {kind!r}")
    if inputs.ndim != 4 or inputs.shape[-1] != CHANNELS[kind]:
        raise ValueError(f"{kind} inputs must be (N, H, W, {CHANNELS[kind]}), got {inputs.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    total = n_frames(inputs, kind)
    centres = np.arange(total)[frames] if frames is not None else np.arange(total)
    torch_device = torch.device(device)
    layout = torch.channels_last_3d if channels_last else torch.contiguous_format
    model = model.to(torch_device, memory_format=layout).eval()
    out = np.empty((FEATURE_DIM, len(centres)), np.float32)
    autocast = (
        torch.autocast(device_type=torch_device.type, dtype=torch.bfloat16)
        if bf16
        else contextlib.nullcontext()
    )
    bar = tqdm(
        total=len(centres), desc=f"I3D {kind}", unit="frame", disable=not progress, leave=False
    )
    with torch.inference_mode(), bar:
        for start in range(0, len(centres), batch_size):
            batch = centres[start : start + batch_size]
            clips = gather_windows(inputs, batch, kind=kind, padding=padding, window=window)
            x = torch.from_numpy(clips).to(torch_device).contiguous(memory_format=layout)
            with autocast:
                pooled = model.extract_features(x)  # (B, 1024, T', 1, 1)
            features = pooled.float().mean(dim=(2, 3, 4))  # (B, 1024): mean of the T' outputs
            out[:, start : start + len(batch)] = features.cpu().numpy().T
            bar.update(len(batch))
    return out


def video_features(
    frames_rgb: np.ndarray,
    flow: np.ndarray,
    rgb_model: torch.nn.Module,
    flow_model: torch.nn.Module,
    **kwargs,
) -> np.ndarray:
    """(2048, T) float32 features of one video: RGB rows 0-1023, flow rows 1024-2047.

    Args:
        frames_rgb: raw (T, H, W, 3) uint8 frames at native resolution.
        flow: raw (T-1, H', W', 2) TV-L1 flow (unclipped, native resolution).
        **kwargs: passed to :func:`stream_features` (padding, batch_size, device, bf16, ...).
    """
    if len(flow) != len(frames_rgb) - 1:
        raise ValueError(
            f"{len(frames_rgb)} frames need {len(frames_rgb) - 1} flow fields, got {len(flow)}"
        )
    rgb = stream_features(
        crop_rgb(frames_rgb), rgb_model, kind="rgb", **kwargs
    )  # uint8 kept: 4x less memory
    flow_features = stream_features(preprocess_flow(flow), flow_model, kind="flow", **kwargs)
    return np.concatenate([rgb, flow_features], axis=0)
