"""Tests of relate.evaluation.metrics: hand-computed cases, the release examples, errors, parity.

Expected numbers are worked out in the comments. "P"/"G" are the predicted/GT segments
(label, start, exclusive end) after dropping background.
"""

from __future__ import annotations

import numpy as np
import pytest

from relate.evaluation.metrics import CONVENTIONS, METRIC_KEYS, average_splits, score_split
from relate.evaluation.metrics_reference import (
    OVERLAPS,
    edit_score,
    match_counts,
    score_split_reference,
    segments,
)


def runs(*pairs: tuple[str, int]) -> list[str]:
    """Frames from run-length pairs: runs(("a", 2), ("b", 1)) == ["a", "a", "b"]."""
    return [label for label, length in pairs for _ in range(length)]


def scores(result: dict[str, float]) -> tuple[float, ...]:
    """(F1@10, F1@25, F1@50, Edit, Acc), the column order of the table in docs/decisions.md."""
    return tuple(result[key] for key in ("f1@10", "f1@25", "f1@50", "edit", "acc"))


# --- hand-computed cases, standard ------------------------------------------------------


def test_boundary_shift_standard() -> None:
    # G: a[0,3) b[3,6); P: a[0,2) b[2,6). IoU(a) = 2/3, IoU(b) = 3/4: both TP at every k.
    # Edit: [a, b] vs [a, b] -> 100. Acc: 5 of 6 frames -> 83.33.
    result = score_split([list("aabbbb")], [list("aaabbb")])
    assert result == {
        "acc": 100 * 5 / 6,
        "edit": 100.0,
        "f1@10": 100.0,
        "f1@25": 100.0,
        "f1@50": 100.0,
    }


def test_over_segmentation_standard() -> None:
    # G: a[0,10). P: a[0,4) b[4,6) a[6,10).
    # a[0,4): IoU 4/10 = 0.4 -> TP at 0.10 and 0.25, FP at 0.50.
    # b: no same-label GT -> FP. a[6,10): IoU 0.4 but G0 already matched -> FP.
    # k = 0.10, 0.25: TP 1, FP 2, FN 0 -> P 1/3, R 1, F1 = 2(1/3)/(4/3) = 50.
    # k = 0.50: TP 0 -> F1 0.
    # Edit: [a, b, a] vs [a]: 2 deletions, max 3 -> (1 - 2/3) 100 = 33.33. Acc 8/10 = 80.
    result = score_split([runs(("a", 4), ("b", 2), ("a", 4))], [runs(("a", 10))])
    assert result["f1@10"] == pytest.approx(50.0)
    assert result["f1@25"] == pytest.approx(50.0)
    assert result["f1@50"] == 0.0
    assert result["edit"] == pytest.approx(100 / 3)
    assert result["acc"] == 80.0


def test_first_argmax_on_ties() -> None:
    # G: a[0,4) b[4,8) a[8,12). P: x[0,2) a[2,10) y[10,11) a[11,12).
    # a[2,10): IoU with G0 = 2/10, with G2 = 2/10, a tie: the first (G0) wins.
    # a[11,12): IoU with G2 = 1/4 = 0.25 exactly.
    # k=0.10: x FP, a[2,10) TP (G0), y FP, a[11,12) TP (G2). TP 2 FP 2 FN 1 (b).
    #   P 1/2, R 2/3, F1 = 2 (1/3) / (7/6) = 4/7 = 57.14. (Picking G2 on the tie would
    #   make a[11,12) an FP and give 2/7.)
    # k=0.25: a[2,10) FP (0.2), a[11,12) TP (0.25 >= 0.25). TP 1 FP 3 FN 2 -> P 1/4,
    #   R 1/3, F1 = 2 (1/12) / (7/12) = 2/7 = 28.57.
    # k=0.50: no TP -> 0.
    # Edit: [x, a, y, a] vs [a, b, a]: delete x, y->b -> 2, max 4 -> 50.
    # Acc: frames 2,3,8,9,11 right -> 5/12.
    predicted = runs(("x", 2), ("a", 8), ("y", 1), ("a", 1))
    truth = runs(("a", 4), ("b", 4), ("a", 4))
    result = score_split([predicted], [truth])
    assert result["f1@10"] == pytest.approx(400 / 7)
    assert result["f1@25"] == pytest.approx(200 / 7)
    assert result["f1@50"] == 0.0
    assert result["edit"] == 50.0
    assert result["acc"] == pytest.approx(500 / 12)
    assert result == score_split_reference([predicted], [truth])


