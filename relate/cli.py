"""The ``relate`` command line: one subcommand per module in :mod:`relate.commands`.

Every Snakemake rule calls one of these subcommands, and each also runs by hand.
Expected failures print one line, ``error: <path>: <problem>``, to stderr and exit 2: a
:class:`relate.errors.RelateError`, or an ``OSError`` that names a file (a folder where a
file is written, a full disk, no permission). Other exceptions are bugs and keep their
traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from relate.commands import (
    download,
    evaluate,
    features,
    fig3,
    flow,
    latency,
    options_table,
    params,
    parity,
    plan,
    predict,
    report,
    summarize,
    synth,
    synth_videos,
    train,
    train_bridge,
    trivial,
    validate,
)
from relate.errors import RelateError, describe_os_error

COMMANDS = (
    validate,
    synth,
    trivial,
    train,
    train_bridge,
    options_table,
    predict,
    evaluate,
    summarize,
    report,
    params,
    synth_videos,
    flow,
    features,
    latency,
    fig3,
    download,
    parity,
    plan,
)
"""Each module provides ``register(subparsers)``, which sets ``handler`` on its parser."""

EXIT_USER_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="relate",
        description="RELATE reproduction suite: data, training, evaluation and reports.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``relate`` and ``python -m relate``; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.handler(args))
    except RelateError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as error:
        line = describe_os_error(error)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
