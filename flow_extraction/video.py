"""Video decoding and the extractor's spatial transform (short-side resize + centre crop).

Frames are decoded with OpenCV (FFmpeg backend); when OpenCV cannot open a file or
decodes no frame from it, PyAV is tried. Frames are returned at native resolution as
RGB uint8. :func:`resize_short_side_and_center_crop` is the spatial rule of the
Kinetics feature extractor (docs/features.md): shorter side to 256 keeping
the aspect ratio, then a 224 x 224 centre crop; it is applied unchanged to flow fields,
whose displacement values are *not* rescaled for the resize.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from relate.errors import DataError

logger = logging.getLogger(__name__)

RESIZE_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.float32, np.float64)
"""Array dtypes :func:`resize_short_side_and_center_crop` accepts (those cv2.resize takes)."""


def _iter_opencv(path: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB frames decoded by OpenCV; stops at the first unreadable frame."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            return
        count = 0
        while max_frames is None or count < max_frames:
            ok, bgr = capture.read()
            if not ok or bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
                return  # end of stream, a decode error or an unusual pixel format
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            count += 1
    finally:
        capture.release()


def _iter_pyav(path: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """(H, W, 3) uint8 RGB frames decoded by PyAV (first video stream).

    Raises:
        DataError: the file cannot be opened or has no video stream; an error after the
            first frame ends the stream with a logged warning instead.
    """
    import av  # only needed on the fallback path

    count = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(path, "no video stream in the file")
            for frame in container.decode(video=0):
                if max_frames is not None and count >= max_frames:
                    return
                yield frame.to_ndarray(format="rgb24")
                count += 1
    except av.FFmpegError as error:
        if not count:
            raise DataError(path, f"cannot decode video ({error})") from None
        logger.warning("%s: decoding stopped after %d frames: %s", path, count, error)


def iter_frames(path: Path, *, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Decode a video frame by frame: (H, W, 3) uint8 RGB at native resolution.

    OpenCV decodes; if it cannot open the file or decodes no frame, PyAV is used. The file
    is opened and its first frame decoded before this returns, so errors raise here.

    Raises:
        DataError: the file is missing, or neither OpenCV nor PyAV decodes a frame.
    """
    path = Path(path)
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be >= 1 or None, got {max_frames}")
    if not path.is_file():
        raise DataError(path, "video file not found")
    frames = _iter_opencv(path, max_frames)
    first = next(frames, None)
    if first is None:
        logger.debug("%s: OpenCV decoded no frame; trying PyAV", path)
        frames = _iter_pyav(path, max_frames)
        first = next(frames, None)
        if first is None:
            raise DataError(path, "no frames could be decoded")
    return itertools.chain([first], frames)


def decode_opencv(path: Path, max_frames: int | None = None) -> np.ndarray | None:
    """Frames (T, H, W, 3) uint8 RGB decoded by OpenCV only, or None if it decodes nothing."""
    frames = list(_iter_opencv(Path(path), max_frames))
    return np.stack(frames) if frames else None


def decode_pyav(path: Path, max_frames: int | None = None) -> np.ndarray:
    """Frames (T, H, W, 3) uint8 RGB decoded by PyAV only (DataError if it decodes nothing)."""
    frames = list(_iter_pyav(Path(path), max_frames))
    if not frames:
        raise DataError(path, "no frames could be decoded")
    return np.stack(frames)


def read_frames(path: Path, *, max_frames: int | None = None) -> np.ndarray:
    """Decode a whole video into frames (T, H, W, 3) uint8 RGB at native resolution.

    Args:
        path: video file (any container/codec FFmpeg reads: .mp4, .avi, ...).
        max_frames: stop after this many frames (None: the whole video).

    Raises:
        DataError: the file is missing, or neither OpenCV nor PyAV decodes a frame.
    """
    return np.stack(list(iter_frames(path, max_frames=max_frames)))


