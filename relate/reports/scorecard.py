"""The reproduction scorecard (reports/index.md): which of the paper's claims hold in the runs.

Each claim is a comparison the paper makes in Sec. 4.2-4.4 or in the captions of Figs. 1
and 3. :func:`claims` checks every claim against the runs and returns a :class:`Claim`
with a verdict (**holds**, **does not hold** or **not run**) and the numbers it used;
:func:`scorecard` renders them, followed by "Interpretations in use" (the options each
preset put in force), the data source and links to the tables and figures.

Numbers: per (dataset, segmenter, row) the mean over seeds of each seed's unweighted mean
over splits (:func:`relate.reports.tables.cell_stats`), convention ``standard`` and preset
``release`` unless told otherwise. "Avg" is the mean of the five metrics; "mean F1" the mean
of F1@{10,25,50}.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from relate.errors import DataError
from relate.presets import DISTILLED, OPTION_NAMES, PRESETS, preset_options
from relate.provenance import git_commit
from relate.reports.paper_results import FIG3_TEXT, PRINTED_AVERAGES
from relate.reports.tables import (
    METRICS,
    CellStats,
    cell_stats,
    data_source_line,
    fmt,
    in_preset,
    select,
)

HOLDS, FAILS, NOT_RUN = "holds", "does not hold", "not run"
MATCH_TOLERANCE = 1.0
"""Points within which "matches" / "comparable" counts as holding."""
F1 = ("f1@10", "f1@25", "f1@50")
DEFAULT_LINKS: tuple[tuple[str, str], ...] = (
    ("Table 1: performance comparison", "table1.md"),
    ("Table 2: ablation (50Salads, MS-TCN)", "table2.md"),
    ("Table 3: fusion mechanisms (GTEA, ASFormer)", "table3.md"),
    ("Table 4: CMKD methods (Breakfast, MS-TCN)", "table4.md"),
    ("Side table: evaluation conventions", "side_conventions.md"),
    ("Side table: release vs paper_literal preset", "side_presets.md"),
    ("Fig. 1: Acc and mean F1 of Baseline / MARS / RELATE", "fig1_acc_f1.png"),
    ("Fig. 3: mean F1 against inference time", "fig3_latency.png"),
    ("Fig. 4: qualitative segmentation", "fig4_qualitative.png"),
)


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what the runs say about it."""

    key: str
    text: str
    where: str
    verdict: str
    evidence: tuple[str, ...]
    note: str = ""


class Runs:
    """Cell statistics of one frame (one convention, one preset), computed once per cell.

    ``dataset_from`` maps a paper dataset to the dataset whose runs stand in for it; it is
    used by the claims tied to one dataset of the paper (Tables 2-4, Figs. 1 and 3).
    """

    def __init__(self, frame: pd.DataFrame, dataset_from: Mapping[str, str] | None = None):
        self.frame = frame
        self.dataset_from = dict(dataset_from or {})
        self._cache: dict[tuple[str, str, str], CellStats | None] = {}

    def source(self, paper_dataset: str) -> str:
        return self.dataset_from.get(paper_dataset, paper_dataset)

    def get(self, dataset: str, segmenter: str, row: str) -> CellStats | None:
        """Runs of ``row`` on ``dataset`` (a name in the frame) and ``segmenter``."""
        key = (dataset, segmenter, row)
        if key not in self._cache:
            runs = select(self.frame, dataset=dataset, segmenter=segmenter, row=row)
            self._cache[key] = cell_stats(runs, f"scorecard: row {row!r} ({dataset}, {segmenter})")
        return self._cache[key]

    def paper(self, paper_dataset: str, segmenter: str, row: str) -> CellStats | None:
        """Runs standing in for a paper cell (through ``dataset_from``)."""
        return self.get(self.source(paper_dataset), segmenter, row)

    def pairs(self) -> list[tuple[str, str]]:
        """Every (dataset, segmenter) in the frame, sorted."""
        if self.frame.empty:
            return []
        return sorted(set(zip(self.frame["dataset"], self.frame["segmenter"])))


