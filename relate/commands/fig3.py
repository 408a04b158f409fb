"""``relate fig3``: plot mean F1 against inference time per video (Fig. 3; docs/latency.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from relate.errors import RelateError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "fig3",
        help="plot mean F1 against inference time per video (one point per setup)",
        description=(
            "Fig. 3: read a `relate latency` JSON and each setup's evaluation results, plot "
            "mean F1 (mean of F1@10/25/50) against total time per video on a log axis, and "
            "print RELATE's speedup over two-stream. Missing inputs are an error, never "
            "filled in. See docs/latency.md."
        ),
    )
    parser.add_argument(
        "--latency",
        required=True,
        type=Path,
        metavar="FILE.json",
        help="output of `relate latency`",
    )
    parser.add_argument(
        "--metrics",
        action="append",
        default=[],
        metavar="SETUP=SOURCE",
        help="setup (rgb, flow, two_stream, relate) and its results: comma-separated "
        "`relate evaluate` JSONs (splits/seeds averaged) or SUMMARY.csv#PREDICTOR "
        "(repeat per setup; at least one)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("reports/fig3_latency.png"),
        help="figure path; the plotted numbers go beside it as .json "
        "(default: reports/fig3_latency.png)",
    )
    parser.add_argument("--title", default=None, help="figure title (default: dataset, segmenter)")
    parser.set_defaults(handler=run)


def parse_metrics(items: list[str]) -> dict[str, str]:
    """``SETUP=SOURCE`` items -> {setup: source}; a setup given twice is an error."""
    from relate.tools.latency import SETUPS

    if not items:
        raise RelateError("no --metrics given: Fig. 3 needs each setup's evaluation results")
    metrics: dict[str, str] = {}
    for item in items:
        setup, sep, source = item.partition("=")
        if not sep or setup not in SETUPS or not source:
            raise RelateError(
                f"--metrics {item!r}: expected SETUP=SOURCE with SETUP one of {', '.join(SETUPS)}"
            )
        if setup in metrics:
            raise RelateError(f"--metrics: setup {setup!r} given twice")
        metrics[setup] = source
    return metrics


def run(args: argparse.Namespace) -> int:
    from relate import io
    from relate.reports import fig3

    metrics = parse_metrics(args.metrics)
    latency = fig3.load_latency(args.latency)
    points = fig3.fig3_points(latency, metrics, args.latency)
    fig3.plot_fig3(points, latency, args.out, args.title)
    io.write_json(args.out.with_suffix(".json"), fig3.points_json(points, args.latency, latency))
    for point in points:
        print(f"{point.setup}: {point.seconds:.3f} s per video, mean F1 {point.mean_f1:.1f}")
    ratio = fig3.speedup(latency)
    if ratio is None:
        print("speedup: the latency JSON lacks two_stream or relate")
    else:
        print(
            f"RELATE speedup over two-stream: {ratio:.1f}x "
            f"({latency['setups']['two_stream']['total_median_s']:.2f} s / "
            f"{latency['setups']['relate']['total_median_s']:.2f} s)"
        )
    print(f"wrote {args.out}")
    return 0
