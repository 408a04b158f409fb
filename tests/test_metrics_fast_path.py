"""The integer fast path of relate.evaluation.metrics against the pure-Python oracles.

Narrow id dtypes, scans split into many blocks, GT padding codes, per-video scores, edge
videos (background only, one frame, one class) and the vectorised kernels on their own.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_metrics import fact_oracle, perturbed_split, release_oracle

from relate.evaluation import metrics_scan
from relate.evaluation.metrics import (
    CONVENTIONS,
    METRIC_KEYS,
    id_dtype,
    score_split,
    score_split_and_videos,
)
from relate.evaluation.metrics_reference import levenshtein, score_split_reference
from relate.evaluation.metrics_segments import Segments, _count_before, edit_distances

ORACLES = {
    "standard": score_split_reference,
    "fact": fact_oracle,
    "relate_release": release_oracle,
}
DTYPES = ("int8", "uint8", "int16", "int32", "int64")


def check_all(predictions, truths, background, conventions=CONVENTIONS) -> None:
    """Every convention equals its oracle, and each video alone equals the per-video score."""
    for convention in conventions:
        if convention == "relate_release" and len(background) > 1:
            continue
        as_lists = [list(p) for p in predictions], [list(t) for t in truths]
        expected = ORACLES[convention](*as_lists, background)
        split, videos = score_split_and_videos(predictions, truths, background, convention)
        assert score_split(predictions, truths, background, convention) == split == expected
        for p, t, scores in zip(predictions, truths, videos):
            assert scores == score_split([p], [t], background, convention)
            assert scores == ORACLES[convention]([list(p)], [list(t)], background)


@pytest.fixture(params=[16, 1 << 18], ids=["tiny-blocks", "default-blocks"])
def block_bytes(request, monkeypatch) -> int:
    """Scan in blocks of a few frames (videos longer than a block included) or as shipped."""
    monkeypatch.setattr(metrics_scan, "BLOCK_BYTES", request.param)
    return request.param


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("dtype", DTYPES)
def test_id_arrays_of_any_width_equal_the_oracles(seed: int, dtype: str, block_bytes) -> None:
    predictions, truths, background = perturbed_split(seed)  # some predictions are longer
    check_all(
        [np.asarray(p, dtype=dtype) for p in predictions],
        [np.asarray(t, dtype=dtype) for t in truths],
        background,
    )


def runs(*pairs: tuple[int, int]) -> list[int]:
    return [label for label, length in pairs for _ in range(length)]


EDGE_SPLITS = {
    "background only, both sides": ([runs((0, 5)), runs((0, 1))], [runs((0, 5)), runs((0, 1))]),
    "background-only GT, a predicted segment": ([runs((0, 2), (1, 3))], [runs((0, 5))]),
    "background-only prediction": ([runs((0, 6))], [runs((1, 2), (0, 1), (2, 3))]),
    "single frames": ([[1], [2], [0], [1]], [[1], [1], [0], [0]]),
    "one class everywhere": ([runs((3, 40))] * 3, [runs((3, 40))] * 3),
    "one class, all wrong": ([runs((2, 7))], [runs((3, 7))]),
    "alternating every frame": ([[1, 2] * 20], [[2, 1] * 20]),
    "long next to short": (
        [runs((1, 300), (2, 1), (1, 299)), [2]],
        [runs((1, 600)), [2]],
    ),
}


@pytest.mark.parametrize("case", sorted(EDGE_SPLITS))
@pytest.mark.parametrize("background", [(), (0,)])
def test_edge_videos_equal_the_oracles(case: str, background: tuple, block_bytes) -> None:
    predictions, truths = EDGE_SPLITS[case]
    check_all(predictions, truths, background)  # int lists: the dictionary path
    for dtype in ("int8", "int64"):
        as_arrays = [np.array(p, dtype) for p in predictions], [np.array(t, dtype) for t in truths]
        check_all(*as_arrays, background)
    names = [[f"c{x}" for x in p] for p in predictions], [[f"c{x}" for x in t] for t in truths]
    check_all(*names, tuple(f"c{x}" for x in background))


def test_padding_code_is_below_every_label() -> None:
    # A longer prediction pads its GT with a code no label has, whatever the dtype holds.
    low8 = np.array([-128, -128, 5], np.int8), np.array([-128, 5], np.int8)
    low64 = np.array([-(2**63), 3, 3], np.int64), np.array([-(2**63), 3], np.int64)
    negative = np.array([-1, -1, -2, 0], np.int64), np.array([-1, -1, -2], np.int64)
    unsigned = np.array([0, 255, 255], np.uint8), np.array([0, 255], np.uint8)
    huge = np.array([2**64 - 1, 0, 0], np.uint64), np.array([2**64 - 1, 0], np.uint64)
    for predicted, truth in (low8, low64, negative, unsigned, huge):
        check_all([predicted], [truth], (), ("standard", "fact"))
        check_all([predicted], [truth], (truth[0].item(),), ("standard", "fact"))


def test_bool_labels_and_background_by_value() -> None:
    predicted = np.array([True, True, False, True]), np.array([False, True])
    truth = np.array([True, False, False, True]), np.array([False, False])
    for background in [(), (True,), (1,), (0,), (False, True)]:
        check_all(list(predicted), list(truth), background)
    ids = [np.array([0, 2, 2, 1], np.int8)], [np.array([0, 2, 1, 1], np.int8)]
    for same in [(2,), (2.0,), (np.int64(2),), (np.int8(2),)]:
        assert score_split(*ids, same) == score_split_reference(*ids, [2])
    for absent in [(300,), (-(2**70),), ("2",), (2.5,), (None,)]:
        assert score_split(*ids, absent) == score_split(*ids, ())


def test_mixed_dtypes_and_non_contiguous_arrays() -> None:
    predictions, truths, background = perturbed_split(3)
    strided = [np.repeat(np.asarray(p, np.int16), 2)[::2] for p in predictions]
    mixed = [np.asarray(t, np.int64 if i % 2 else np.int8) for i, t in enumerate(truths)]
    check_all(strided, mixed, background)


def test_id_dtype_is_the_narrowest_signed_dtype() -> None:
    assert [id_dtype(n) for n in (0, 47, 127, 128, 32767, 32768, 2**31)] == [
        np.int8,
        np.int8,
        np.int8,
        np.int16,
        np.int16,
        np.int32,
        np.int64,
    ]


def test_per_video_scores_keep_the_metric_keys() -> None:
    split, videos = score_split_and_videos([[1, 1, 2]], [[1, 2, 2]], (), "standard", ["v"])
    assert list(split) == list(METRIC_KEYS) == list(videos[0])


# --- the kernels on their own ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_count_before_equals_searchsorted(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = np.sort(rng.integers(0, 40, int(rng.integers(0, 30))))
    keys = np.sort(rng.integers(0, 40, int(rng.integers(0, 30))))
    for ties_before, side in ((True, "right"), (False, "left")):
        expected = np.searchsorted(values, keys, side=side)
        assert np.array_equal(_count_before(values, keys, ties_before), expected)


def segments_of(labels: list[list[int]]) -> Segments:
    """Segments with the given per-video label sequences (positions are not used by Edit)."""
    counts = [len(x) for x in labels]
    flat = np.array([x for video in labels for x in video], dtype=np.int64)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    positions = np.arange(flat.size)
    return Segments(flat, positions, positions + 1, offsets)


@pytest.mark.parametrize("seed", range(30))
def test_edit_distances_equal_levenshtein(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_videos = int(rng.integers(1, 12))
    sizes = lambda: rng.choice([0, 1, 2, 5, 20, 90], n_videos)  # noqa: E731
    first = [rng.integers(0, 4, n).tolist() for n in sizes()]
    second = [rng.integers(0, 4, n).tolist() for n in sizes()]
    distances = edit_distances(segments_of(first), segments_of(second))
    assert distances.tolist() == [levenshtein(a, b) for a, b in zip(first, second)]
