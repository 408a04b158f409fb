"""``relate params``: parameter counts of every variant for one dataset and segmenter."""

from __future__ import annotations

import argparse
from pathlib import Path

from relate import io
from relate.commands.options import key_values
from relate.data.registry import DATASETS
from relate.errors import RelateError
from relate.segmenters import SEGMENTERS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "params",
        help="parameter counts of every variant (inference, training, frozen, ratio to rgb)",
        description=(
            "Print the parameter table of the baselines (rgb, flow, two_stream at their "
            "official depth), the teacher, RELATE as released, RELATE with naive fusion and "
            "RELATE with param_budget=match_total (the largest depth within the RGB baseline's "
            "count). Models are built on the meta device, so nothing is allocated."
        ),
    )
    parser.add_argument("--dataset", choices=sorted(DATASETS), help="dataset name")
    parser.add_argument("--segmenter", choices=tuple(SEGMENTERS), help="backbone")
    parser.add_argument(
        "--cell",
        dest="cells",
        action="append",
        default=[],
        metavar="DATASET:SEGMENTER",
        help="instead of --dataset/--segmenter: one table per cell, in one file; repeatable",
    )
    parser.add_argument(
        "--num-classes", type=int, help="class count (default: the dataset registry's)"
    )
    parser.add_argument(
        "--option",
        dest="relate_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a RelateSpec option applied to the teacher and RELATE rows (num_layers=4, "
        "bridge=joint, segmenter.num_f_maps=16, ...); repeatable",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE.md",
        help="also write the Markdown table here and the raw numbers to FILE.csv",
    )
    parser.set_defaults(handler=run)


def parse_options(items: list[str]) -> dict[str, str]:
    """``KEY=VALUE`` items -> dict (values parsed later by ``RelateSpec.from_options``)."""
    return key_values(items, "--option")


def _cells(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.cells:
        if args.dataset or args.segmenter or args.num_classes:
            raise RelateError("--cell replaces --dataset, --segmenter and --num-classes")
        cells = []
        for item in args.cells:
            dataset, _, segmenter = item.partition(":")
            if dataset not in DATASETS or segmenter not in SEGMENTERS:
                raise RelateError(
                    f"--cell {item!r}: expected DATASET:SEGMENTER "
                    f"({', '.join(sorted(DATASETS))} : {', '.join(SEGMENTERS)})"
                )
            cells.append((dataset, segmenter))
        return cells
    if not args.dataset or not args.segmenter:
        raise RelateError("give --dataset and --segmenter, or one or more --cell")
    return [(args.dataset, args.segmenter)]


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from relate.tools.params import parameter_table, resolve_num_classes, to_markdown

    options = parse_options(args.relate_options)
    texts, tables = [], []
    for dataset, segmenter in _cells(args):
        try:
            num_classes = resolve_num_classes(dataset, args.num_classes)
            if num_classes < 1:
                raise ValueError(f"--num-classes must be >= 1, got {num_classes}")
            table = parameter_table(segmenter, dataset, num_classes, options)
        except (KeyError, ValueError) as error:
            raise RelateError(str(error.args[0] if error.args else error)) from None
        texts.append(to_markdown(table, segmenter, dataset, num_classes))
        tables.append(table.assign(dataset=dataset, segmenter=segmenter))
    text = "\n".join(texts)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    print(text, end="")
    if args.out is not None:
        csv_path = args.out.with_suffix(".csv")
        io.write_text(csv_path, table.to_csv(index=False))
        io.write_text(args.out, text)
        print(f"wrote {args.out} and {csv_path}")
    return 0