def test_background_excluded_from_segments_not_from_acc_standard() -> None:
    # G: bg3 a4 bg3 -> G = [a[3,7)]. P = a10 -> [a[0,10)]: IoU 4/10 = 0.4.
    # TP at 0.10/0.25 (F1 100), FP + FN at 0.50 (F1 0). Edit [a] vs [a] = 100.
    # Acc counts the background frames: 4/10 = 40.
    truth = runs(("bg", 3), ("a", 4), ("bg", 3))
    result = score_split([["a"] * 10], [truth], background=["bg"])
    assert scores(result) == (100.0, 100.0, 0.0, 100.0, 40.0)


def test_micro_f1_and_acc_macro_edit_standard() -> None:
    # Video 1: G [a, b], P [a, b] exact -> TP 2; Edit 100; 10/10 frames.
    # Video 2: G [a[0,10)], P [c[0,10)] -> FP 1, FN 1; Edit 0; 0/10 frames.
    # Split: TP 2 FP 1 FN 1 -> P = R = 2/3 -> F1 66.67 (a per-video mean would be 50).
    # Edit = (100 + 0) / 2 = 50. Acc = 10/20 = 50.
    predictions = [runs(("a", 5), ("b", 5)), ["c"] * 10]
    truths = [runs(("a", 5), ("b", 5)), ["a"] * 10]
    result = score_split(predictions, truths)
    assert result["f1@50"] == pytest.approx(200 / 3)
    assert (result["edit"], result["acc"]) == (50.0, 50.0)


def test_degenerate_videos_get_defined_scores() -> None:
    # GT and prediction all background: no segment anywhere. The official script gives
    # nan Edit and 0/0 F1; here Edit 100 and F1 100 (TP + FP + FN = 0), Acc 100.
    result = score_split([["bg"] * 5], [["bg"] * 5], background=["bg"])
    assert result == dict.fromkeys(METRIC_KEYS, 100.0)
    # GT all background, prediction has a segment: the official argmax over an empty GT
    # list crashes; here the segment is an FP -> TP 0 -> F1 0. Edit [a] vs [] = 0.
    result = score_split([runs(("bg", 2), ("a", 3))], [["bg"] * 5], background=["bg"])
    assert scores(result) == (0.0, 0.0, 0.0, 0.0, 40.0)
    # Mixed: a perfect video next to the empty one: Edit (100 + 100)/2, F1 from video 1.
    result = score_split([["bg"] * 4, ["a"] * 4], [["bg"] * 4, ["a"] * 4], background=["bg"])
    assert result == dict.fromkeys(METRIC_KEYS, 100.0)


def test_longer_prediction_is_scored_as_ms_tcn_eval_does() -> None:
    # MS-TCN eval.py: Acc over the GT's 3 frames; Edit and F1 over the whole prediction.
    # "aab" + "cc": segments a,b,c vs a,b -> Edit 1 - 1/3; TP 2, FP 1, FN 0 -> F1 0.8.
    result = score_split([list("aabcc")], [list("aab")])
    assert result["acc"] == 100.0
    assert result["edit"] == pytest.approx(100 * (1 - 1 / 3))
    assert [result[k] for k in ("f1@10", "f1@25", "f1@50")] == pytest.approx([80.0] * 3)
    # "aabbb" vs "aab": the last segment runs 2 frames past the GT, IoU(b) = 1/3:
    # TP at 0.10 and 0.25 (F1 100), FP + FN at 0.50 (TP 1, FP 1, FN 1 -> F1 50).
    result = score_split([list("aabbb")], [list("aab")])
    assert (result["acc"], result["edit"], result["f1@10"], result["f1@50"]) == (
        100.0,
        100.0,
        100.0,
        50.0,
    )
    # The same through the integer fast path and with a background label.
    ids = score_split([np.array([0, 0, 1, 1, 1])], [np.array([0, 0, 1])], background=[9])
    assert ids == result
    # fact: the padded frames are not GT frames either.
    fact = score_split([list("aabbb")], [list("aab")], convention="fact")
    assert fact["acc"] == 100.0 and fact["f1@50"] == pytest.approx(50.0, abs=1e-3)