def mean_f1(stats: CellStats) -> float:
    """Mean over seeds of the mean of F1@{10,25,50}."""
    return math.fsum(stats.mean(m) for m in F1) / len(F1)


def value(stats: CellStats, metric: str) -> float:
    """``metric`` of :data:`METRICS`, ``avg`` or ``mean_f1``."""
    return mean_f1(stats) if metric == "mean_f1" else stats.mean(metric)


def _label(metric: str) -> str:
    return {"avg": "Avg", "mean_f1": "mean F1", "acc": "Acc", "edit": "Edit"}.get(
        metric, metric.upper())


def _n(stats: CellStats) -> str:
    return f"n={stats.n_seeds}"


def _verdict(results: Sequence[bool]) -> str:
    if not results:
        return NOT_RUN
    return HOLDS if all(results) else FAILS


def _where(dataset: str, segmenter: str) -> str:
    return f"{dataset}/{segmenter}"


# --- the claims ---------------------------------------------------------------------------


def _beats_everywhere(runs: Runs, better: str, worse: str, metrics: Sequence[str],
                      strict: bool = True) -> tuple[list[bool], list[str]]:
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
        evidence.append(f"`{better}` vs `{worse}`, {_where(dataset, segmenter)} "
                        f"({_n(a)}, {_n(b)}): " + ", ".join(parts))
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
        evidence.append(f"{segmenter}: F1@50 gain " + ", ".join(
            f"{d} {fmt(g, signed=True)}" for d, g in gains.items()) + ("" if ok else " ✗"))
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
        evidence.append(f"{_where(dataset, segmenter)}: Avg with PR {fmt(a.mean('avg'))}, "
                        f"without {fmt(b.mean('avg'))} ({fmt(diff, signed=True)})")
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
        parts.append(f"{_label(metric)} {fmt(a.mean(metric))} vs {fmt(b.mean(metric))}"
                     + ("" if ok else " ✗"))
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
        f"{FIG3_TEXT['two_stream_mean_f1']})"]


def claim_rgb_below_flow(runs: Runs) -> tuple[str, list[str]]:
    a, b = runs.paper("gtea", "mstcn", "rgb"), runs.paper("gtea", "mstcn", "flow")
    if a is None or b is None:
        return NOT_RUN, []
    gap = mean_f1(a) - mean_f1(b)
    return (HOLDS if gap < 0 else FAILS), [
        f"{runs.source('gtea')}/mstcn: mean F1 RGB {fmt(mean_f1(a))}, OF-only "
        f"{fmt(mean_f1(b))} ({fmt(gap, signed=True)}; paper "
        f"{FIG3_TEXT['rgb_minus_flow_mean_f1']:+.1f})"]


def _avg_comparisons(runs: Runs, dataset: str, segmenter: str,
                     pairs: Sequence[tuple[str, str]], table: int) -> tuple[list[bool], list[str]]:
    """``better`` Avg > ``worse`` Avg for each pair, on one paper dataset."""
    results, evidence = [], []
    for better, worse in pairs:
        a, b = runs.paper(dataset, segmenter, better), runs.paper(dataset, segmenter, worse)
        if a is None or b is None:
            continue
        ok = a.mean("avg") > b.mean("avg")
        results.append(ok)
        printed = [PRINTED_AVERAGES.get((table, r), (None,))[0] for r in (better, worse)]
        paper = (f"; paper {printed[0]} vs {printed[1]}" if None not in printed else "")
        evidence.append(f"Avg `{better}` {fmt(a.mean('avg'))} vs `{worse}` "
                        f"{fmt(b.mean('avg'))}{paper}" + ("" if ok else " ✗"))
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
            f"{fmt(other.mean('avg'))} vs {fmt(base.mean('avg'))}{'' if avg_down else ' ✗'}")
    return _verdict(results), evidence


