"""``relate parity``: compare our RELATE with the authors' code release, number by number."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from relate import io
from relate.commands.options import key_values
from relate.errors import RelateError

EXIT_MISMATCH = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "parity",
        help="compare our RELATE with the authors' release (same weights, same input)",
        description=(
            "Load the release (github.com/Hsj303/RELATE) from a local checkout, give its "
            "segmenters, teacher and AFT the same random weights as ours, feed both the same "
            "random input and print the largest absolute difference of every head, the CMKD "
            "losses, a seeded train step, prediction refinement and the evaluator. Exits 1 "
            "when any row misses its tolerance. Gradients are compared in float64. See "
            "docs/parity.md."
        ),
    )
    parser.add_argument(
        "--release",
        required=True,
        type=Path,
        metavar="PATH",
        help="checkout of github.com/Hsj303/RELATE",
    )
    parser.add_argument(
        "--segmenters",
        default="mstcn,asformer",
        metavar="LIST",
        help="comma-separated: mstcn, asformer (default: both)",
    )
    parser.add_argument(
        "--frames",
        type=int,
        default=300,
        metavar="T",
        help="frames of the random input (default 300)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and data (0)")
    parser.add_argument(
        "--dataset", default="gtea", help="dataset name for our RelateSpec (default gtea)"
    )
    parser.add_argument(
        "--num-classes", type=int, default=11, metavar="C", help="class count (default 11, GTEA)"
    )
    parser.add_argument(
        "--option",
        dest="relate_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a RelateSpec option for our side only; prefix the key with 'mstcn:' or "
        "'asformer:' to apply it to one segmenter (e.g. "
        "asformer:segmenter.channel_mask_rate=0.3); repeatable",
    )
    parser.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="precision of both models (default float32, as released); the "
        "gradient rows compare a float64 copy of the train step either way",
    )
    parser.add_argument(
        "--no-train", action="store_true", help="skip the seeded train-mode rows (loss, gradients)"
    )
    parser.add_argument(
        "--no-evaluator",
        action="store_true",
        help="skip the evaluator rows (they run scripts/evaluate.py 3 times)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE.md|FILE.json",
        help="also write the table (.md) or every row and setting (.json)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from relate.provenance import provenance
    from relate.tools.parity import run_parity

    if args.out is not None and args.out.suffix not in (".md", ".json"):
        raise RelateError(f"--out {args.out}: expected a .md or .json file")
    segmenters = [s.strip() for s in args.segmenters.split(",") if s.strip()]
    report = run_parity(
        args.release,
        segmenters,
        frames=args.frames,
        seed=args.seed,
        dataset=args.dataset,
        num_classes=args.num_classes,
        options=key_values(args.relate_options, "--option"),
        train=not args.no_train,
        evaluator=not args.no_evaluator,
        dtype=args.dtype,
    )
    command = "relate " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else ""
    header = (
        f"release {report.release_path} at commit {report.release_commit}; "
        f"T = {args.frames}, seed {args.seed}, C = {args.num_classes}, {args.dtype}"
    )
    print(header)
    print(report.table())
    failures = report.failures
    verdict = (
        f"{len(report.rows)} rows, all within tolerance"
        if not failures
        else f"{len(failures)} of {len(report.rows)} rows FAIL: "
        + "; ".join(f"{r.segmenter} {r.quantity}" for r in failures)
    )
    print(verdict)
    if args.out is not None:
        if args.out.suffix == ".json":
            payload = report.to_dict()
            payload["command"] = command
            payload["provenance"] = provenance()
            io.write_json(args.out, payload)
        else:
            text = (
                f"# Parity with the RELATE release\n\n`{command}`\n\n{header}\n\n"
                f"{report.table()}\n\n{verdict}\n"
            )
            io.write_text(args.out, text)
        print(f"wrote {args.out}")
    return 0 if not failures else EXIT_MISMATCH