def resized_shape(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(new_height, new_width) with the shorter side ``short_side``, aspect ratio kept.

    As the original extractor: one float32 scale factor ``short_side / shorter side``,
    both sides multiplied by it and rounded half away from zero.
    """
    scale = np.float32(short_side) / np.float32(min(height, width))
    new_h = int(np.floor(np.float32(height) * scale + np.float32(0.5)))
    new_w = int(np.floor(np.float32(width) * scale + np.float32(0.5)))
    return new_h, new_w


def resize_short_side(array: np.ndarray, short_side: int = 256) -> np.ndarray:
    """Resize every frame of (T, H, W, C) so its shorter side is ``short_side`` (no crop).

    The first half of :func:`resize_short_side_and_center_crop`, with the same rounding
    and interpolation, and a no-op when the shorter side already is ``short_side``; so
    cropping its output gives exactly what cropping the original would.
    """
    _check_resizable(array)
    n, height, width, channels = array.shape
    new_h, new_w = resized_shape(height, width, short_side)
    if (new_h, new_w) == (height, width):
        return array
    out = np.empty((n, new_h, new_w, channels), dtype=array.dtype)
    for i in range(n):
        resized = cv2.resize(array[i], (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        out[i] = resized.reshape(new_h, new_w, channels)  # cv2 drops a single channel axis
    return out


def _check_resizable(array: np.ndarray) -> None:
    if array.ndim != 4:
        raise ValueError(f"expected a (T, H, W, C) array, got shape {array.shape}")
    if array.dtype.type not in RESIZE_DTYPES:
        raise ValueError(f"unsupported dtype {array.dtype} (use one of {RESIZE_DTYPES})")


def resize_short_side_and_center_crop(
    array: np.ndarray, short_side: int = 256, crop: int = 224
) -> np.ndarray:
    """Resize every frame so its shorter side is ``short_side``, then centre-crop to ``crop``².

    Works on (T, H, W, C) arrays of any channel count and of the dtypes in
    :data:`RESIZE_DTYPES` (frames uint8 C=3, flow float32 C=2). Bilinear interpolation
    (cv2.INTER_LINEAR); values are not rescaled, so flow displacements keep the units of
    the original resolution, as in the original extractor.

    Returns:
        (T, crop, crop, C) array of the input dtype.
    """
    _check_resizable(array)
    if not 1 <= crop <= short_side:
        raise ValueError(f"need 1 <= crop <= short_side, got crop={crop}, short_side={short_side}")
    n, height, width, channels = array.shape
    new_h, new_w = resized_shape(height, width, short_side)
    top, left = new_h // 2 - crop // 2, new_w // 2 - crop // 2  # the extractor's crop origin
    out = np.empty((n, crop, crop, channels), dtype=array.dtype)
    for i in range(n):
        frame = array[i]
        if (new_h, new_w) != (height, width):
            frame = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
            frame = frame.reshape(new_h, new_w, channels)  # cv2 drops a single channel axis
        out[i] = frame[top : top + crop, left : left + crop]
    return out


VIDEO_FORMATS = ("mp4", "avi")
"""Containers :func:`write_video` writes: mp4 = H.264 (PyAV/libx264), avi = FFV1 (OpenCV)."""


def write_video(path: Path, frames: np.ndarray, fps: float, *, crf: int = 17) -> None:
    """Encode frames (T, H, W, 3) uint8 RGB to ``path`` (not atomic: write to a temp path).

    The container follows the suffix: ``.mp4`` is H.264 yuv420p through PyAV/libx264
    (OpenCV cannot write H.264 here) with quality ``crf`` and one encoder thread, so the
    bytes are reproducible; ``.avi`` is lossless FFV1 through OpenCV. H and W must be even.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind not in VIDEO_FORMATS:
        raise ValueError(f"{path}: unsupported video suffix (use one of {VIDEO_FORMATS})")
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    _, height, width, _ = frames.shape
    if height % 2 or width % 2:
        raise ValueError(f"frame size must be even, got {width}x{height}")
    if kind == "mp4":
        _write_h264(path, frames, fps, crf)
    else:
        _write_ffv1(path, frames, fps)


def _write_h264(path: Path, frames: np.ndarray, fps: float, crf: int) -> None:
    from fractions import Fraction

    import av

    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium", "threads": "1"}
        for frame in frames:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))


def _write_ffv1(path: Path, frames: np.ndarray, fps: float) -> None:
    size = (frames.shape[2], frames.shape[1])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), float(fps), size)
    try:
        if not writer.isOpened():
            raise DataError(path, "OpenCV cannot open an FFV1 video writer")
        for frame in frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
