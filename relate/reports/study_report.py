"""The controlled study's report: Markdown tables (scores, paired gains, runs still learning,
what RGB alone tells apart) and the CSV behind them; the figure is in
:mod:`relate.reports.study_figure`."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from relate import io
from relate.errors import DataError
from relate.reports.study import STILL_FALLING, STUDY_METRICS, StudyRun, read_study_run, study_frame

TITLES = dict(STUDY_METRICS)


def read_probe(path: Path, knob: str) -> dict[str, float]:
    """One ``relate synth --describe --json`` output: the knob's value and the probes'
    within-pair and frame accuracies (%)."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        value = float(record["generator"]["config"][knob])
        modalities = record["modalities"]
        return {
            "value": value,
            "split": int(record["split"]),
            **{
                f"{name} {what}": 100.0 * float(modalities[name][key])
                for name in ("rgb", "flow", "rgb+flow")
                for what, key in (("within-pair", "within_pair_acc"), ("frame", "frame_acc"))
            },
        }
    except OSError as error:
        raise DataError(path, f"cannot read probe JSON ({error.strerror or error})") from None
    except (ValueError, KeyError, TypeError) as error:
        raise DataError(
            path, f"not a probe of a swept synthetic dataset (`relate synth --describe`): {error}"
        ) from None


def _ranges(values: Sequence[int]) -> str:
    return ", ".join(str(v) for v in sorted(set(values)))


def _value(value: float) -> str:
    return f"{value:g}"


def header(runs: Sequence[StudyRun], knob: str, baseline: str) -> list[str]:
    """Title and provenance lines: data, knob values, seeds, splits, epochs, commit."""
    segmenters = sorted({r.segmenter for r in runs})

    def of(segmenter: str, what: str) -> list:
        return sorted({getattr(r, what) for r in runs if r.segmenter == segmenter} - {None})

    values = "; ".join(f"{s} {', '.join(_value(v) for v in of(s, 'value'))}" for s in segmenters)
    epochs = "; ".join(f"{s} {'/'.join(str(e) for e in of(s, 'epochs'))}" for s in segmenters)
    written = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    return [
        f"# When does distilling flow into an RGB student help? Gains over {baseline} "
        f"against `{knob}`",
        "",
        "- Data: **SYNTHETIC**, one stand-in generated anew at each value of the generator "
        f"knob `{knob}` (everything else equal): " + "; ".join(sorted({r.data for r in runs})),
        f"- `{knob}` values: {values}",
        f"- Seeds: {_ranges([r.seed for r in runs])}; splits: {_ranges([r.split for r in runs])}"
        " (every method at every value: each split x seed)",
        f"- Epochs: {epochs}",
        f"- Gains: per (split, seed) the method's score minus {baseline}'s (same data, split "
        "and seed), then the mean and its 95% Student-t interval",
        f"- Commit: {', '.join(sorted({r.commit for r in runs}))}; written {written}; "
        + "; ".join(sorted({r.machine for r in runs})),
    ]


def _pivot(frame: pd.DataFrame, cell, methods: Sequence[str]) -> list[list[str]]:
    rows = []
    for (value, metric), group in frame.groupby(["value", "metric"], sort=False):
        by_method = group.set_index("method")
        rows.append([_value(value), TITLES[metric]] + _cells(by_method, cell, methods))
    return rows


def _cells(by_method: pd.DataFrame, cell, methods: Sequence[str]) -> list[str]:
    """``cell`` of each method's row, "-" for a method without runs at this value."""
    return [cell(by_method.loc[m]) if m in by_method.index else "-" for m in methods]


def _score(row: pd.Series) -> str:
    return f"{row['mean']:.1f} ± {row['std']:.1f}"


def _gain(row: pd.Series) -> str:
    if row["pairs"] == 0:
        return "-"
    if math.isnan(row["gain_lo"]):
        return f"{row['gain']:+.1f}"
    return f"{row['gain']:+.1f} [{row['gain_lo']:+.1f}, {row['gain_hi']:+.1f}]"


