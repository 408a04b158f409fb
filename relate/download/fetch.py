"""Get a file from its sources (mirrors in order), verify it, and put it in place atomically.

:func:`obtain` downloads into ``.{name}.{key}.part`` beside the target, verifies the
complete file against the accepted checksums, and only then renames it onto the target.
:mod:`relate.download.install` builds the three kinds of download on it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from relate.download.http import HttpOptions, download, url_scheme
from relate.download.sources import Checksum, Source
from relate.download.verify import file_digest, matching_checksum
from relate.errors import DataError, RelateError

logger = logging.getLogger(__name__)

LFS_SIGNATURE = b"version https://git-lfs"


@dataclass(frozen=True)
class FetchOptions:
    """Choices shared by every install.

    Attributes:
        cache_dir: where archives are downloaded (kept for reuse; delete by hand).
        from_file: use this local file instead of downloading (still verified).
        url: download from this URL instead of the built-in sources.
        sha256: expected sha256, replacing the built-in checksum.
        allow_unpinned: accept a file no checksum is known for (its sha256 is recorded).
        force: replace existing outputs that were not installed by this tool or differ.
        http: timeouts, retries, progress.
    """

    cache_dir: Path = Path("resources/downloads")
    from_file: Path | None = None
    url: str | None = None
    sha256: Checksum | None = None
    allow_unpinned: bool = False
    force: bool = False
    http: HttpOptions = field(default_factory=HttpOptions)


@dataclass(frozen=True)
class Obtained:
    """A verified local file and where it came from."""

    path: Path
    source: str
    url: str | None
    checksum: Checksum
    pinned: bool


def required_checksums(source: Source, options: FetchOptions) -> list[Checksum]:
    """Checksums a file from ``source`` must match: --sha256, else the pinned one, else none."""
    if options.sha256 is not None:
        return [options.sha256]
    return [source.checksum] if source.checksum is not None else []


def part_path(target: Path, accepted: Sequence[Checksum], url: str) -> Path:
    """The ``.part`` file for ``target``: keyed by the expected content, else by the URL."""
    key = accepted[0].value[:12] if accepted else hashlib.sha256(url.encode()).hexdigest()[:12]
    return target.with_name(f".{target.name}.{key}.part")


def _is_lfs_pointer(path: Path) -> bool:
    """True for a Git LFS pointer file (what a forge serves when the real bytes live elsewhere)."""
    with open(path, "rb") as fh:
        return fh.read(len(LFS_SIGNATURE)) == LFS_SIGNATURE and path.stat().st_size < 1024


def _unpinned(path: Path, progress: bool) -> Checksum:
    digest = Checksum("sha256", file_digest(path, "sha256", progress))
    logger.warning("%s: accepted without a known checksum (--allow-unpinned); %s", path, digest)
    return digest


def _judge(
    path: Path, required: Sequence[Checksum], known: Sequence[Checksum], options: FetchOptions
) -> tuple[Checksum | None, bool, str]:
    """Decide whether ``path`` may be used: (checksum it matched, pinned?, why not).

    ``required``: it must match one (a pinned source, or --sha256). Otherwise ``known``
    (the pinned checksums of archives that hold the same data): a match counts as pinned;
    no match is accepted only with --allow-unpinned, recording the file's sha256.
    """
    progress = options.http.progress
    if required:
        match = matching_checksum(path, required, progress)
        if match is not None:
            return match, True, ""
        actual = file_digest(path, required[0].kind)
        return None, False, f"{required[0].kind} is {actual}, expected {required[0].value}"
    match = matching_checksum(path, known, progress) if known else None
    if match is not None:
        return match, True, ""
    if options.allow_unpinned:
        return _unpinned(path, progress), False, ""
    actual = file_digest(path, "sha256")
    expected = ", ".join(str(c) for c in known) or "none known"
    return (
        None,
        False,
        (
            f"sha256 is {actual}, which matches no accepted checksum ({expected}); "
            "pass --sha256 HEX or --allow-unpinned"
        ),
    )


def obtain(
    sources: Sequence[Source],
    target_for: Callable[[Source], Path],
    options: FetchOptions,
    known: Sequence[Checksum] = (),
) -> Obtained:
    """Download the first source (each mirror in turn) whose file :func:`_judge` accepts.

    A finished target that is accepted is reused without downloading. A source with
    neither a required nor a ``known`` checksum is skipped, before any transfer, unless
    ``options.allow_unpinned``. Raises one RelateError listing why every source failed.
    """
    failures: list[str] = []
    for source in sources:
        required = required_checksums(source, options)
        if not required and not known and not options.allow_unpinned:
            failures.append(
                f"{source.name}: skipped, no known checksum (pass --sha256 or --allow-unpinned)"
            )
            continue
        target = target_for(source)
        if target.is_file():
            match, pinned, why = _judge(target, required, known, options)
            if match is not None:
                logger.info("%s: already downloaded and accepted", target)
                return Obtained(target, source.name, None, match, pinned)
            logger.warning("%s: %s; downloading again (replaced once verified)", target, why)
        for url in source.urls:
            part = part_path(target, required, url)
            try:
                download(url, part, options.http, source.size)
            except RelateError as error:
                failures.append(str(error))
                continue
            if _is_lfs_pointer(part):
                failures.append(f"{url}: served a Git LFS pointer, not the file")
                part.unlink()
                continue
            match, pinned, why = _judge(part, required, known, options)
            if match is None:
                failures.append(f"{url}: {why}")
                part.unlink()
                continue
            os.replace(part, target)
            logger.info("%s: downloaded from %s (%s)", target, url, match)
            return Obtained(target, source.name, url, match, pinned)
    names = ", ".join(s.name for s in sources) or "none"
    raise RelateError(f"no source worked ({names}): " + "; ".join(failures))


def obtain_local(path: Path, known: Sequence[Checksum], options: FetchOptions) -> Obtained:
    """Check a file the user downloaded by hand (``--from-file``) with :func:`_judge`."""
    if not path.is_file():
        raise DataError(path, "no such file")
    required = [options.sha256] if options.sha256 is not None else []
    match, pinned, why = _judge(path, required, known, options)
    if match is None:
        raise DataError(path, why)
    return Obtained(path, "--from-file", None, match, pinned)


def url_source(url: str) -> Source:
    """A one-mirror source for ``--url``; its cache name is keyed by the URL."""
    url_scheme(url)
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "download"
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Source(name="--url", filename=f"url-{key}-{safe}", urls=(url,), checksum=None)
