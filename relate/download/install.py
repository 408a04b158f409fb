"""The three installs: features folders, raw-video folders and I3D weight files.

Each gets its file through :mod:`relate.download.fetch` (verified), then extracts or copies
it into place atomically, and skips work an earlier run finished: a receipt,
``.download.json``, written last into an installed folder, or weights that verify.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from relate.download.extract import extract_selected, list_members
from relate.download.fetch import (
    FetchOptions,
    Obtained,
    obtain,
    obtain_local,
    required_checksums,
    url_source,
)
from relate.download.lock import ChecksumLock
from relate.download.members import select_dataset, select_videos
from relate.download.sources import (
    FEATURE_SOURCES,
    FEATURES_BY_HAND,
    I3D_WEIGHTS,
    VIDEO_PAGES,
    VIDEO_SOURCES,
    Checksum,
    Source,
)
from relate.download.verify import matching_checksum
from relate.errors import DataError, RelateError
from relate.io import atomic_path

logger = logging.getLogger(__name__)

RECEIPT = ".download.json"
"""Written last into each installed folder: where its content came from, and that it is whole."""


@dataclass(frozen=True)
class Installed:
    """One output of an install: the dataset or stream, its path, and its origin."""

    key: str
    path: Path
    skipped: bool
    source: str = ""
    checksum: str = ""
    pinned: bool = True
    files: int = 0
    bytes: int = 0
    verified_by: str = ""


def _pinned(sources: Sequence[Source]) -> list[Checksum]:
    return [s.checksum for s in sources if s.checksum is not None]


def _known(sources: Sequence[Source], options: FetchOptions) -> list[Checksum]:
    """Checksums a file given with --from-file/--url may match: pinned, then locked ones."""
    locked = ChecksumLock(options.lock_path).entries()
    extra = [locked[s.filename].checksum for s in sources if s.filename in locked]
    return list(dict.fromkeys([*_pinned(sources), *extra]))


def _get_archive(
    sources: Sequence[Source], options: FetchOptions, what: str, hint: str
) -> Obtained:
    """The archive holding ``what``: --from-file, --url or the built-in sources."""
    if options.from_file is not None:
        return obtain_local(options.from_file, _known(sources, options), options)

    def in_cache(source: Source) -> Path:
        return options.cache_dir / source.filename

    if options.url is not None:
        try:
            return obtain(
                [url_source(options.url)], in_cache, options, known=_known(sources, options)
            )
        except DataError:
            raise
        except RelateError as error:
            raise RelateError(f"{what}: {error}") from None
    if not sources:
        raise RelateError(f"{what}: no direct download is known; {hint}")
    try:
        return obtain(sources, in_cache, options)
    except DataError:
        raise  # a malformed checksum lock: named by its path, no hint needed
    except RelateError as error:
        raise RelateError(f"{what}: {error}; {hint}") from None


def _receipt(key: str, obtained: Obtained, files: int) -> bytes:
    record = {
        "tool": "relate download",
        "key": key,
        "source": obtained.source,
        "url": obtained.url,
        "file": obtained.path.name,
        "checksum": str(obtained.checksum),
        "pinned": obtained.pinned,
        "files": files,
    }
    if obtained.verified_by:
        record["verified_by"] = obtained.verified_by
    return (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()


def _install_folder(
    key: str,
    dest: Path,
    sources: Sequence[Source],
    select: Callable[[str, list, str], dict[str, str]],
    options: FetchOptions,
    labels: tuple[str, str],
    reuse: dict[str, Obtained],
) -> Installed:
    """Extract ``key``'s part of its archive into ``dest`` unless a receipt says it is done.

    ``labels`` is (what, hint) for messages; ``reuse`` maps a source name (or ``--input``
    for --from-file/--url) to the archive already obtained in this run.
    """
    receipt = dest / RECEIPT
    if receipt.is_file() and not options.force:
        logger.info("%s: already installed (%s)", dest, receipt)
        return Installed(key, dest, skipped=True)
    if dest.exists() and any(dest.iterdir()) and not receipt.is_file() and not options.force:
        raise DataError(
            dest, "exists and was not installed by relate download; move it away or pass --force"
        )
    if options.from_file is not None or options.url is not None:
        held = reuse.get("--input")
    else:
        held = next((reuse[s.name] for s in sources if s.name in reuse), None)
    obtained = held or _get_archive(sources, options, *labels)
    reuse["--input" if options.from_file or options.url else obtained.source] = obtained
    plan = select(str(obtained.path), list_members(obtained.path), key)
    size = extract_selected(
        obtained.path,
        plan,
        dest,
        extra_files={RECEIPT: _receipt(key, obtained, len(plan))},
        progress=options.http.progress,
    )
    return Installed(
        key,
        dest,
        False,
        obtained.source,
        str(obtained.checksum),
        obtained.pinned,
        len(plan),
        size,
        obtained.verified_by,
    )


def install_features(
    datasets: Sequence[str],
    out_dir: str | Path,
    options: FetchOptions,
    sources: Mapping[str, Sequence[Source]] | None = None,
) -> list[Installed]:
    """Install each dataset's MS-TCN folder as ``out_dir/{dataset}``.

    The folder gets features/, groundTruth/, splits/, mapping.txt and the receipt.
    ``sources`` defaults to :data:`FEATURE_SOURCES` (read when called).
    """
    sources = FEATURE_SOURCES if sources is None else sources
    reuse: dict[str, Obtained] = {}
    results = []
    for dataset in datasets:
        labels = (
            f"{dataset} features",
            f"or get data.zip by hand ({FEATURES_BY_HAND}) and pass --from-file",
        )
        results.append(
            _install_folder(
                dataset,
                Path(out_dir) / dataset,
                sources.get(dataset, ()),
                select_dataset,
                options,
                labels,
                reuse,
            )
        )
    return results


def install_videos(
    datasets: Sequence[str],
    out_dir: str | Path,
    options: FetchOptions,
    sources: Mapping[str, Sequence[Source]] = VIDEO_SOURCES,
) -> list[Installed]:
    """Install each dataset's raw videos as ``out_dir/{dataset}/videos/{video}.{ext}``."""
    reuse: dict[str, Obtained] = {}
    results = []
    for dataset in datasets:
        page = VIDEO_PAGES.get(dataset, "the dataset's page")
        labels = (f"{dataset} videos", f"get the archive from {page} and pass --from-file")
        results.append(
            _install_folder(
                dataset,
                Path(out_dir) / dataset / "videos",
                sources.get(dataset, ()),
                select_videos,
                options,
                labels,
                reuse,
            )
        )
    return results


