"""The claims checked on the runs: Tables 1-4 and Figs. 1 and 3 (mean F1)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from relate.reports.paper_results import FIG3_TEXT, PRINTED_AVERAGES
from relate.reports.scorecard.evidence import (
    F1,
    FAILS,
    HOLDS,
    MATCH_TOLERANCE,
    NOT_RUN,
    Runs,
    _label,
    _n,
    _verdict,
    _where,
    mean_f1,
    value,
)
from relate.reports.tables import METRICS, fmt


def _beats_everywhere(
    runs: Runs, better: str, worse: str, metrics: Sequence[str], strict: bool = True
) -> tuple[list[bool], list[str]]:
    """``better`` > ``worse`` in every metric, on every (dataset, segmenter) with both."""
    results, evidence = [], []
    for dataset, segmenter in runs.pairs():
        a, b = runs.get(dataset, segmenter, better), runs.get(dataset, segmenter, worse)
        if a is None or b is None:
            continue
        parts = []
        for metric in metrics:
            x, y = value(a, metric), value(b, metric)
            ok = x > y if strict else x >= y
            results.append(ok)
            parts.append(f"{_label(metric)} {fmt(x)} vs {fmt(y)}{'' if ok else ' ✗'}")
        evidence.append(
            f"`{better}` vs `{worse}`, {_where(dataset, segmenter)} "
            f"({_n(a)}, {_n(b)}): " + ", ".join(parts)
        )
    return results, evidence


def claim_relate_f1_50(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _beats_everywhere(runs, "relate", "rgb", ["f1@50"])
    return _verdict(results), evidence


def claim_relate_all_metrics(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = [], []
    for row in ("relate", "relate_wo_pr"):
        r, e = _beats_everywhere(runs, row, "rgb", METRICS)
        results += r
        evidence += e
    return _verdict(results), evidence


def claim_rgb_below_two_stream(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _beats_everywhere(runs, "two_stream", "rgb", METRICS)
    return _verdict(results), evidence


def claim_largest_gain_50salads(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = [], []
    for segmenter in ("mstcn", "asformer", "fact"):
        gains = {}
        for dataset in ("50salads", "gtea", "breakfast"):
            if runs.source(dataset) in {runs.source(d) for d in gains}:
                continue  # one stand-in dataset for several paper datasets: nothing to compare
            a, b = runs.paper(dataset, segmenter, "relate"), runs.paper(dataset, segmenter, "rgb")
            if a is not None and b is not None:
                gains[dataset] = a.mean("f1@50") - b.mean("f1@50")
        if "50salads" not in gains or len(gains) < 2:
            continue
        ok = all(gains["50salads"] > g for d, g in gains.items() if d != "50salads")
        results.append(ok)
        evidence.append(
            f"{segmenter}: F1@50 gain "
            + ", ".join(f"{d} {fmt(g, signed=True)}" for d, g in gains.items())
            + ("" if ok else " ✗")
        )
    return _verdict(results), evidence


def claim_pr_helps(runs: Runs) -> tuple[str, list[str]]:
    diffs, evidence = [], []
    for dataset, segmenter in runs.pairs():
        if segmenter == "fact":
            continue
        a, b = runs.get(dataset, segmenter, "relate"), runs.get(dataset, segmenter, "relate_wo_pr")
        if a is None or b is None:
            continue
        diff = a.mean("avg") - b.mean("avg")
        diffs.append(diff)
        evidence.append(
            f"{_where(dataset, segmenter)}: Avg with PR {fmt(a.mean('avg'))}, "
            f"without {fmt(b.mean('avg'))} ({fmt(diff, signed=True)})"
        )
    if not diffs:
        return NOT_RUN, evidence
    mean = math.fsum(diffs) / len(diffs)
    evidence.append(f"mean gain over {len(diffs)} pair(s): {fmt(mean, signed=True)}")
    return (HOLDS if mean > 0 else FAILS), evidence


def claim_asformer_50salads_matches(runs: Runs) -> tuple[str, list[str]]:
    a = runs.paper("50salads", "asformer", "relate")
    b = runs.paper("50salads", "asformer", "two_stream")
    if a is None or b is None:
        return NOT_RUN, []
    results, parts = [], []
    for metric in F1:
        ok = a.mean(metric) >= b.mean(metric) - MATCH_TOLERANCE
        results.append(ok)
        parts.append(
            f"{_label(metric)} {fmt(a.mean(metric))} vs {fmt(b.mean(metric))}"
            + ("" if ok else " ✗")
        )
    return _verdict(results), [f"{runs.source('50salads')}/asformer: " + ", ".join(parts)]


def claim_gtea_mstcn_two_stream(runs: Runs) -> tuple[str, list[str]]:
    a = runs.paper("gtea", "mstcn", "relate")
    b = runs.paper("gtea", "mstcn", "two_stream")
    if a is None or b is None:
        return NOT_RUN, []
    gap = mean_f1(a) - mean_f1(b)
    ok = abs(gap) <= MATCH_TOLERANCE or gap > 0
    return (HOLDS if ok else FAILS), [
        f"{runs.source('gtea')}/mstcn: mean F1 RELATE {fmt(mean_f1(a))}, two-stream "
        f"{fmt(mean_f1(b))} ({fmt(gap, signed=True)}; paper {FIG3_TEXT['relate_mean_f1']} vs "
        f"{FIG3_TEXT['two_stream_mean_f1']})"
    ]


def claim_rgb_below_flow(runs: Runs) -> tuple[str, list[str]]:
    a, b = runs.paper("gtea", "mstcn", "rgb"), runs.paper("gtea", "mstcn", "flow")
    if a is None or b is None:
        return NOT_RUN, []
    gap = mean_f1(a) - mean_f1(b)
    return (HOLDS if gap < 0 else FAILS), [
        f"{runs.source('gtea')}/mstcn: mean F1 RGB {fmt(mean_f1(a))}, OF-only "
        f"{fmt(mean_f1(b))} ({fmt(gap, signed=True)}; paper "
        f"{FIG3_TEXT['rgb_minus_flow_mean_f1']:+.1f})"
    ]


def _avg_comparisons(
    runs: Runs, dataset: str, segmenter: str, pairs: Sequence[tuple[str, str]], table: int
) -> tuple[list[bool], list[str]]:
    """``better`` Avg > ``worse`` Avg for each pair, on one paper dataset."""
    results, evidence = [], []
    for better, worse in pairs:
        a, b = runs.paper(dataset, segmenter, better), runs.paper(dataset, segmenter, worse)
        if a is None or b is None:
            continue
        ok = a.mean("avg") > b.mean("avg")
        results.append(ok)
        printed = [PRINTED_AVERAGES.get((table, r), (None,))[0] for r in (better, worse)]
        paper = f"; paper {printed[0]} vs {printed[1]}" if None not in printed else ""
        evidence.append(
            f"Avg `{better}` {fmt(a.mean('avg'))} vs `{worse}` "
            f"{fmt(b.mean('avg'))}{paper}" + ("" if ok else " ✗")
        )
    if evidence:
        evidence.insert(0, f"on {runs.source(dataset)}/{segmenter}:")
    return results, evidence


def claim_table2_rows_2_3(runs: Runs) -> tuple[str, list[str]]:
    base = runs.paper("50salads", "mstcn", "rgb")
    results, evidence = [], []
    for row in ("kd", "relate_wo_pr:aga=none"):
        other = runs.paper("50salads", "mstcn", row)
        if base is None or other is None:
            continue
        acc_up = other.mean("acc") > base.mean("acc")
        avg_down = other.mean("avg") < base.mean("avg")
        results += [acc_up, avg_down]
        evidence.append(
            f"`{row}` vs `rgb` on {runs.source('50salads')}/mstcn: Acc {fmt(other.mean('acc'))}"
            f" vs {fmt(base.mean('acc'))}{'' if acc_up else ' ✗'}, Avg "
            f"{fmt(other.mean('avg'))} vs {fmt(base.mean('avg'))}{'' if avg_down else ' ✗'}"
        )
    return _verdict(results), evidence


def claim_aga_flow_over_rgb(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "50salads", "mstcn", [("relate_wo_pr:aga=flow", "relate_wo_pr:aga=rgb")], 2
    )
    return _verdict(results), evidence


def claim_aga_both(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs,
        "50salads",
        "mstcn",
        [("relate_wo_pr", f"relate_wo_pr:aga={x}") for x in ("none", "rgb", "flow")],
        2,
    )
    return _verdict(results), evidence


def claim_full_over_baseline(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(runs, "50salads", "mstcn", [("relate_wo_pr", "rgb")], 2)
    return _verdict(results), evidence


def claim_aft_best(runs: Runs) -> tuple[str, list[str]]:
    others = ("naive", "self_attention", "cross_attention", "local_attentive")
    results, evidence = _avg_comparisons(
        runs, "gtea", "asformer", [("relate_wo_pr", f"relate_wo_pr:fusion={x}") for x in others], 3
    )
    return _verdict(results), evidence


def claim_attentive_over_naive(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs,
        "gtea",
        "asformer",
        [
            (f"relate_wo_pr:fusion={x}", "relate_wo_pr:fusion=naive")
            for x in ("self_attention", "cross_attention", "local_attentive")
        ],
        3,
    )
    return _verdict(results), evidence


def claim_kd_best_dual(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs,
        "breakfast",
        "mstcn",
        [("relate_wo_pr", f"relate_wo_pr:distill={x}") for x in ("rkd", "gcr")],
        4,
    )
    return _verdict(results), evidence


def claim_kd_best_single(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "breakfast", "mstcn", [("kd", "rkd"), ("kd", "gcr")], 4
    )
    return _verdict(results), evidence


def claim_relate_improves_each_loss(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = [], []
    for loss, row in (
        ("kd", "relate_wo_pr"),
        ("rkd", "relate_wo_pr:distill=rkd"),
        ("gcr", "relate_wo_pr:distill=gcr"),
    ):
        a, b = runs.paper("breakfast", "mstcn", row), runs.paper("breakfast", "mstcn", loss)
        if a is None or b is None:
            continue
        parts = []
        for metric in METRICS:
            ok = a.mean(metric) > b.mean(metric)
            results.append(ok)
            parts.append(
                f"{_label(metric)} {fmt(a.mean(metric))} vs {fmt(b.mean(metric))}"
                + ("" if ok else " ✗")
            )
        evidence.append(
            f"`{row}` vs `{loss}` on {runs.source('breakfast')}/mstcn: " + ", ".join(parts)
        )
    return _verdict(results), evidence


def claim_dual_over_single_kd(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _beats_everywhere(runs, "relate_wo_pr", "kd", ["avg"])
    return _verdict(results), evidence


def claim_mars_tradeoff(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = [], []
    for dataset, segmenter in runs.pairs():
        a, b = runs.get(dataset, segmenter, "mars"), runs.get(dataset, segmenter, "rgb")
        if a is None or b is None:
            continue
        acc_up = a.mean("acc") > b.mean("acc")
        f1_down = mean_f1(a) < mean_f1(b)
        results += [acc_up, f1_down]
        evidence.append(
            f"{_where(dataset, segmenter)}: Acc MARS {fmt(a.mean('acc'))} vs "
            f"{fmt(b.mean('acc'))}{'' if acc_up else ' ✗'}, mean F1 "
            f"{fmt(mean_f1(a))} vs {fmt(mean_f1(b))}{'' if f1_down else ' ✗'}"
        )
    return _verdict(results), evidence


def claim_relate_both_up(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _beats_everywhere(runs, "relate", "rgb", ["acc", "mean_f1"])
    return _verdict(results), evidence
