"""Property tests of relate.evaluation.metrics on run-length-encoded random label sequences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relate.evaluation.metrics import (
    CONVENTIONS,
    METRIC_KEYS,
    OVERLAPS,
    score_split,
    score_split_and_videos,
)
from relate.evaluation.metrics_reference import score_split_reference

LABELS = "abcde"
BACKGROUND = "e"
PROPERTY_SETTINGS = settings(max_examples=100, deadline=None)

Video = tuple[list[str], list[str]]


def expand(runs: list[tuple[str, int]]) -> list[str]:
    return [label for label, length in runs for _ in range(length)]


@st.composite
def run_lengths(draw: st.DrawFn, max_runs: int = 10, max_length: int = 12) -> list[str]:
    """Frames drawn as runs: (label, length) pairs; equal neighbours merge into one run."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(LABELS), st.integers(1, max_length)),
            min_size=1,
            max_size=max_runs,
        )
    )
    return expand(pairs)


@st.composite
def videos(draw: st.DrawFn) -> Video:
    """(prediction, GT) of equal length; the prediction is independent runs, cut or padded."""
    truth = draw(run_lengths())
    predicted = draw(run_lengths())
    if len(predicted) < len(truth):
        predicted += [predicted[-1]] * (len(truth) - len(predicted))
    return predicted[: len(truth)], truth


splits = st.lists(videos(), min_size=1, max_size=4)
backgrounds = st.sampled_from([(), (BACKGROUND,)])


def unzip(split: list[Video]) -> tuple[list[list[str]], list[list[str]]]:
    return [p for p, _ in split], [t for _, t in split]


@PROPERTY_SETTINGS
@given(truths=st.lists(run_lengths(), min_size=1, max_size=4), background=backgrounds)
def test_perfect_prediction_scores_100(truths: list[list[str]], background: tuple) -> None:
    # Epsilons keep the fact/release F1 just below 100. The release gives F1 0 to a video
    # without predicted segments, so it needs a segment in every video.
    has_segment = [any(label not in background for label in truth) for truth in truths]
    if any(has_segment):
        assert score_split(truths, truths, background) == dict.fromkeys(METRIC_KEYS, 100.0)
        fact = score_split(truths, truths, background, "fact")
        assert all(value > 99.99 for value in fact.values())
    if all(has_segment):
        release = score_split(truths, truths, background, "relate_release")
        assert all(value > 99.99 for value in release.values())


@PROPERTY_SETTINGS
@given(split=splits, background=backgrounds)
def test_scores_within_0_and_100(split: list[Video], background: tuple) -> None:
    predictions, truths = unzip(split)
    for convention in CONVENTIONS:
        result = score_split(predictions, truths, background, convention)
        assert set(result) == set(METRIC_KEYS)
        assert all(0.0 <= value <= 100.0 for value in result.values()), (convention, result)


@PROPERTY_SETTINGS
@given(split=splits, background=backgrounds, permutation=st.permutations(LABELS))
def test_consistent_relabelling_changes_nothing(
    split: list[Video], background: tuple, permutation: list[str]
) -> None:
    rename = dict(zip(LABELS, permutation))
    predictions, truths = unzip(split)
    renamed_predictions = [[rename[x] for x in p] for p in predictions]
    renamed_truths = [[rename[x] for x in t] for t in truths]
    renamed_background = tuple(rename[x] for x in background)
    for convention in CONVENTIONS:
        assert score_split(predictions, truths, background, convention) == score_split(
            renamed_predictions, renamed_truths, renamed_background, convention
        )


@PROPERTY_SETTINGS
@given(split=splits, background=backgrounds, factor=st.integers(2, 5))
def test_repeating_every_frame_changes_nothing(
    split: list[Video], background: tuple, factor: int
) -> None:
    # Segment sequences are unchanged (Edit), IoUs are k*inter / k*union (F1: the float64
    # division of the same rational), and Acc is k*correct / k*frames.
    predictions, truths = unzip(split)
    stretch = lambda frames: [x for x in frames for _ in range(factor)]  # noqa: E731
    stretched = [stretch(p) for p in predictions], [stretch(t) for t in truths]
    for convention in ("standard", "fact"):
        assert score_split(predictions, truths, background, convention) == score_split(
            *stretched, background, convention
        )
    # The release's float32 IoU epsilon depends on the union, so only Acc and Edit.
    release = score_split(predictions, truths, background, "relate_release")
    release_stretched = score_split(*stretched, background, "relate_release")
    for key in ("acc", "edit"):
        assert release[key] == release_stretched[key]


