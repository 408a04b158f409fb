"""A split as per-video integer code arrays, aligned and checked: the input of
:mod:`relate.evaluation.metrics_scan`.

Integer label arrays (the fast input, ideally of :func:`id_dtype`) are used as they are;
any other labels (``str`` lists, mixed types) go through one shared dictionary.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np

PAST_TRUTH = -1
"""Code of GT frames past the GT's end when a prediction is longer (dictionary encoding;
integer labels use a code below their dtype's range, see :func:`_pad_code`)."""
WIDER = {"b": np.int8, "u1": np.int16, "i1": np.int16, "u2": np.int32, "i2": np.int32}
WIDER |= {"u4": np.int64, "i4": np.int64}


def id_dtype(max_id: int) -> np.dtype:
    """The narrowest signed integer dtype that holds the ids ``0..max_id``."""
    for dtype in (np.int8, np.int16, np.int32):
        if max_id <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


@dataclass(frozen=True)
class EncodedSplit:
    """A split as integer codes, one array per video and side, both sides of equal length.

    Video ``v`` has frames ``[bounds[v], bounds[v + 1])`` on the split's frame axis. Where
    a prediction runs past its GT, the GT is padded with a code that is in ``background``
    and never a predicted code.
    """

    predicted: list[np.ndarray]
    truth: list[np.ndarray]
    bounds: np.ndarray
    background: np.ndarray
    truth_lengths: np.ndarray
    """GT frames of each video scored by Acc."""
    truth_frames: int
    dtype: np.dtype | None
    """The dtype of every array, or None if they differ."""

    @property
    def n_videos(self) -> int:
        return self.bounds.size - 1


def encode_split(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Sequence[Any],
    truncate_truth: bool,
    names: Sequence[str] | None = None,
) -> EncodedSplit:
    """Check lengths, align each prediction to its GT, and integer-encode the split.

    ``truncate_truth=False`` (standard/fact): a shorter prediction raises; a longer one is
    kept whole and its GT is padded. ``True`` (release): both are cut to the shorter length.
    """
    n_videos = len(ground_truths)
    if len(predictions) != n_videos:
        raise ValueError(f"{len(predictions)} predictions but {n_videos} ground truths")
    if n_videos == 0:
        raise ValueError("cannot score an empty split (no videos)")
    if names is not None and len(names) != n_videos:
        raise ValueError(f"{len(names)} names for {n_videos} videos")

    def video(index: int) -> str:
        return names[index] if names is not None else f"video {index}"

    truth_lengths = np.fromiter(map(len, ground_truths), dtype=np.int64, count=n_videos)
    predicted_lengths = np.fromiter(map(len, predictions), dtype=np.int64, count=n_videos)
    lengths = np.minimum(truth_lengths, predicted_lengths)
    same_lengths = bool(np.array_equal(truth_lengths, predicted_lengths))
    padded = not same_lengths and not truncate_truth
    if padded:
        short = np.flatnonzero(predicted_lengths < truth_lengths)
        if short.size:
            i = int(short[0])
            raise ValueError(
                f"{video(i)}: prediction has {predicted_lengths[i]} frames, shorter than its "
                f"ground truth ({truth_lengths[i]} frames)"
            )
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        i = int(empty[0])
        raise ValueError(
            f"{video(i)}: no frames to score (prediction {predicted_lengths[i]}, "
            f"ground truth {truth_lengths[i]})"
        )
    bounds = np.zeros(n_videos + 1, dtype=np.int64)
    np.cumsum(predicted_lengths if padded else lengths, out=bounds[1:])
    args = (predictions, ground_truths, background, lengths, bounds, same_lengths)
    dtypes = _integer_dtypes(predictions, ground_truths)
    encoded = _encode_integers(*args) if dtypes else None
    predicted, truth, codes = encoded or _encode_any(*args)
    if encoded is None:
        dtypes = {np.dtype(np.int64)}
    elif not same_lengths and int(bounds[-1]) > int(lengths.sum()):
        dtypes = set()  # padding has a wider dtype
    dtype = next(iter(dtypes)) if len(dtypes) == 1 else None
    return EncodedSplit(predicted, truth, bounds, codes, lengths, int(lengths.sum()), dtype)


def _integer_dtypes(*sides: Sequence[Any]) -> set[np.dtype]:
    """The dtypes if every sequence is a 1-D integer (or bool) numpy array, else an empty
    set (C-level checks)."""
    for sequences in sides:
        if not all(map(isinstance, sequences, itertools.repeat(np.ndarray))):
            return set()
        if set(map(attrgetter("ndim"), sequences)) != {1}:
            return set()
    dtypes = set(map(attrgetter("dtype"), itertools.chain(*sides)))
    # (uint64 with int64 promotes to float)
    return dtypes if np.result_type(*dtypes).kind in "iub" else set()


