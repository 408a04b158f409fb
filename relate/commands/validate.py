"""``relate validate``: check a dataset folder in the MS-TCN layout."""

from __future__ import annotations

import argparse
import sys

from relate.data.validate import validate_dataset

EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a dataset folder (features, labels, splits, mapping)",
        description=(
            "Check a dataset folder in the MS-TCN layout. Prints one line per problem "
            "naming the file; exits 0 when valid, 2 when not. Length mismatches between "
            "features and labels are warnings (training truncates to the shorter)."
        ),
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="dataset folder, e.g. data/gtea")
    parser.add_argument(
        "--labels-only",
        action="store_true",
        help="check mapping.txt, splits and groundTruth only (no features)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print problems only, not the summary line"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    report = validate_dataset(
        args.data_dir, labels_only=args.labels_only, progress=sys.stderr.isatty()
    )
    for finding in report.findings:
        print(finding, file=sys.stderr if finding.severity == "error" else sys.stdout)
    if not args.quiet:
        scope = "labels" if args.labels_only else "features and labels"
        status = "valid" if report.ok else f"INVALID ({len(report.errors)} error(s))"
        print(
            f"{report.root}: {status}; checked {scope} of {report.videos} videos, "
            f"{report.splits} splits, {report.classes} classes, {len(report.warnings)} warning(s)"
        )
    return 0 if report.ok else EXIT_INVALID
