"""``relate options``: every option of the distilled variants and the two presets."""

from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from relate import io


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "options",
        help="list every --option of relate/kd/rkd/gcr/mars with its release and paper_literal value",
        description=(
            "Print the table of options (name, values, release default, the value the "
            "paper_literal preset selects, variants, source in reference-relate-release.md). "
            "docs/options.md is this table."
        ),
    )
    parser.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    parser.set_defaults(handler=run)


def render() -> str:
    """The Markdown table of :data:`relate.presets.OPTIONS`."""
    from relate.presets import options_table

    rows = options_table()
    return tabulate(rows, headers="keys", tablefmt="github") + "\n"


def run(args: argparse.Namespace) -> int:
    text = render()
    if args.out is not None:
        io.write_text(args.out, text)
    print(text, end="")
    return 0