def _encode_integers(
    predictions: Sequence[np.ndarray],
    ground_truths: Sequence[np.ndarray],
    background: Sequence[Any],
    lengths: np.ndarray,
    bounds: np.ndarray,
    same_lengths: bool,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray] | None:
    """The arrays as they are (cut or padded where lengths differ) and the background
    codes; None where no padding code exists (uint64, or int64 holding its minimum)."""
    codes = _integral_codes(background)
    if same_lengths:
        return list(predictions), list(ground_truths), codes
    widths = np.diff(bounds).tolist()
    predicted = [s if len(s) == n else s[:n] for s, n in zip(predictions, widths)]
    truth = [s if len(s) == n else s[:n] for s, n in zip(ground_truths, lengths.tolist())]
    if bounds[-1] == lengths.sum():  # release: both sides cut to the shorter length
        return predicted, truth, codes
    pad = _pad_code(predictions, ground_truths)
    if pad is None:
        return None
    code, dtype = pad
    for v in np.flatnonzero(np.diff(bounds) > lengths).tolist():
        extra = np.full(widths[v] - len(truth[v]), code, dtype=dtype)
        truth[v] = np.concatenate([truth[v], extra])
    return predicted, truth, np.append(codes, code)


def _pad_code(*sides: Sequence[np.ndarray]) -> tuple[int, np.dtype] | None:
    """A code below every label (in a dtype wide enough for it), None if there is none."""
    dtype = np.result_type(*set(map(attrgetter("dtype"), itertools.chain(*sides))))
    key = "b" if dtype.kind == "b" else f"{dtype.kind}{dtype.itemsize}"
    if key in WIDER:
        code = -1 if dtype.kind in "bu" else int(np.iinfo(dtype).min) - 1
        return code, np.dtype(WIDER[key])
    if dtype.kind != "i":
        return None  # uint64: no signed dtype holds all its values
    low = min(int(s.min()) for s in itertools.chain(*sides))
    return (low - 1, dtype) if low > np.iinfo(dtype).min else None


def _integral_codes(background: Iterable[Any]) -> np.ndarray:
    """The background labels that equal an integer (``2``, ``2.0``, ``True``), as int64.

    No other label can occur in an integer array; out-of-range codes never match.
    """
    codes = []
    for label in background:
        if isinstance(label, (str, bytes)):
            continue
        try:
            value = int(label)
        except (TypeError, ValueError, OverflowError):
            continue
        if value == label and np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max:
            codes.append(value)
    return np.array(codes, dtype=np.int64)


def _encode_any(
    predictions: Sequence[Any],
    ground_truths: Sequence[Any],
    background: Sequence[Any],
    lengths: np.ndarray,
    bounds: np.ndarray,
    same_lengths: bool,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Any label type: one shared dictionary gives every distinct label a code."""
    table: defaultdict[Any, int] = defaultdict(itertools.count().__next__)
    widths = np.diff(bounds).tolist()
    total = int(bounds[-1])
    padded = total > lengths.sum()

    def encode(sequences: Sequence[Any], cut: list[int]) -> np.ndarray:
        frames = itertools.chain.from_iterable(
            itertools.islice(_as_iterable(s), n) for s, n in zip(sequences, cut)
        )
        return np.fromiter(map(table.__getitem__, frames), dtype=np.int64, count=total)

    def encode_padded_truth() -> np.ndarray:
        frames = itertools.chain.from_iterable(
            itertools.chain(
                map(table.__getitem__, _as_iterable(s)), itertools.repeat(PAST_TRUTH, n - len(s))
            )
            for s, n in zip(ground_truths, widths)
        )
        return np.fromiter(frames, dtype=np.int64, count=total)

    # GT first, as before: the codes (and so nothing scored) do not depend on the order.
    truth = encode_padded_truth() if padded else encode(ground_truths, widths)
    predicted = encode(predictions, widths)
    codes = [table[b] for b in background] + ([PAST_TRUTH] if padded else [])
    split_at = bounds[1:-1]
    return np.split(predicted, split_at), np.split(truth, split_at), np.array(codes, np.int64)


def _as_iterable(sequence: Any) -> Any:
    if not isinstance(sequence, np.ndarray):
        return sequence
    if sequence.ndim != 1:
        raise ValueError(f"a video's labels must be 1-D, got shape {sequence.shape}")
    return sequence.tolist()