def test_string_lists_and_int_arrays_agree() -> None:
    rng = np.random.default_rng(7)
    truths = [rng.integers(0, 4, size) for size in (30, 50)]
    predictions = [
        np.where(rng.random(t.size) < 0.2, rng.integers(0, 4, t.size), t) for t in truths
    ]
    as_strings = [[str(x) for x in t.tolist()] for t in truths]
    predicted_strings = [[str(x) for x in p.tolist()] for p in predictions]
    for convention in CONVENTIONS:
        from_ints = score_split(predictions, truths, [3], convention)
        from_strings = score_split(predicted_strings, as_strings, ["3"], convention)
        mixed = score_split([p.tolist() for p in predictions], truths, [3], convention)
        assert from_ints == from_strings == mixed


# --- fact ---------------------------------------------------------------------------------


def test_fact_accuracy_ignores_background_frames() -> None:
    # G: bg4 a4 b2; P: a8 b2. Background frames are excluded from FACT's Acc: the 6
    # foreground frames are all right -> 100 (standard: 6/10 = 60).
    # Segments: P [a[0,8), b[8,10)], G [a[4,8), b[8,10)]: IoU 0.5 and 1 -> TP 2 FP 0 FN 0.
    # FACT F1 = 2PR/(P+R+1e-5) with P = R = 2/(2+1e-5); standard F1 = 100.
    truth = runs(("bg", 4), ("a", 4), ("b", 2))
    predicted = runs(("a", 8), ("b", 2))
    fact = score_split([predicted], [truth], ["bg"], "fact")
    p = 2 / (2 + 1e-5)
    expected_f1 = 2 * p * p / (p + p + 1e-5) * 100
    assert scores(fact) == pytest.approx((expected_f1,) * 3 + (100.0, 100.0), abs=1e-12)
    standard = score_split([predicted], [truth], ["bg"])
    assert scores(standard) == (100.0, 100.0, 100.0, 100.0, 60.0)


def test_fact_edit_skips_videos_without_segments() -> None:
    # Video 1: all background on both sides -> no Edit (FACT: nan, skipped; standard 100).
    # Video 2: [b, a] vs [a, b] -> distance 2, max 2 -> Edit 0.
    # FACT Edit = 0 (video 2 only); standard Edit = (100 + 0) / 2 = 50.
    predictions = [["bg"] * 6, runs(("b", 5), ("a", 5))]
    truths = [["bg"] * 6, runs(("a", 5), ("b", 5))]
    assert score_split(predictions, truths, ["bg"], "fact")["edit"] == 0.0
    assert score_split(predictions, truths, ["bg"])["edit"] == 50.0
    # Nothing but background anywhere: no frame and no segment to score -> 100.
    assert score_split([["bg"] * 3], [["bg"] * 3], ["bg"], "fact")["acc"] == 100.0
    assert score_split([["bg"] * 3], [["bg"] * 3], ["bg"], "fact")["edit"] == 100.0


# --- the RELATE release's evaluator, §5 concrete examples --------------------------------


def _fragmented_video() -> tuple[list[str], list[str]]:
    """400 frames, 20 GT segments of 20; 10 of them split by a 2-frame fragment.

    The fragment sits after the segment's first 10 frames, so the best part has IoU 10/20
    exactly: a TP in the standard protocol, an FP for the release (float32 + 1e-6, union
    20 < 32). The fragment's label is the next segment's, so the release does not skip it.
    """
    classes = "ABCDE"
    truth: list[str] = []
    predicted: list[str] = []
    for index in range(20):
        label = classes[index % 5]
        truth += [label] * 20
        if index % 2:
            predicted += [label] * 10 + [classes[(index + 1) % 5]] * 2 + [label] * 8
        else:
            predicted += [label] * 20
    return predicted, truth


