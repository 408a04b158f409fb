"""Resumable HTTP(S) download into a ``.part`` file, with the standard library only.

A partial file is continued with an HTTP ``Range`` request. A server that answers a range
request with the whole body (200 instead of 206) is handled by starting the file again. A
connection that drops early (fewer bytes than announced) is resumed up to ``retries`` times;
after that the ``.part`` file is kept so the next run continues where this one stopped.
Every failure is one line naming the URL.
"""

from __future__ import annotations

import http.client
import logging
import re
import shutil
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tqdm import tqdm

from relate.download.sources import MAX_BYTES
from relate.errors import RelateError

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = "relate-repro (python urllib)"


@dataclass(frozen=True)
class HttpOptions:
    """How to fetch.

    Attributes:
        timeout: seconds to wait for a connection or for the next bytes.
        retries: resumptions after a dropped connection, per URL.
        backoff: seconds before the first resumption (doubled each time, at most 30).
        progress: show a tqdm bar on stderr.
        max_bytes: largest body accepted, declared or streamed (a source's exact size,
            when known, is the cap instead).
    """

    timeout: float = 60.0
    retries: int = 3
    backoff: float = 2.0
    progress: bool = False
    max_bytes: int = MAX_BYTES


class _Dropped(Exception):
    """The body ended before the announced length; the .part file holds what arrived."""


def _clean(reason: object) -> str:
    """An exception's text on one line."""
    return " ".join(str(reason).split()) or type(reason).__name__