def claim_aga_flow_over_rgb(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "50salads", "mstcn", [("relate_wo_pr:aga=flow", "relate_wo_pr:aga=rgb")], 2)
    return _verdict(results), evidence


def claim_aga_both(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "50salads", "mstcn",
        [("relate_wo_pr", f"relate_wo_pr:aga={x}") for x in ("none", "rgb", "flow")], 2)
    return _verdict(results), evidence


def claim_full_over_baseline(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(runs, "50salads", "mstcn",
                                         [("relate_wo_pr", "rgb")], 2)
    return _verdict(results), evidence


def claim_aft_best(runs: Runs) -> tuple[str, list[str]]:
    others = ("naive", "self_attention", "cross_attention", "local_attentive")
    results, evidence = _avg_comparisons(
        runs, "gtea", "asformer", [("relate_wo_pr", f"relate_wo_pr:fusion={x}") for x in others],
        3)
    return _verdict(results), evidence


def claim_attentive_over_naive(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "gtea", "asformer",
        [(f"relate_wo_pr:fusion={x}", "relate_wo_pr:fusion=naive")
         for x in ("self_attention", "cross_attention", "local_attentive")], 3)
    return _verdict(results), evidence


def claim_kd_best_dual(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(
        runs, "breakfast", "mstcn",
        [("relate_wo_pr", f"relate_wo_pr:distill={x}") for x in ("rkd", "gcr")], 4)
    return _verdict(results), evidence


def claim_kd_best_single(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _avg_comparisons(runs, "breakfast", "mstcn",
                                         [("kd", "rkd"), ("kd", "gcr")], 4)
    return _verdict(results), evidence


def claim_relate_improves_each_loss(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = [], []
    for loss, row in (("kd", "relate_wo_pr"), ("rkd", "relate_wo_pr:distill=rkd"),
                      ("gcr", "relate_wo_pr:distill=gcr")):
        a, b = runs.paper("breakfast", "mstcn", row), runs.paper("breakfast", "mstcn", loss)
        if a is None or b is None:
            continue
        parts = []
        for metric in METRICS:
            ok = a.mean(metric) > b.mean(metric)
            results.append(ok)
            parts.append(f"{_label(metric)} {fmt(a.mean(metric))} vs {fmt(b.mean(metric))}"
                         + ("" if ok else " ✗"))
        evidence.append(f"`{row}` vs `{loss}` on {runs.source('breakfast')}/mstcn: "
                        + ", ".join(parts))
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
        evidence.append(f"{_where(dataset, segmenter)}: Acc MARS {fmt(a.mean('acc'))} vs "
                        f"{fmt(b.mean('acc'))}{'' if acc_up else ' ✗'}, mean F1 "
                        f"{fmt(mean_f1(a))} vs {fmt(mean_f1(b))}{'' if f1_down else ' ✗'}")
    return _verdict(results), evidence


def claim_relate_both_up(runs: Runs) -> tuple[str, list[str]]:
    results, evidence = _beats_everywhere(runs, "relate", "rgb", ["acc", "mean_f1"])
    return _verdict(results), evidence


# --- latency (Fig. 3) ---------------------------------------------------------------------


def load_latency_totals(path: Path) -> dict[str, dict[str, Any]]:
    """``setups`` of a ``relate latency`` JSON: setup -> {total_median_s, stages}.

    Read defensively: setups without a finite positive ``total_median_s`` are skipped.
    Raises :class:`DataError` for a missing or unreadable file.
    """
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(path, f"cannot read latency JSON ({error})") from None
    setups = report.get("setups") if isinstance(report, dict) else None
    if not isinstance(setups, dict):
        raise DataError(path, "no `setups` object (not a `relate latency` output?)")
    totals = {}
    for name, setup in setups.items():
        total = setup.get("total_median_s") if isinstance(setup, dict) else None
        if isinstance(total, (int, float)) and math.isfinite(total) and total > 0:
            stages = setup.get("stages") if isinstance(setup.get("stages"), list) else []
            totals[name] = {"total_median_s": float(total), "stages": stages}
    return totals


def claim_latency_speedup(latency: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    if not latency or "relate" not in latency or "two_stream" not in latency:
        return NOT_RUN, []
    a, b = latency["relate"]["total_median_s"], latency["two_stream"]["total_median_s"]
    return (HOLDS if b > a else FAILS), [
        f"per video: two-stream {b:.3g} s, RELATE {a:.3g} s, ratio {b / a:.1f}× (paper: "
        f"{FIG3_TEXT['two_stream_seconds']:.0f} s vs {FIG3_TEXT['relate_seconds']} s, "
        f"≈{FIG3_TEXT['speedup']:.0f}×)"]


def claim_flow_dominates(latency: Mapping[str, Any] | None) -> tuple[str, list[str]]:
    if not latency or "two_stream" not in latency:
        return NOT_RUN, []
    setup = latency["two_stream"]
    flow = math.fsum(float(s.get("median_s", 0.0)) for s in setup["stages"]
                     if isinstance(s, dict) and s.get("stage") == "tvl1")
    if flow <= 0:
        return NOT_RUN, ["no `tvl1` stage timing in the two-stream setup"]
    share = flow / setup["total_median_s"]
    return (HOLDS if share > 0.5 else FAILS), [
        f"TV-L1 {flow:.3g} s of {setup['total_median_s']:.3g} s = {100 * share:.1f}% "
        f"(paper: {100 * FIG3_TEXT['flow_extraction_share']:.0f}%)"]


# --- the card -----------------------------------------------------------------------------

ClaimCheck = Callable[[Runs], tuple[str, list[str]]]
RUN_CLAIMS: tuple[tuple[str, str, str, ClaimCheck, str], ...] = (
    ("T1.f1_50", "RELATE beats RGB on F1@50 on every dataset × segmenter", "Sec. 4.2, Tab. 1",
     claim_relate_f1_50, ""),
    ("T1.all", "RELATE, with and without PR, beats RGB in every metric on every dataset × "
     "segmenter", "Sec. 4.2 (\"consistently improves\"), Tab. 1", claim_relate_all_metrics, ""),
    ("T1.two_stream", "RGB-only models are below their two-stream counterparts in every "
     "metric", "Sec. 4.2, Tab. 1", claim_rgb_below_two_stream,
     "The paper's own numbers break this at Breakfast MS-TCN F1@10/25 (erratum E2)."),
    ("T1.largest_gain", "The F1@50 gain of RELATE over RGB is largest on 50Salads, per "
     "segmenter", "Sec. 4.2", claim_largest_gain_50salads,
     "Needs 50Salads and another dataset; holds in the paper with the RELATE row (E1)."),
    ("T1.pr", "PR helps on average (MS-TCN and ASFormer; mean over pairs of the Avg gain)",
     "Sec. 4.2", claim_pr_helps, "FACT is excluded: the paper calls PR's effect there "
     "\"mixed\". On GTEA MS-TCN the paper's own PR lowers three metrics (E3)."),
    ("T1.asformer_50salads", f"With PR, ASFormer RELATE matches two-stream F1@{{10,25,50}} "
     f"on 50Salads (within {MATCH_TOLERANCE:g} point or above)", "Sec. 4.2",
     claim_asformer_50salads_matches, ""),
    ("F3.two_stream_f1", f"RELATE is within {MATCH_TOLERANCE:g} point of (or above) "
     "two-stream mean F1 on GTEA MS-TCN", "Sec. 4.4.2, Fig. 3", claim_gtea_mstcn_two_stream,
     ""),
    ("F3.rgb_vs_flow", "RGB-only mean F1 is below OF-only on GTEA MS-TCN", "Sec. 4.4.2",
     claim_rgb_below_flow, "Needs the `flow` row scored on GTEA MS-TCN."),
    ("T2.rows_2_3", "CMKD without DB and CMKD + DB without AGA raise Acc but lower Avg vs "
     "the RGB baseline", "Sec. 4.3, Tab. 2 rows 2-3", claim_table2_rows_2_3, ""),
    ("T2.aga_flow", "AGA on OF beats AGA on RGB (Avg)", "Sec. 4.3, Tab. 2 rows 4-5",
     claim_aga_flow_over_rgb, ""),
    ("T2.aga_both", "AGA on both beats AGA on none / RGB / OF (Avg)", "Sec. 4.3, Tab. 2",
     claim_aga_both, ""),
    ("T2.full", "The full model beats the RGB baseline on Avg (paper: +6.8)", "Sec. 4.3",
     claim_full_over_baseline, ""),
    ("T3.aft", "AFT beats the other fusions (Avg)", "Sec. 4.4.1, Tab. 3", claim_aft_best, ""),
    ("T3.attentive", "Attentive fusions beat naïve concatenation (Avg)", "Sec. 4.4.1, Tab. 3",
     claim_attentive_over_naive, "Self-attention only ties naïve on F1@10 in the paper (E7)."),
    ("T4.kd_dual", "KD is the best CMKD loss with the dual branch (Avg)", "Sec. 4.4.3, Tab. 4",
     claim_kd_best_dual, ""),
    ("T4.kd_single", "KD is the best single-branch CMKD loss (Avg)", "Sec. 4.4.3, Tab. 4",
     claim_kd_best_single, ""),
    ("T4.improves", "RELATE improves KD, RKD and GCR in every metric", "Sec. 4.4.3, Tab. 4",
     claim_relate_improves_each_loss, ""),
    ("X.dual_over_kd", "RELATE w/o PR beats the single-branch KD student (Avg) wherever both "
     "ran", "Tabs. 2 and 4", claim_dual_over_single_kd, ""),
    ("F1.mars", "MARS raises Acc but lowers mean F1 vs the RGB baseline", "Fig. 1, Sec. 1",
     claim_mars_tradeoff, "The paper shows this for GTEA and 50Salads with MS-TCN."),
    ("F1.relate", "RELATE raises both Acc and mean F1 vs the RGB baseline", "Fig. 1",
     claim_relate_both_up, ""),
)
"""(key, claim, where in the paper, check, note) for the claims the runs can check."""


def claims(
    frame: pd.DataFrame,
    latency: Mapping[str, Any] | None = None,
    convention: str = "standard",
    preset: str = "release",
    dataset_from: Mapping[str, str] | None = None,
) -> list[Claim]:
    """Every claim with its verdict; ``latency`` is :func:`load_latency_totals`' result."""
    runs = Runs(in_preset(select(frame, convention=convention), preset), dataset_from)
    out = []
    for key, text, where, check, note in RUN_CLAIMS:
        verdict, evidence = check(runs)
        out.append(Claim(key, text, where, verdict, tuple(evidence), note))
    for key, text, check in (
        ("F3.speedup", "RELATE's per-video inference is faster than two-stream's "
         "(paper ≈175×)", claim_latency_speedup),
        ("F3.flow_share", "Optical-flow extraction is most (> 50%) of two-stream inference "
         "time (paper 98%)", claim_flow_dominates),
    ):
        verdict, evidence = check(latency)
        note = "" if latency is not None else "No latency JSON given (`--latency`)."
        out.append(Claim(key, text, "Sec. 4.4.2, Fig. 3", verdict, tuple(evidence), note))
    return out


def interpretations(frame: pd.DataFrame) -> list[str]:
    """Markdown lines: per preset in the runs, the options in force and what set them."""
    lines = ["## Interpretations in use", ""]
    if frame.empty:
        return lines + ["No runs.", ""]
    distilled = frame[frame["variant"].isin(DISTILLED)]
    others = sorted(set(frame["variant"]) - set(distilled["variant"]))
    if others:
        lines += [f"- Variants {', '.join(f'`{v}`' for v in others)}: the segmenter's official "
                  "recipe; presets and options do not apply.", ""]
    for preset in PRESETS:
        runs = distilled[distilled["preset"] == preset]
        if runs.empty:
            continue
        rows = sorted(set(runs["row"]))
        lines += [f"### Preset `{preset}` ({len(runs)} metrics file(s); rows "
                  f"{', '.join(f'`{r}`' for r in rows)})", ""]
        table = []
        for variant in sorted(set(runs["variant"])):
            for name, chosen in preset_options(preset, variant).items():
                table.append(_option_row(name, chosen, "preset", variant, runs))
            explicit: dict[tuple[str, str], set[str]] = {}
            for options, row in zip(runs[runs["variant"] == variant]["options"],
                                    runs[runs["variant"] == variant]["row"]):
                for name, chosen in json.loads(options).items():
                    explicit.setdefault((name, str(chosen)), set()).add(row)
            for (name, chosen), used_by in sorted(explicit.items()):
                table.append(_option_row(name, chosen, "run option", variant, runs,
                                         sorted(used_by)))
        if table:
            lines += ["Options that differ from the release defaults:", "",
                      tabulate(table, headers="keys", tablefmt="github"), ""]
        lines += ["Every option not listed is at its release default (`relate options` and "
                  "docs/options.md list them all with their sources).", ""]
    conventions = sorted(set(frame["convention"]))
    lines += [f"- Evaluation conventions in the metrics files: "
              f"{', '.join(f'`{c}`' for c in conventions)} (the scorecard uses `standard`).", ""]
    return lines


def _option_row(name: str, chosen: str, how: str, variant: str, runs: pd.DataFrame,
                rows: Sequence[str] | None = None) -> dict[str, str]:
    option = OPTION_NAMES.get(name) or OPTION_NAMES.get(name.split(".")[0] + ".<k>")
    rows = rows if rows is not None else sorted(set(runs[runs["variant"] == variant]["row"]))
    return {"option": name, "value": str(chosen),
            "release default": option.default if option else "?",
            "set by": how, "source": option.source if option else "",
            "rows": ", ".join(f"`{r}`" for r in rows)}


def scorecard(
    frame: pd.DataFrame,
    latency: Mapping[str, Any] | None = None,
    convention: str = "standard",
    preset: str = "release",
    dataset_from: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = DEFAULT_LINKS,
) -> str:
    """reports/index.md: the claim verdicts, the interpretations in use and the links."""
    checked = claims(frame, latency, convention, preset, dataset_from)
    counts = {v: sum(c.verdict == v for c in checked) for v in (HOLDS, FAILS, NOT_RUN)}
    seeds = ",".join(map(str, sorted(set(frame["seed"])))) if not frame.empty else "-"
    lines = [
        "# RELATE reproduction: scorecard",
        "",
        data_source_line(frame, dataset_from, paper_column=False),
        f"- Claims checked under convention `{convention}`, preset `{preset}`; seeds {seeds}. "
        "Numbers: mean over seeds of each seed's unweighted mean over splits; Avg = mean of "
        "the five metrics; mean F1 = mean of F1@{10,25,50}.",
        f"- {counts[HOLDS]} hold, {counts[FAILS]} do not hold, {counts[NOT_RUN]} not run.",
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        "## Claims",
        "",
    ]
    for claim in checked:
        lines.append(f"- **{claim.verdict}**: {claim.text} ({claim.where}). `{claim.key}`")
        lines += [f"    - {line}" for line in claim.evidence]
        if claim.note:
            lines.append(f"    - Note: {claim.note}")
    lines.append("")
    lines += interpretations(frame)
    lines += ["## Tables and figures", ""]
    lines += [f"- [{title}]({target})" for title, target in links]
    lines.append("")
    return "\n".join(lines)