def _fixed(path: Path) -> Callable[[Source], Path]:
    """A ``target_for`` that puts every source's file at ``path``."""

    def target_for(_: Source) -> Path:
        return path

    return target_for


def identify_weights(path: Path, weights: Mapping[str, Source] = I3D_WEIGHTS) -> str:
    """The stream whose pinned checksum ``path`` matches (``--from-file`` without ``--stream``)."""
    if not path.is_file():
        raise DataError(path, "no such file")
    for stream, source in weights.items():
        if source.checksum is not None and matching_checksum(path, [source.checksum]) is not None:
            return stream
    known = ", ".join(f"{s} {src.checksum}" for s, src in weights.items())
    raise DataError(path, f"is none of the known I3D weight files ({known}); name it with --stream")


def install_i3d_weights(
    streams: Sequence[str],
    out_dir: str | Path,
    options: FetchOptions,
    weights: Mapping[str, Source] = I3D_WEIGHTS,
) -> list[Installed]:
    """Place each stream's pytorch-i3d weights at ``out_dir/{stream}_imagenet.pt``, verified."""
    results = []
    for stream in streams:
        source = weights[stream]
        dest = Path(out_dir) / source.filename
        required = required_checksums(source, options)
        if dest.is_file():
            match = matching_checksum(dest, required) if required else None
            if match is not None:
                logger.info("%s: already present and verified", dest)
                results.append(Installed(stream, dest, skipped=True, checksum=str(match)))
                continue
            if not options.force:
                expected = required[0] if required else "a known checksum"
                raise DataError(
                    dest, f"exists but does not match {expected}; pass --force to replace it"
                )
        known = [source.checksum] if source.checksum is not None else []
        if options.from_file is not None:
            obtained = obtain_local(options.from_file, known, options)
            with atomic_path(dest) as tmp:
                shutil.copyfile(obtained.path, tmp)
        elif options.url is not None:
            obtained = obtain([url_source(options.url)], _fixed(dest), options, known=known)
        else:
            obtained = obtain([source], _fixed(dest), options)
        results.append(
            Installed(
                stream,
                dest,
                False,
                obtained.source,
                str(obtained.checksum),
                obtained.pinned,
                1,
                dest.stat().st_size,
            )
        )
    return results