def _release_cases() -> dict[str, tuple]:
    """case -> (predictions, ground truths, standard background, release background)."""
    gtea_fail = runs(("background", 10), ("a", 15), ("background", 10), ("b", 15))
    gtea_ok = runs(("c", 15), ("background", 5), ("d", 10), ("e", 10), ("background", 5), ("f", 15))
    fragmented = _fragmented_video()
    return {
        # 1. 60 frames A20 B20 C20; the last 6 frames of B predicted as D (absent).
        "1": (
            [runs(("A", 20), ("B", 14), ("D", 6), ("C", 20))],
            [runs(("A", 20), ("B", 20), ("C", 20))],
            (),
            (),
        ),
        # 2. GT A10 B10, prediction A5 B15.
        "2": ([runs(("A", 5), ("B", 15))], [runs(("A", 10), ("B", 10))], (), ()),
        # 3. a perfect 60-frame 2-segment video + the fragmented 400-frame video.
        "3": (
            [runs(("A", 30), ("B", 30)), fragmented[0]],
            [runs(("A", 30), ("B", 30)), fragmented[1]],
            (),
            (),
        ),
        # 4. a 10-frame all-wrong video + a 990-frame all-right video.
        "4": ([["x"] * 10, ["a"] * 990], [["y"] * 10, ["a"] * 990], (), ()),
        # 5. Breakfast: SIL10 A20 B30 SIL10; a 5-frame B fragment inside A.
        "5": (
            [runs(("SIL", 10), ("A", 12), ("B", 5), ("A", 3), ("B", 30), ("SIL", 10))],
            [runs(("SIL", 10), ("A", 20), ("B", 30), ("SIL", 10))],
            (),
            ("SIL",),
        ),
        # 6. GTEA: a 50-frame video (20 background frames) predicted all background, plus
        #    a perfect 60-frame video with 4 action segments.
        "6": (
            [["background"] * 50, gtea_ok],
            [gtea_fail, gtea_ok],
            ("background",),
            ("background",),
        ),
        # 8. prediction 20 frames shorter than its 100-frame GT.
        "8": ([runs(("A", 50), ("B", 30))], [runs(("A", 50), ("B", 50))], (), ()),
        # 9. GT A20 C20 B20, prediction B20 C20 B20.
        "9": (
            [runs(("B", 20), ("C", 20), ("B", 20))],
            [runs(("A", 20), ("C", 20), ("B", 20))],
            (),
            (),
        ),
    }


# (F1@10, F1@25, F1@50, Edit, Acc) as in the worked examples of the release's evaluator
# (docs/decisions.md). Case 7 is not in that table. Case 8 standard: the official script raises.
RELEASE_TABLE = {
    "1": (("100", "100", "100", "75", "90"), ("85.7", "85.7", "85.7", "75", "90")),
    "2": (("100", "100", "50", "100", "75"), ("100", "100", "100", "100", "75")),
    "3": (("83.3", "83.3", "66.7", "75", "97.5"), ("68.8", "68.8", "68.8", "75", "95.7")),
    "4": ((None, None, None, None, "50.0"), (None, None, None, None, "99.0")),
    "5": (("66.7", "66.7", "66.7", "50.0", "92.9"), ("80", "80", "80", "66.7", "92.9")),
    "6": (("50", "50", "50", "50", "70.0"), ("80", "80", "80", "50", "72.7")),
    "8": (("100", "100", "100", "100", "100"), None),
    "9": (("100", "100", "100", "66.7", "66.7"), ("66.7", "66.7", "66.7", "66.7", "66.7")),
}


def assert_printed(values: tuple[float, ...], printed: tuple[str | None, ...]) -> None:
    """Each value rounds to the printed number at the printed number of decimals."""
    for value, text in zip(values, printed):
        if text is not None:
            decimals = len(text.split(".")[1]) if "." in text else 0
            assert round(value, decimals) == float(text), (values, printed)


@pytest.mark.parametrize("case", sorted(RELEASE_TABLE))
def test_release_doc_examples(case: str) -> None:
    predictions, truths, standard_bg, release_bg = _release_cases()[case]
    release_printed, standard_printed = RELEASE_TABLE[case]
    release = score_split(predictions, truths, release_bg, "relate_release")
    assert_printed(scores(release), release_printed)
    assert release == release_oracle(predictions, truths, release_bg)
    if standard_printed is None:
        with pytest.raises(ValueError, match="shorter"):
            score_split(predictions, truths, standard_bg)
        return
    standard = score_split(predictions, truths, standard_bg)
    assert_printed(scores(standard), standard_printed)
    assert standard == score_split_reference(predictions, truths, standard_bg)


