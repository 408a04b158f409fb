"""``relate download``: fetch the features archive, the I3D weights or raw videos, verified."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from relate.download.sources import (
    DATASET_NAMES,
    MAX_BYTES,
    STREAMS,
    Source,
    all_sources,
    parse_sha256,
)
from relate.errors import RelateError

if TYPE_CHECKING:
    from relate.download.install import Installed

WHATS = ("features", "i3d-weights", "videos")
DEFAULT_OUT = {
    "features": Path("data"),
    "i3d-weights": Path("resources/i3d"),
    "videos": Path("resources"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download and verify the features archive, the I3D weights or raw videos",
        description=(
            "Download a file from its known sources (mirrors tried in order), verify its "
            "checksum before use, and put it in place atomically. features: the MS-TCN "
            "archive, extracted to OUT/{dataset}/ (features, groundTruth, splits, mapping.txt). "
            "i3d-weights: pytorch-i3d rgb_imagenet.pt / flow_imagenet.pt in OUT/, checked by git "
            "blob SHA-1. videos: a raw-video archive, extracted to OUT/{dataset}/videos/. "
            "A file with no pinned checksum is checked against the checksum its host publishes "
            "(Zenodo md5, Hugging Face LFS sha256) and its sha256 is locked in the checksum "
            "lock, which later runs check first. "
            "Interrupted downloads resume; finished outputs are skipped. See docs/downloads.md."
        ),
    )
    parser.add_argument("--what", choices=WHATS, help="what to download")
    parser.add_argument(
        "--dataset",
        action="append",
        choices=DATASET_NAMES,
        default=[],
        metavar="D",
        help=f"dataset for features/videos, repeatable ({', '.join(DATASET_NAMES)})",
    )
    parser.add_argument(
        "--stream",
        action="append",
        choices=STREAMS,
        default=[],
        metavar="S",
        help="I3D stream for i3d-weights, repeatable (rgb, flow; default: both)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: data for features, resources/i3d for i3d-weights, "
        "resources for videos)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path("resources/downloads"),
        metavar="DIR",
        help="where archives are downloaded and kept (default: resources/downloads)",
    )
    parser.add_argument(
        "--lock",
        type=Path,
        metavar="FILE",
        help="checksum lock: sha256 of files accepted through a published checksum or "
        "--allow-unpinned, checked first on later runs (default: CACHE/checksums.lock)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-file",
        type=Path,
        metavar="PATH",
        help="use an archive or weight file you downloaded by hand (still verified)",
    )
    source.add_argument(
        "--url", metavar="URL", help="download from URL instead of the built-in sources"
    )
    parser.add_argument(
        "--sha256",
        metavar="HEX",
        help="expected sha256 of the file (replaces the built-in checksum)",
    )
    parser.add_argument(
        "--allow-unpinned",
        action="store_true",
        help="accept a file for which no checksum is known (its sha256 is printed and locked)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace existing outputs (a folder without a receipt, or weights that do not verify)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds to wait for a connection or for data (default: 60)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="resumptions after a dropped connection, per URL (default: 3)",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=MAX_BYTES,
        metavar="N",
        help=f"largest download accepted, declared or streamed (default: {MAX_BYTES})",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show progress bars (default: when stderr is a terminal)",
    )
    parser.add_argument("--list", action="store_true", help="print the built-in sources and exit")
    parser.set_defaults(handler=run)


def _check_args(args: argparse.Namespace) -> None:
    if args.what is None:
        raise RelateError(
            "relate download: --what is required (features, i3d-weights or videos), or --list"
        )
    if args.what == "i3d-weights":
        if args.dataset:
            raise RelateError("--dataset does not apply to --what i3d-weights (use --stream)")
        if args.url and len(args.stream) != 1:
            raise RelateError("--url with --what i3d-weights needs exactly one --stream")
        if args.from_file and len(args.stream) > 1:
            raise RelateError("--from-file with --what i3d-weights takes at most one --stream")
    else:
        if not args.dataset:
            raise RelateError(
                f"--what {args.what} needs at least one --dataset ({', '.join(DATASET_NAMES)})"
            )
        if args.stream:
            raise RelateError(f"--stream applies only to --what i3d-weights, not {args.what}")
    if args.retries < 0 or args.timeout <= 0 or args.max_bytes <= 0:
        raise RelateError("--retries must be >= 0, --timeout and --max-bytes > 0")


def _describe(item: Installed, what: str) -> str:
    if item.skipped:
        return f"{item.key}: {item.path} already in place (receipt or checksum); --force to replace"
    if not item.pinned:
        trust = "NOT verified (no known checksum)"
    elif item.verified_by:
        trust = f"verified by {item.verified_by}"
    else:
        trust = "verified"
    detail = f"{item.files} files, " if what != "i3d-weights" else ""
    return (
        f"{item.key}: installed {item.path} ({detail}{item.bytes / 1e6:.1f} MB) "
        f"from {item.source}, "
        f"{trust}, {item.checksum}"
    )


PUBLISHED = {
    "zenodo": "md5 from the Zenodo record API, then locked",
    "huggingface": "LFS sha256 from the Hugging Face API, then locked",
}


def _checksum_text(source: Source) -> str:
    if source.checksum is not None:
        return str(source.checksum)
    if source.published is not None:
        return PUBLISHED[source.published]
    return "none (needs --sha256 or --allow-unpinned)"


def print_sources() -> None:
    from tabulate import tabulate

    rows = [
        [what, key, s.name, s.size_text, _checksum_text(s), s.urls[0]]
        for what, key, s in all_sources()
    ]
    print(
        tabulate(
            rows,
            headers=["what", "for", "source", "size", "checksum", "first URL"],
            tablefmt="github",
        )
    )


def run(args: argparse.Namespace) -> int:
    from relate.download.fetch import FetchOptions
    from relate.download.http import HttpOptions
    from relate.download.install import (
        RECEIPT,
        identify_weights,
        install_features,
        install_i3d_weights,
        install_videos,
    )

    if args.list:
        print_sources()
        return 0
    _check_args(args)
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    options = FetchOptions(
        cache_dir=args.cache,
        from_file=args.from_file,
        url=args.url,
        sha256=parse_sha256(args.sha256) if args.sha256 else None,
        allow_unpinned=args.allow_unpinned,
        force=args.force,
        lock=args.lock,
        http=HttpOptions(
            timeout=args.timeout,
            retries=args.retries,
            progress=progress,
            max_bytes=args.max_bytes,
        ),
    )
    out = args.out if args.out is not None else DEFAULT_OUT[args.what]
    if args.what == "features":
        results = install_features(args.dataset, out, options)
    elif args.what == "videos":
        results = install_videos(args.dataset, out, options)
    else:
        streams = args.stream or list(STREAMS)
        if args.from_file and not args.stream:
            streams = [identify_weights(args.from_file)]
        results = install_i3d_weights(streams, out, options)
    for item in results:
        print(_describe(item, args.what))
    if any(not item.pinned for item in results if not item.skipped):
        print(
            f"note: the sha256 above is locked in {options.lock_path} and in the receipts "
            f"({RECEIPT}); later runs accept only that file"
        )
    return 0
