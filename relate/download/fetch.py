"""Get a file from its sources (mirrors in order), verify it, and put it in place atomically.

:func:`obtain` decides what a source's file must match (``--sha256``, else the checksum
pinned in the table, else the checksum lock, else the checksum its host publishes), downloads
into ``.{name}.{key}.part`` beside the target, verifies the complete file, and only then
renames it onto the target; a file accepted through a published checksum or
``--allow-unpinned`` has its sha256 written to the lock. :mod:`relate.download.install`
builds the three kinds of download on it.
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
from relate.download.lock import LOCK_NAME, ChecksumLock, LockEntry
from relate.download.published import lookup
from relate.download.sources import Checksum, Source
from relate.download.verify import file_digests
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
        sha256: expected sha256, replacing the built-in checksum (and the lock).
        allow_unpinned: accept a file no checksum is known for (its sha256 is locked).
        force: replace existing outputs that were not installed by this tool or differ.
        http: timeouts, retries, progress.
        lock: the checksum lock file (default ``cache_dir/checksums.lock``).
    """

    cache_dir: Path = Path("resources/downloads")
    from_file: Path | None = None
    url: str | None = None
    sha256: Checksum | None = None
    allow_unpinned: bool = False
    force: bool = False
    http: HttpOptions = field(default_factory=HttpOptions)
    lock: Path | None = None

    @property
    def lock_path(self) -> Path:
        return self.lock if self.lock is not None else self.cache_dir / LOCK_NAME


@dataclass(frozen=True)
class Obtained:
    """A verified local file and where it came from.

    ``pinned``: it matched a checksum (pinned, --sha256, locked or published), not merely
    accepted with --allow-unpinned. ``verified_by``: for a locked or published checksum,
    which one and where it came from.
    """

    path: Path
    source: str
    url: str | None
    checksum: Checksum
    pinned: bool
    verified_by: str = ""


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


@dataclass(frozen=True)
class _Plan:
    """How a file from one source will be judged.

    Attributes:
        required: it must match one of these (empty: judged against ``known`` instead).
        size: exact size in bytes it must have, when known.
        origin: where ``required`` comes from, appended to a mismatch ("" for the table or
            --sha256).
        record: lock its sha256 once accepted (a published checksum, or a file accepted
            with --allow-unpinned).
        verified_by: for a locked or published checksum, which one and where from.
    """

    required: tuple[Checksum, ...]
    size: int | None
    origin: str = ""
    record: bool = False
    verified_by: str = ""


@dataclass(frozen=True)
class _Verdict:
    checksum: Checksum | None
    verified: bool
    why: str = ""
    sha256: str = ""


def _plan(source: Source, options: FetchOptions, known: Sequence[Checksum]) -> _Plan | None:
    """--sha256, else the pinned checksum, else the lock, else the host's published checksum.

    None: nothing to check against and no --allow-unpinned (the source is skipped). Raises
    RelateError when the published checksum cannot be read, or the lock is malformed.
    """
    required = required_checksums(source, options)
    if required:
        return _Plan(tuple(required), source.size)
    lock = ChecksumLock(options.lock_path)
    entry = lock.get(source.filename)
    if entry is not None:
        origin = (
            f"locked in {lock.path}; the lock wins over published checksums: if the file "
            "really changed upstream, delete its entry there"
        )
        how = f"{entry.checksum} locked in {lock.path}"
        return _Plan((entry.checksum,), entry.size, origin, verified_by=how)
    if source.published is not None:
        published = lookup(source, options.http)
        return _Plan(
            (published.checksum,),
            published.size,
            f"published at {published.api_url}",
            record=True,
            verified_by=published.describe(),
        )
    if known or options.allow_unpinned:
        return _Plan((), source.size, record=options.allow_unpinned)
    return None


def _judge(path: Path, plan: _Plan, known: Sequence[Checksum], options: FetchOptions) -> _Verdict:
    """Decide whether ``path`` may be used.

    ``plan.required``: it must match one (a pinned source, --sha256, the lock or a published
    checksum), and have ``plan.size`` bytes. Otherwise ``known`` (the pinned checksums of
    archives that hold the same data): a match counts as verified; no match is accepted
    only with --allow-unpinned, recording the file's sha256. The file is read once.
    """
    progress = options.http.progress
    size = path.stat().st_size
    if plan.required and plan.size is not None and size != plan.size:
        where = f" ({plan.origin})" if plan.origin else ""
        return _Verdict(None, False, f"size is {size} bytes, expected {plan.size}{where}")
    accepted = list(plan.required or known)
    digests = file_digests(path, [*(c.kind for c in accepted), "sha256"], progress)
    sha256 = digests["sha256"]
    match = next((c for c in accepted if digests[c.kind] == c.value), None)
    if match is not None:
        if match.kind == "md5":  # recorded and reported as the sha256 the lock keeps
            match = Checksum("sha256", sha256)
        return _Verdict(match, True, sha256=sha256)
    if plan.required:
        expected = plan.required[0]
        where = f" ({plan.origin})" if plan.origin else ""
        return _Verdict(
            None,
            False,
            f"{expected.kind} is {digests[expected.kind]}, expected {expected.value}{where}",
        )
    if options.allow_unpinned:
        logger.warning(
            "%s: accepted without a known checksum (--allow-unpinned); sha256:%s", path, sha256
        )
        return _Verdict(Checksum("sha256", sha256), False, sha256=sha256)
    expected = ", ".join(str(c) for c in known) or "none known"
    return _Verdict(
        None,
        False,
        f"sha256 is {sha256}, which matches no accepted checksum ({expected}); "
        "pass --sha256 HEX or --allow-unpinned",
    )