def test_release_float32_epsilon_depends_on_union() -> None:
    # IoU exactly 1/2: union 20 keeps the 1e-6 in float32 -> 0.49999997 -> FP at 0.5;
    # union 40 loses it -> 0.5 -> TP. B is absent from the GT, so the release skips it:
    # short: TP 0 FP 1 FN 1 -> F1 0; long: TP 1 FP 0 FN 0 -> F1 ~100.
    short = score_split([runs(("A", 10), ("B", 10))], [["A"] * 20], (), "relate_release")
    long = score_split([runs(("A", 20), ("B", 20))], [["A"] * 40], (), "relate_release")
    assert short["f1@50"] == 0.0
    assert long["f1@50"] > 99.99


# --- errors -------------------------------------------------------------------------------


def test_errors() -> None:
    with pytest.raises(ValueError, match="empty split"):
        score_split([], [])
    with pytest.raises(ValueError, match="2 predictions but 1 ground truths"):
        score_split([["a"], ["a"]], [["a"]])
    with pytest.raises(ValueError, match="unknown convention"):
        score_split([["a"]], [["a"]], convention="msTCN")
    with pytest.raises(ValueError, match="single background"):
        score_split([["a"]], [["a"]], ["bg", "SIL"], "relate_release")
    with pytest.raises(ValueError, match="no frames"):
        score_split([["a"], []], [["a"], []])
    with pytest.raises(ValueError, match="names"):
        score_split([["a"]], [["a"]], names=["v1", "v2"])
    with pytest.raises(TypeError, match="collection"):
        score_split([["SIL"]], [["SIL"]], "SIL")
    with pytest.raises(ValueError, match="1-D"):
        score_split([np.zeros((2, 2), dtype=np.float32)], [["a", "a"]])


@pytest.mark.parametrize("convention", ["standard", "fact"])
def test_shorter_prediction_raises_with_name_and_lengths(convention: str) -> None:
    predictions = [["a"] * 10, ["a"] * 80]
    truths = [["a"] * 10, ["a"] * 100]
    with pytest.raises(ValueError, match=r"P03_cereals: prediction has 80 frames.*\(100 frames\)"):
        score_split(predictions, truths, convention=convention, names=["P03_tea", "P03_cereals"])
    with pytest.raises(ValueError, match=r"video 1: prediction has 80"):
        score_split(predictions, truths, convention=convention)


def test_release_truncates_both_sides() -> None:
    # GT cut to the prediction's 80 frames: the same as scoring 80 frames of each.
    cut = score_split([["a"] * 80], [["a"] * 100], (), "relate_release")
    assert cut == score_split([["a"] * 80], [["a"] * 80], (), "relate_release")


def test_average_splits() -> None:
    first = {"acc": 50.0, "edit": 10.0}
    second = {"acc": 70.0, "edit": 20.0}
    assert average_splits([first, second]) == {"acc": 60.0, "edit": 15.0}
    assert average_splits([first]) == first
    with pytest.raises(ValueError, match="at least one"):
        average_splits([])
    with pytest.raises(ValueError, match="keys"):
        average_splits([first, {"acc": 1.0}])


# --- parity on random perturbed splits ------------------------------------------------------


def perturbed_split(seed: int) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """A random split: GT as runs, predictions with shifted boundaries, swaps, fragments."""
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 7))
    predictions, truths = [], []
    for _ in range(int(rng.integers(1, 6))):
        lengths = rng.integers(1, 30, int(rng.integers(1, 10)))
        labels = rng.integers(0, n_classes, lengths.size)
        truth = np.repeat(labels, lengths)
        predicted = np.roll(truth, int(rng.integers(-3, 4)))
        swap = rng.random(truth.size) < 0.05
        predicted[swap] = rng.integers(0, n_classes, swap.sum())
        for _ in range(int(rng.integers(0, 3))):
            start = int(rng.integers(0, truth.size))
            predicted[start : start + int(rng.integers(1, 6))] = rng.integers(0, n_classes)
        extra = rng.integers(0, n_classes, int(rng.integers(0, 3)))  # longer is allowed
        predictions.append(np.r_[predicted, extra].tolist())
        truths.append(truth.tolist())
    background = [] if rng.random() < 0.4 else [int(rng.integers(0, n_classes))]
    return predictions, truths, background