def _learning(row: pd.Series) -> str:
    if row["learning_known"] == 0:
        return "?"
    return f"{row['learning']}/{row['learning_known']}"


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    order = {key: i for i, (key, _) in enumerate(STUDY_METRICS)}
    return frame.assign(_m=frame["metric"].map(order)).sort_values(["value", "_m"], kind="stable")


def segmenter_section(frame: pd.DataFrame, segmenter: str, baseline: str, knob: str) -> list[str]:
    """The three tables of one segmenter."""
    part = _ordered(frame[frame["segmenter"] == segmenter])
    methods = list(dict.fromkeys([baseline, *part["method"]]))
    others = [m for m in methods if m != baseline]
    n = int(part["n"].max())
    lines = [f"## {segmenter}", ""]
    lines += [f"Scores: mean ± std over the {n} runs (splits x seeds) of each method.", ""]
    lines.append(
        tabulate(_pivot(part, _score, methods), [knob, "metric", *methods], tablefmt="github")
    )
    lines += ["", f"Gain over {baseline}: mean [95% interval] of the paired differences.", ""]
    lines.append(
        tabulate(_pivot(part, _gain, others), [knob, "metric", *others], tablefmt="github")
    )
    learning = part[part["metric"] == STUDY_METRICS[0][0]]
    lines += [
        "",
        "Runs still learning when the schedule ended (training loss over the last 10% of "
        f"epochs more than {100 * STILL_FALLING:g}% below the 10% before), of the runs with "
        "a training log:",
        "",
        tabulate(
            [
                [_value(value)] + _cells(g.set_index("method"), _learning, methods)
                for value, g in learning.groupby("value", sort=True)
            ],
            [knob, *methods],
            tablefmt="github",
        ),
        "",
    ]
    return lines


def probe_section(probes: Sequence[dict[str, float]], knob: str) -> list[str]:
    """What linear per-frame probes tell apart at each value (the knob's meaning)."""
    if not probes:
        return []
    columns = ["rgb within-pair", "flow within-pair", "rgb frame", "rgb+flow frame"]
    rows = [[_value(p["value"])] + [f"{p[c]:.1f}" for c in columns] for p in probes]
    split = ", ".join(str(s) for s in sorted({p["split"] for p in probes}))
    return [
        "## What RGB alone can tell apart",
        "",
        f"Linear per-frame probes trained on the training videos of split {split} and tested "
        "on its test videos (`relate synth --describe`), accuracy %. *Within-pair*: frames of "
        "the two members of a motion pair, told apart (chance 50); only motion separates "
        "them, so this is how much of the motion RGB carries at each value.",
        "",
        tabulate(rows, [knob, *columns], tablefmt="github"),
        "",
    ]


def write_study_report(
    metrics: Sequence[Path],
    probes: Sequence[Path],
    knob: str,
    baseline: str,
    reference: str,
    out: Path,
) -> pd.DataFrame:
    """Write ``out`` (Markdown), its CSV and PNG beside it; return the CSV's frame."""
    from relate.reports.study_figure import study_figure  # matplotlib: only here

    runs = [read_study_run(path, knob) for path in metrics]
    if not runs:
        raise DataError(Path("--metrics"), "no metrics files")
    methods = {r.method for r in runs}
    for role, row in (("baseline", baseline), ("reference", reference)):
        if row not in methods:
            raise DataError(
                Path("--metrics"), f"no scores of the {role} {row!r} (have: {sorted(methods)})"
            )
    frame = study_frame(runs, baseline)
    probe_rows = sorted((read_probe(p, knob) for p in probes), key=lambda p: p["value"])
    lines = header(runs, knob, baseline) + [""]
    lines += [f"![Gain over {baseline} against {knob}]({out.with_suffix('.png').name})", ""]
    lines += probe_section(probe_rows, knob)
    for segmenter in sorted(frame["segmenter"].unique()):
        lines += segmenter_section(frame, segmenter, baseline, knob)
    study_figure(frame, knob, baseline, reference, out.with_suffix(".png"))
    io.write_text(out.with_suffix(".csv"), frame.to_csv(index=False, float_format="%.4f"))
    io.write_text(out, "\n".join(lines))
    return frame