@PROPERTY_SETTINGS
@given(split=splits, background=backgrounds)
def test_equals_pure_python_reference(split: list[Video], background: tuple) -> None:
    predictions, truths = unzip(split)
    assert score_split(predictions, truths, background) == score_split_reference(
        predictions, truths, background
    )


# --- IoU exactly at a threshold -------------------------------------------------------------

EXACT_RATIOS = [(1, 10), (1, 4), (1, 2)]  # IoU = 1/10, 1/4, 1/2 at thresholds OVERLAPS


@PROPERTY_SETTINGS
@given(ratio=st.sampled_from(range(3)), scale=st.integers(1, 400))
def test_iou_exactly_at_threshold_is_a_true_positive(ratio: int, scale: int) -> None:
    # GT: one segment of den*scale frames. Prediction: its first num*scale frames, then
    # another label: the first predicted segment has IoU num/den exactly, computed by
    # division (inter/union >= k), so it is a TP at k; the other label is an FP.
    # TP 1 FP 1 FN 0 -> P 1/2, R 1 -> F1 2/3 at k.
    num, den = EXACT_RATIOS[ratio]
    overlap = OVERLAPS[ratio]
    truth = ["a"] * (den * scale)
    predicted = ["a"] * (num * scale) + ["b"] * ((den - num) * scale)
    key = f"f1@{round(overlap * 100)}"
    assert score_split([predicted], [truth])[key] == pytest.approx(200 / 3)
    # The release keeps 1e-6 in float32 only for unions under 32 frames (then an FP; the
    # skipped "b" leaves TP 0 FP 1 FN 1 -> 0) and drops it from 32 on (TP only -> ~100).
    release = score_split([predicted], [truth], (), "relate_release")[key]
    assert release == 0.0 if den * scale < 32 else release > 99.99


def test_division_not_reciprocal_multiplication() -> None:
    # IoU 49/98 = 1/2 and 7/70 = 1/10 exactly. The float64 division gives exactly 0.5 and
    # 0.1 (the threshold literals), so both are TPs. A vectorised "inter * (1/union)"
    # rounds twice and falls just below: 49 * (1/98) = 0.49999999999999994 and
    # 7 * (1/70) = 0.09999999999999999, which would make them FPs.
    # The literal "inter >= k*union" gives the division's answer for 0.1, 0.25 and 0.5 on
    # every union up to 20,000 (checked when this test was written): 0.1 * 10n rounds to n.
    # It disagrees only at other thresholds, e.g. 55 >= 0.55 * 100 is False (the product
    # rounds to 55.00000000000001) while 55 / 100 >= 0.55 is True.
    assert 49 * (1 / 98) < 0.5 <= 49 / 98 and 7 * (1 / 70) < 0.1 <= 7 / 70
    assert not 55 >= 0.55 * 100 and 55 / 100 >= 0.55
    half = score_split([["a"] * 49 + ["b"] * 49], [["a"] * 98])
    tenth = score_split([["a"] * 7 + ["b"] * 63], [["a"] * 70])
    assert half["f1@50"] == pytest.approx(200 / 3)  # TP 1, FP 1 (b), FN 0
    assert tenth["f1@10"] == pytest.approx(200 / 3)
    assert (tenth["f1@25"], tenth["f1@50"]) == (0.0, 0.0)  # 0.1 < 0.25: TP 0
    for k in OVERLAPS:
        for union in range(1, 400):
            for intersection in range(union + 1):
                assert (intersection / union >= k) == (intersection >= k * union)


@PROPERTY_SETTINGS
@given(split=splits, background=backgrounds)
def test_int8_ids_and_per_video_scores_equal_the_reference(
    split: list[Video], background: tuple
) -> None:
    # The input `relate evaluate` builds: int8 class ids; per-video scores from one pass.
    predictions, truths = unzip(split)
    code = {label: i for i, label in enumerate(LABELS)}
    ids = lambda frames: np.array([code[x] for x in frames], np.int8)  # noqa: E731
    background_ids = tuple(code[x] for x in background)
    split_result, videos = score_split_and_videos(
        [ids(p) for p in predictions], [ids(t) for t in truths], background_ids
    )
    assert split_result == score_split_reference(predictions, truths, background)
    for predicted, truth, scores in zip(predictions, truths, videos):
        assert scores == score_split_reference([predicted], [truth], background)