def url_scheme(url: str) -> str:
    """The lower-case scheme of ``url``; RelateError naming it when it cannot be parsed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise RelateError(f"{url}: malformed URL ({_clean(error)})") from None
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        raise RelateError(f"{url}: malformed URL (no host)")
    return parts.scheme.lower()


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """``bytes START-END/TOTAL`` or ``bytes */TOTAL`` -> (START, TOTAL); None where absent."""
    if not header:
        return None, None
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", header)
    if match is None:
        return None, None
    start = int(match.group(1)) if match.group(1) is not None else None
    total = int(match.group(2)) if match.group(2) != "*" else None
    return start, total


def _open(
    url: str, offset: int, timeout: float, accept: str | None = None
) -> http.client.HTTPResponse:
    """Send the GET (with ``Range`` from ``offset`` when > 0); HTTP errors propagate."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if accept is not None:
        headers["Accept"] = accept
    if offset > 0:
        headers["Range"] = f"bytes={offset}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError:
        raise
    except urllib.error.URLError as error:
        raise RelateError(f"{url}: cannot connect ({_clean(error.reason)})") from None
    except TimeoutError:
        raise RelateError(f"{url}: no answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise RelateError(f"{url}: {_clean(error)}") from None


def _check_space(part: Path, needed: int, url: str) -> None:
    free = shutil.disk_usage(part.parent).free
    if needed > free:
        raise RelateError(
            f"{url}: needs {needed / 1e9:.2f} GB more but {part.parent} "
            f"has {free / 1e9:.2f} GB free"
        )


def _attempt(
    url: str, part: Path, options: HttpOptions, expected_size: int | None, size_from: str = ""
) -> None:
    """One request that appends to (or restarts) ``part``; raises _Dropped on a short body."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, options.timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset > 0:
            _, total = _content_range(error.headers.get("Content-Range"))
            error.close()
            if total == offset:
                return  # the .part file already holds the whole body
            logger.warning("%s: range not satisfiable at %d bytes; starting again", url, offset)
            part.unlink()
            raise _Dropped() from None
        error.close()
        raise RelateError(f"{url}: HTTP {error.code} {_clean(error.reason)}") from None

    with response:
        status = response.status
        length = response.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        if status == 206 and offset > 0:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                logger.warning(
                    "%s: server sent bytes from %s, not %d; starting again", url, start, offset
                )
                part.unlink()
                raise _Dropped()
            mode = "ab"
            if total is None and length is not None:
                total = offset + length
        elif status == 200:
            if offset > 0:
                logger.info("%s: server ignored the Range request; starting from byte 0", url)
            offset, mode, total = 0, "wb", length
        else:
            raise RelateError(f"{url}: unexpected HTTP status {status}")
        if expected_size is not None and total is not None and total != expected_size:
            where = f" ({size_from})" if size_from else ""
            raise RelateError(
                f"{url}: server announces {total} bytes, expected {expected_size}{where}"
            )
        cap = expected_size if expected_size is not None else options.max_bytes
        if total is not None and total > cap:
            raise RelateError(f"{url}: server announces {total} bytes, more than the cap of {cap}")
        if total is not None:
            _check_space(part, total - offset, url)
        total = total if total is not None else expected_size
        received = offset

        with (
            open(part, mode) as out,
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not options.progress,
                file=sys.stderr,
                mininterval=1.0,
            ) as bar,
        ):
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as error:
                    logger.warning("%s: transfer interrupted (%s)", url, _clean(error))
                    raise _Dropped() from None
                if not chunk:
                    break
                received += len(chunk)
                if received > cap:
                    out.close()
                    part.unlink()
                    raise RelateError(f"{url}: body exceeds the cap of {cap} bytes")
                out.write(chunk)
                bar.update(len(chunk))

    size = part.stat().st_size
    if total is not None and size < total:
        raise _Dropped()
    if total is not None and size > total:
        part.unlink()
        raise RelateError(f"{url}: received {size} bytes, more than the announced {total}")


MAX_METADATA_BYTES = 8 * 10**6
"""Largest API answer read by :func:`fetch_metadata` (a Zenodo record is a few kB)."""


def fetch_metadata(
    url: str, options: HttpOptions = HttpOptions(), cap: int = MAX_METADATA_BYTES
) -> bytes:
    """The body of a small API document at ``url`` (JSON), read into memory.

    One request, no resume; at most ``cap`` bytes. Raises RelateError naming ``url`` for
    an unreachable host, an HTTP error, a short or oversized body.
    """
    scheme = url_scheme(url)
    if scheme not in ("http", "https"):
        raise RelateError(f"{url}: only http:// and https:// URLs are supported")
    try:
        response = _open(url, 0, options.timeout, accept="application/json")
    except urllib.error.HTTPError as error:
        error.close()
        raise RelateError(f"{url}: HTTP {error.code} {_clean(error.reason)}") from None
    with response:
        if response.status != 200:
            raise RelateError(f"{url}: unexpected HTTP status {response.status}")
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > cap:
            raise RelateError(f"{url}: answer of {length} bytes is more than the cap of {cap}")
        try:
            body = response.read(cap + 1)
        except (http.client.HTTPException, OSError) as error:
            raise RelateError(f"{url}: transfer interrupted ({_clean(error)})") from None
    if len(body) > cap:
        raise RelateError(f"{url}: answer is more than the cap of {cap} bytes")
    if length and length.isdigit() and len(body) < int(length):
        raise RelateError(f"{url}: answer ended after {len(body)} of {length} bytes")
    return body


def download(
    url: str,
    part: str | Path,
    options: HttpOptions = HttpOptions(),
    expected_size: int | None = None,
    size_from: str = "",
) -> int:
    """Fill ``part`` with the body of ``url``, resuming what it already holds; returns its size.

    The caller verifies the file and renames it into place: nothing here is trusted yet.
    Raises RelateError (one line naming ``url``) for an unreachable host, an HTTP error or
    a body that keeps ending early; in the last case ``part`` is kept for the next run.
    ``size_from`` says where ``expected_size`` comes from, for the size-mismatch message.
    """
    scheme = url_scheme(url)
    if scheme not in ("http", "https"):
        raise RelateError(f"{url}: only http:// and https:// URLs are supported")
    part = Path(part)
    part.parent.mkdir(parents=True, exist_ok=True)
    tries = 0
    while True:
        before = part.stat().st_size if part.exists() else 0
        try:
            _attempt(url, part, options, expected_size, size_from)
            return part.stat().st_size
        except _Dropped:
            tries += 1
            have = part.stat().st_size if part.exists() else 0
            if tries > options.retries:
                raise RelateError(
                    f"{url}: transfer kept stopping early ({have} bytes after {tries} tries); "
                    f"rerun to resume from {part}"
                ) from None
            if have > before:
                tries = min(tries, 1)  # progress was made: the retry budget is for stalls
            delay = min(options.backoff * 2 ** (tries - 1), 30.0)
            logger.info("%s: resuming at %d bytes in %.0f s", url, have, delay)
            time.sleep(delay)