def _accept(
    source: Source,
    plan: _Plan,
    verdict: _Verdict,
    path: Path,
    url: str | None,
    options: FetchOptions,
) -> Obtained:
    """The Obtained for an accepted file; its sha256 is locked when ``plan.record``."""
    assert verdict.checksum is not None
    verified_by = plan.verified_by
    if plan.record and (plan.required or not verdict.verified):
        how = verified_by or "--allow-unpinned (no checksum known)"
        ChecksumLock(options.lock_path).record(
            source.filename,
            LockEntry(verdict.sha256, path.stat().st_size, source.name, url, how),
        )
        logger.info("%s: sha256:%s locked in %s", path, verdict.sha256, options.lock_path)
    return Obtained(path, source.name, url, verdict.checksum, verdict.verified, verified_by)


def obtain(
    sources: Sequence[Source],
    target_for: Callable[[Source], Path],
    options: FetchOptions,
    known: Sequence[Checksum] = (),
) -> Obtained:
    """Download the first source (each mirror in turn) whose file :func:`_judge` accepts.

    A finished target that is accepted is reused without downloading. A source with
    neither a required nor a ``known`` checksum is skipped, before any transfer, unless
    ``options.allow_unpinned``; so is one whose published checksum cannot be read. Raises
    one RelateError listing why every source failed.
    """
    failures: list[str] = []
    for source in sources:
        try:
            plan = _plan(source, options, known)
        except DataError:
            raise  # a malformed lock file: the user must fix it, whatever the source
        except RelateError as error:
            failures.append(f"{source.name}: {error}")
            continue
        if plan is None:
            failures.append(
                f"{source.name}: skipped, no known checksum (pass --sha256 or --allow-unpinned)"
            )
            continue
        target = target_for(source)
        if target.is_file():
            verdict = _judge(target, plan, known, options)
            if verdict.checksum is not None:
                logger.info("%s: already downloaded and accepted", target)
                return _accept(source, plan, verdict, target, None, options)
            logger.warning(
                "%s: %s; downloading again (replaced once verified)", target, verdict.why
            )
        for url in source.urls:
            part = part_path(target, plan.required, url)
            try:
                download(url, part, options.http, plan.size, plan.origin)
            except RelateError as error:
                failures.append(str(error))
                continue
            if _is_lfs_pointer(part):
                failures.append(f"{url}: served a Git LFS pointer, not the file")
                part.unlink()
                continue
            verdict = _judge(part, plan, known, options)
            if verdict.checksum is None:
                failures.append(f"{url}: {verdict.why}")
                part.unlink()
                continue
            os.replace(part, target)
            logger.info("%s: downloaded from %s (%s)", target, url, verdict.checksum)
            return _accept(source, plan, verdict, target, url, options)
    names = ", ".join(s.name for s in sources) or "none"
    raise RelateError(f"no source worked ({names}): " + "; ".join(failures))


def obtain_local(path: Path, known: Sequence[Checksum], options: FetchOptions) -> Obtained:
    """Check a file the user downloaded by hand (``--from-file``) with :func:`_judge`."""
    if not path.is_file():
        raise DataError(path, "no such file")
    required = [options.sha256] if options.sha256 is not None else []
    plan = _Plan(tuple(required), None)
    verdict = _judge(path, plan, known, options)
    if verdict.checksum is None:
        raise DataError(path, verdict.why)
    return Obtained(path, "--from-file", None, verdict.checksum, verdict.verified)


def url_source(url: str) -> Source:
    """A one-mirror source for ``--url``; its cache name is keyed by the URL."""
    url_scheme(url)
    name = PurePosixPath(unquote(urlsplit(url).path)).name
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".") or "download"
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    return Source(name="--url", filename=f"url-{key}-{safe}", urls=(url,), checksum=None)
