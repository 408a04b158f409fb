"""``relate report {table,side,scorecard,fig1,fig4}``: the paper's tables, the side tables,
the scorecard (reports/index.md) and Figs. 1 and 4 from ``relate evaluate`` outputs.

See docs/reports.md. Every output is written atomically; a bad input is one line and exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from relate import io
from relate.blocks.presets import PRESETS
from relate.data.registry import DATASETS
from relate.errors import RelateError
from relate.evaluation.metrics import CONVENTIONS


def _add_metrics_inputs(parser: argparse.ArgumentParser, conventions: bool = True) -> None:
    parser.add_argument(
        "--metrics",
        nargs="+",
        action="extend",
        type=Path,
        default=[],
        metavar="FILE",
        help="`relate evaluate` JSON files (repeatable; the workflow passes dozens)",
    )
    parser.add_argument(
        "--metrics-list",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a text file listing metrics JSON paths, one per line (repeatable)",
    )
    parser.add_argument(
        "--dataset-from",
        action="append",
        default=[],
        metavar="PAPER=SOURCE",
        help="fill the paper dataset's cells from another dataset's runs, e.g. "
        "gtea=synthetic (repeatable; the header says so)",
    )
    parser.add_argument(
        "--stand-in",
        default=None,
        metavar="SOURCE",
        help="fill every paper dataset's cells from dataset SOURCE's runs (e.g. synthetic); "
        "--dataset-from entries take precedence",
    )
    if conventions:
        parser.add_argument(
            "--convention",
            choices=CONVENTIONS,
            default="standard",
            help="evaluation convention of the runs shown (default: standard)",
        )
        parser.add_argument(
            "--preset",
            choices=PRESETS,
            default="release",
            help="preset of the distilled runs shown (default: release)",
        )


def _dataset_from(args: argparse.Namespace) -> dict[str, str]:
    """--stand-in SOURCE for every paper dataset, then the --dataset-from entries."""
    from relate.reports import tables  # pandas: imported only when a report is built

    mapping = {d: args.stand_in for d in tables.DATASET_TITLES} if args.stand_in else {}
    mapping.update(tables.parse_dataset_from(args.dataset_from))
    return mapping


def _no_stand_in(args: argparse.Namespace) -> None:
    if args.dataset_from or args.stand_in:
        raise RelateError(
            "--dataset-from/--stand-in apply to `report table` and `report scorecard`"
        )


def _frame(args: argparse.Namespace):
    from relate.reports import tables  # pandas: imported only when a report is built

    paths = list(args.metrics)
    for listing in args.metrics_list:
        paths += tables.read_path_list(listing)
    if not paths:
        raise RelateError("no metrics files: give --metrics FILE ... or --metrics-list FILE")
    return tables.collect(paths)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="paper tables, side tables, scorecard and Figs. 1/4 from `relate evaluate` JSONs",
        description=(
            "Build the reports (docs/reports.md) from `relate evaluate` outputs: Tables 1-4 "
            "(reproduced mean ± std over seeds, paper value, delta), the convention and "
            "preset side tables, the scorecard of the paper's claims (reports/index.md), "
            "Fig. 1 and Fig. 4. See docs/reports.md."
        ),
    )
    kinds = parser.add_subparsers(dest="report", metavar="KIND", required=True)

    table = kinds.add_parser("table", help="one of the paper's Tables 1-4 (Markdown + CSV)")
    table.add_argument("--table", type=int, choices=(1, 2, 3, 4), required=True)
    _add_metrics_inputs(table)
    table.add_argument(
        "--out",
        type=Path,
        required=True,
        help="Markdown output, e.g. reports/table1.md (CSV written beside)",
    )
    table.set_defaults(handler=run_table)

    side = kinds.add_parser("side", help="side tables: conventions or presets (Markdown + CSV)")
    side.add_argument(
        "--kind",
        choices=("conventions", "presets"),
        required=True,
        help="conventions: standard vs relate_release scoring of RELATE; "
        "presets: release vs paper_literal runs",
    )
    _add_metrics_inputs(side)
    side.add_argument("--out", type=Path, required=True, help="Markdown output (CSV beside)")
    side.set_defaults(handler=run_side)

    card = kinds.add_parser("scorecard", help="which claims of the paper hold (index.md)")
    _add_metrics_inputs(card)
    card.add_argument(
        "--latency",
        type=Path,
        nargs="?",
        default=None,
        const=None,
        metavar="FILE.json",
        help="a `relate latency` JSON; makes the Fig. 3 latency claims checkable "
        "(without it, or with no value, they are 'not run')",
    )
    card.add_argument(
        "--link",
        action="append",
        default=[],
        metavar="TITLE=TARGET",
        help="replace the default link list (repeatable)",
    )
    card.add_argument(
        "--trivial",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE.json",
        help="`relate evaluate` outputs of the trivial predictors; their majority-* files "
        "give the floor of the sanity block that opens the page",
    )
    card.add_argument(
        "--sanity-margins",
        type=float,
        nargs=2,
        default=(20.0, 10.0),
        metavar=("OVER_MAJORITY", "TWO_STREAM_OVER_RGB"),
        help="F1@50 points the sanity block asks for (default: 20 10)",
    )
    card.add_argument("--out", type=Path, required=True, help="Markdown output (reports/index.md)")
    card.set_defaults(handler=run_scorecard)

    fig1 = kinds.add_parser("fig1", help="Fig. 1: Acc and mean F1 of Baseline / MARS / RELATE")
    _add_metrics_inputs(fig1)
    fig1.add_argument("--out", type=Path, required=True, help="PNG output (CSV of bars beside)")
    fig1.set_defaults(handler=run_fig1)

    fig4 = kinds.add_parser("fig4", help="Fig. 4: ground truth and predictions of one video")
    fig4.add_argument("--data", type=Path, required=True, help="dataset folder (MS-TCN layout)")
    fig4.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default=None,
        help="dataset name (time axis in seconds from its fps; else frames)",
    )
    fig4.add_argument("--split", type=int, required=True, help="split whose test set has VIDEO")
    which = fig4.add_mutually_exclusive_group(required=True)
    which.add_argument("--video", help="test video name")
    which.add_argument(
        "--video-index",
        type=int,
        metavar="I",
        help="instead of --video: the I-th (0-based) video of the split's test "
        "bundle, in file order",
    )
    fig4.add_argument(
        "--predictions",
        nargs="+",
        action="extend",
        required=True,
        metavar="LABEL=FILE.npz[:HEAD]",
        help="`relate predict` outputs; HEAD defaults to the head of LABEL's paper row "
        "(relate_wo_pr: joint) or final",
    )
    fig4.add_argument("--out", type=Path, required=True, help="PNG output")
    fig4.set_defaults(handler=run_fig4)

    curves = kinds.add_parser(
        "curves", help="learning curves: training loss and frame accuracy per epoch"
    )
    curves.add_argument(
        "--runs", type=Path, nargs="+", required=True, metavar="RUN_DIR", help="run folders"
    )
    curves.add_argument("--caption", default="", help="figure caption (names the data)")
    curves.add_argument("--out", type=Path, required=True, help="PNG output")
    curves.set_defaults(handler=run_curves)

    study = kinds.add_parser(
        "study",
        help="a controlled study: gains over a baseline row against a swept generator knob",
        description=(
            "Scores (mean ± std), paired gains over --baseline with 95%% intervals, runs "
            "still learning, and a figure of the gains against the knob, from the metrics "
            "JSONs of a study (each names its knob value in `generator`). Writes OUT, and "
            "OUT's .csv and .png beside it. See docs/study_cmkd.md."
        ),
    )
    study.add_argument(
        "--metrics", nargs="+", type=Path, required=True, metavar="FILE",
        help="`relate evaluate` JSONs of the study's runs",
    )  # fmt: skip
    study.add_argument(
        "--probes", nargs="*", type=Path, default=[], metavar="FILE",
        help="`relate synth --describe --json` outputs, one per knob value",
    )  # fmt: skip
    study.add_argument("--knob", required=True, help="the swept generator setting")
    study.add_argument("--baseline", default="rgb", help="row gains are measured against")
    study.add_argument("--reference", default="two_stream", help="row drawn thicker")
    study.add_argument("--out", type=Path, required=True, help="Markdown output")
    study.set_defaults(handler=run_study)


def run_table(args: argparse.Namespace) -> int:
    from relate.reports import tables  # pandas: imported only when a report is built

    frame = _frame(args)
    markdown, csv_frame = tables.paper_table(
        args.table, frame, args.convention, args.preset, _dataset_from(args)
    )
    csv_path = tables.write_table(args.out, markdown, csv_frame)
    ran = csv_frame[csv_frame["status"] == "ok"]
    cells = csv_frame[csv_frame["metric"] != "avg_gain"]
    print(
        f"{args.out} (+ {csv_path.name}): table {args.table}, {len(ran)} of {len(cells)} "
        f"cells run, from {len(frame)} metrics file(s)"
    )
    return 0


def run_side(args: argparse.Namespace) -> int:
    from relate.reports import tables  # pandas: imported only when a report is built

    _no_stand_in(args)
    frame = _frame(args)
    if args.kind == "conventions":
        markdown, csv_frame = tables.convention_table(frame, args.preset)
    else:
        markdown, csv_frame = tables.preset_table(frame, args.convention)
    csv_path = tables.write_table(args.out, markdown, csv_frame)
    print(f"{args.out} (+ {csv_path.name}): {args.kind} side table, {len(frame)} metrics file(s)")
    return 0


def run_scorecard(args: argparse.Namespace) -> int:
    from relate.reports.scorecard import DEFAULT_LINKS, load_latency_totals, scorecard

    frame = _frame(args)
    latency = load_latency_totals(args.latency) if args.latency else None
    links = DEFAULT_LINKS
    if args.link:
        links = []
        for item in args.link:
            title, eq, target = item.partition("=")
            if not eq or not title or not target:
                raise RelateError(f"--link {item!r}: expected TITLE=TARGET")
            links.append((title, target))
    majority = None
    if args.trivial:
        from relate.reports.scorecard.sanity import SanityMargins, majority_f1

        majority = majority_f1(args.trivial)
    margins = SanityMargins(*args.sanity_margins) if args.trivial else None
    text = scorecard(
        frame, latency, args.convention, args.preset, _dataset_from(args), links,
        majority=majority, **({"margins": margins} if margins else {}),
    )  # fmt: skip
    io.write_text(args.out, text)
    verdicts = [line for line in text.splitlines() if line.startswith("- ") and " hold, " in line]
    print(f"{args.out}: {verdicts[0][2:] if verdicts else 'written'}")
    return 0


def run_fig1(args: argparse.Namespace) -> int:
    from relate.reports.figures import fig1

    _no_stand_in(args)
    frame = _frame(args)
    data = fig1(frame, args.out, args.convention, args.preset)
    io.write_text(args.out.with_suffix(".csv"), data.to_csv(index=False, float_format="%.4f"))
    print(f"{args.out}: Fig. 1 with {len(data) // 2} bar(s) per panel")
    return 0


def run_fig4(args: argparse.Namespace) -> int:
    from relate.reports.figures import fig4, predictions_from_specs, test_video

    video = args.video
    if video is None:
        video = test_video(args.data, args.split, args.video_index)
    bars = fig4(
        predictions_from_specs(args.predictions),
        args.data,
        args.split,
        video,
        args.out,
        args.dataset,
    )
    print(f"{args.out}: Fig. 4 of {video!r}, bars: {', '.join(bars)}")
    return 0


def run_curves(args: argparse.Namespace) -> int:
    from relate.reports.curves import learning_curves

    learning_curves(args.runs, args.out, args.caption)
    print(f"{args.out}: learning curves of {len(args.runs)} run(s)")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from relate.reports.study_report import write_study_report

    frame = write_study_report(
        args.metrics, args.probes, args.knob, args.baseline, args.reference, args.out
    )
    print(
        f"{args.out} (+ .csv, .png): {frame['method'].nunique()} methods at "
        f"{frame['value'].nunique()} {args.knob} value(s), from {len(args.metrics)} metrics files"
    )
    return 0
