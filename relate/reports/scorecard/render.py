"""Rendering reports/index.md: verdicts, the interpretations in use and the links."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from tabulate import tabulate

from relate.blocks.presets import DISTILLED, OPTION_NAMES, PRESETS, preset_options
from relate.provenance import git_commit
from relate.reports.scorecard.catalogue import claims
from relate.reports.scorecard.evidence import FAILS, HOLDS, NOT_RUN
from relate.reports.scorecard.sanity import DEFAULT_MARGINS, SanityMargins, sanity_lines
from relate.reports.tables import DATASET_TITLES, data_source_line

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


def interpretations(frame: pd.DataFrame) -> list[str]:
    """Markdown lines: per preset in the runs, the options in force and what set them."""
    lines = ["## Interpretations in use", ""]
    if frame.empty:
        return lines + ["No runs.", ""]
    distilled = frame[frame["variant"].isin(DISTILLED)]
    others = sorted(set(frame["variant"]) - set(distilled["variant"]))
    if others:
        lines += [
            f"- Variants {', '.join(f'`{v}`' for v in others)}: the segmenter's official "
            "recipe; presets and options do not apply.",
            "",
        ]
    for preset in PRESETS:
        runs = distilled[distilled["preset"] == preset]
        if runs.empty:
            continue
        rows = sorted(set(runs["row"]))
        lines += [
            f"### Preset `{preset}` ({len(runs)} metrics file(s); rows "
            f"{', '.join(f'`{r}`' for r in rows)})",
            "",
        ]
        table = []
        for variant in sorted(set(runs["variant"])):
            for name, chosen in preset_options(preset, variant).items():
                table.append(_option_row(name, chosen, "preset", variant, runs))
            explicit: dict[tuple[str, str], set[str]] = {}
            for options, row in zip(
                runs[runs["variant"] == variant]["options"], runs[runs["variant"] == variant]["row"]
            ):
                for name, chosen in json.loads(options).items():
                    explicit.setdefault((name, str(chosen)), set()).add(row)
            for (name, chosen), used_by in sorted(explicit.items()):
                table.append(
                    _option_row(name, chosen, "run option", variant, runs, sorted(used_by))
                )
        if table:
            lines += [
                "Options that differ from the release defaults:",
                "",
                tabulate(table, headers="keys", tablefmt="github"),
                "",
            ]
        lines += [
            "Every option not listed is at its release default (`relate options` and "
            "docs/options.md list them all with their sources).",
            "",
        ]
    conventions = sorted(set(frame["convention"]))
    lines += [
        f"- Evaluation conventions in the metrics files: "
        f"{', '.join(f'`{c}`' for c in conventions)} (the scorecard uses `standard`).",
        "",
    ]
    return lines


def _option_row(
    name: str,
    chosen: str,
    how: str,
    variant: str,
    runs: pd.DataFrame,
    rows: Sequence[str] | None = None,
) -> dict[str, str]:
    option = OPTION_NAMES.get(name) or OPTION_NAMES.get(name.split(".")[0] + ".<k>")
    rows = rows if rows is not None else sorted(set(runs[runs["variant"] == variant]["row"]))
    return {
        "option": name,
        "value": str(chosen),
        "release default": option.default if option else "?",
        "set by": how,
        "source": option.source if option else "",
        "rows": ", ".join(f"`{r}`" for r in rows),
    }


def scorecard(
    frame: pd.DataFrame,
    latency: Mapping[str, Any] | None = None,
    convention: str = "standard",
    preset: str = "release",
    dataset_from: Mapping[str, str] | None = None,
    links: Sequence[tuple[str, str]] = DEFAULT_LINKS,
    majority: Mapping[str, float] | None = None,
    margins: SanityMargins = DEFAULT_MARGINS,
) -> str:
    """reports/index.md: the sanity block (when ``majority`` F1@50 per run dataset is
    given), the claim verdicts, the interpretations in use and the links."""
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
        f"- Commit: {git_commit()}; written {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    stands_in = {p: r for p, r in (dataset_from or {}).items() if p != r}
    if majority is not None:
        lines += sanity_lines(frame, majority, margins, stands_in)
    lines += ["## Claims", ""]
    for claim in checked:
        lines.append(f"- **{claim.verdict}**: {claim.text} ({claim.where}). `{claim.key}`")
        lines += [f"    - {line}" for line in claim.evidence]
        used = _stand_ins_of(claim, stands_in)
        if used:
            lines.append(f"    - Data: {used}")
        if claim.note:
            lines.append(f"    - Note: {claim.note}")
    lines.append("")
    lines += interpretations(frame)
    lines += ["## Tables and figures", ""]
    lines += [f"- [{title}]({target})" for title, target in links]
    lines.append("")
    return "\n".join(lines)


def _stand_ins_of(claim: Any, stands_in: Mapping[str, str]) -> str:
    """ "GTEA from `synthetic_gtea`, ..." for the paper datasets a claim's text or evidence
    names (every stand-in when it names none); empty without stand-ins."""
    if not stands_in:
        return ""
    text = " ".join([claim.text, claim.where, *claim.evidence]).lower()
    named = [p for p in stands_in if p in text or DATASET_TITLES.get(p, p).lower() in text]
    chosen = named or list(stands_in)
    return "; ".join(
        f"{DATASET_TITLES.get(p, p)} cells from `{stands_in[p]}`" for p in sorted(chosen)
    )
