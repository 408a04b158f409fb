"""``relate summarize``: a Markdown + CSV table from ``relate evaluate`` JSON files."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "summarize",
        help="tabulate `relate evaluate` outputs (splits averaged) into Markdown and CSV",
        description=(
            "Group metrics files by dataset, convention and predictor label; average splits."
        ),
    )
    parser.add_argument("metrics", nargs="+", type=Path, help="JSON files from `relate evaluate`")
    parser.add_argument(
        "--out", required=True, type=Path, help="Markdown output (CSV written beside)"
    )
    parser.add_argument(
        "--title", default="Evaluation summary", help="heading of the Markdown file"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from relate.reports.summary import write_summary  # pandas: only when summarising

    table = write_summary(args.metrics, args.out, args.title)
    print(f"{args.out}: {len(table)} row(s)")
    return 0