@pytest.mark.parametrize("seed", range(300))
def test_parity_with_reference_and_oracles(seed: int) -> None:
    predictions, truths, background = perturbed_split(seed)
    standard = score_split(predictions, truths, background)
    assert standard == score_split_reference(predictions, truths, background)
    arrays = score_split(
        [np.asarray(p) for p in predictions], [np.asarray(t) for t in truths], background
    )
    assert arrays == standard
    assert score_split(predictions, truths, background, "fact") == fact_oracle(
        predictions, truths, background
    )
    assert score_split(predictions, truths, background, "relate_release") == release_oracle(
        predictions, truths, background
    )


# --- loop oracles for the other two conventions (written from their specs) -----------------


def fact_oracle(predictions, truths, background) -> dict[str, float]:
    """FACT: foreground-only Acc, 1e-5 epsilons in F1, Edit mean skipping empty videos."""
    correct = scored = 0
    edits = []
    counts = [[0, 0, 0] for _ in OVERLAPS]
    for predicted, truth in zip(predictions, truths):
        predicted = list(predicted)  # Edit/F1 see the whole prediction; Acc zips to the GT
        for p, t in zip(predicted, truth):
            if t not in background:
                scored += 1
                correct += p == t
        p_segments = segments(predicted, list(background))
        t_segments = segments(list(truth), list(background))
        if p_segments or t_segments:
            edits.append(edit_score([s[0] for s in p_segments], [s[0] for s in t_segments]))
        for k, overlap in enumerate(OVERLAPS):
            for i, count in enumerate(match_counts(p_segments, t_segments, overlap)):
                counts[k][i] += count
    result = {
        "acc": 100.0 * correct / scored if scored else 100.0,
        "edit": sum_in_order(edits) / len(edits) if edits else 100.0,
    }
    for key, (tp, fp, fn) in zip(("f1@10", "f1@25", "f1@50"), counts):
        precision, recall = tp / (tp + fp + 1e-5), tp / (tp + fn + 1e-5)
        result[key] = 2.0 * precision * recall / (precision + recall + 1e-5) * 100
    return result


def sum_in_order(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += value
    return total


def release_oracle(predictions, truths, background) -> dict[str, float]:
    """The release's evaluator as loops: per-video F1/Edit/Acc, then means over videos."""
    background = list(background)
    f1_sums = [0.0, 0.0, 0.0]
    edit_sum = acc_sum = 0.0
    for predicted, truth in zip(predictions, truths):
        length = min(len(predicted), len(truth))
        predicted, truth = list(predicted)[:length], list(truth)[:length]
        p_segments, t_segments = segments(predicted, background), segments(truth, background)
        for k, overlap in enumerate(OVERLAPS):
            f1_sums[k] += _release_video_f1(p_segments, t_segments, overlap)
        edit_sum += edit_score([s[0] for s in p_segments], [s[0] for s in t_segments])
        acc_sum += 100.0 * sum(p == t for p, t in zip(predicted, truth)) / length
    n = len(truths)
    result = {"acc": acc_sum / n, "edit": edit_sum / n}
    for key, total in zip(("f1@10", "f1@25", "f1@50"), f1_sums):
        result[key] = 100 * total / n
    return result


def _release_video_f1(p_segments, t_segments, overlap) -> float:
    if not p_segments:
        return 0.0
    tp = fp = 0
    hit = [False] * len(t_segments)
    for label, start, end in p_segments:
        if not any(t_label == label for t_label, _, _ in t_segments):
            continue  # also covers a video with no GT segment
        ious = []
        for _, t_start, t_end in t_segments:
            intersection = max(min(end, t_end) - max(start, t_start), 0)
            union = max(end, t_end) - min(start, t_start)
            ious.append(np.float32(intersection) / (np.float32(union) + np.float32(1e-6)))
        masked = [iou if t[0] == label else np.float32(0) for iou, t in zip(ious, t_segments)]
        best = masked.index(max(masked))  # first argmax of the label-masked IoU ...
        if ious[best] >= overlap and not hit[best]:  # ... but the raw IoU is tested
            tp += 1
            hit[best] = True
        else:
            fp += 1
    fn = len(t_segments) - sum(hit)
    precision = tp / float(tp + fp + 1e-6)
    recall = tp / float(tp + fn + 1e-6)
    return 2.0 * (precision * recall) / (precision + recall + 1e-6)
