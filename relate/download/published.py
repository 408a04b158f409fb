"""Checksums that a file's host publishes through its API, looked up before downloading.

- **Zenodo** (``Source.published == "zenodo"``): ``GET {scheme}://{host}/api/records/{id}``
  returns the record as JSON; its ``files`` list has one entry per file with ``key`` (the
  file name), ``size`` (bytes) and ``checksum`` (``"md5:<32 hex>"``). The file URL may be
  ``/records/{id}/files/{name}``, ``/record/{id}/files/{name}`` or
  ``/api/records/{id}/files/{name}/content``. (An InvenioRDM-style ``files`` object with an
  ``entries`` list or mapping is read too.)
- **Hugging Face** (``"huggingface"``): for ``/[datasets/|spaces/]{owner}/{repo}/resolve/
  {revision}/{path}``, ``GET {scheme}://{host}/api/{datasets|spaces|models}/{owner}/{repo}/
  tree/{revision}[/{folder}]`` lists the folder; the entry whose ``path`` is the file has
  ``lfs.oid`` (the sha256 of the content, as in Git LFS) and ``lfs.size``. A file not in
  LFS has only ``oid``, its git blob SHA-1, which is used instead. Only the first page of
  a paginated listing is read (the mirrors' folders hold a handful of files).

The API URL keeps the scheme and host of the file URL (tests point it at a local server).
Every problem is a RelateError naming the API URL: unreachable, HTTP error, malformed JSON,
the file missing from the listing, a checksum of another kind, a size that is not a count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from relate.download.http import HttpOptions, fetch_metadata, url_scheme
from relate.download.sources import Checksum, Source
from relate.errors import RelateError

_ZENODO_PATH = re.compile(r"/(?:api/)?records?/(\d+)/files/([^/]+?)(?:/content)?/?")
_HF_PATH = re.compile(r"/(?:(datasets|spaces)/)?([^/]+)/([^/]+)/resolve/([^/]+)/(.+)")
_LISTED = 8
"""How many file names of a record an error message lists."""


@dataclass(frozen=True)
class Published:
    """A checksum (and size) published by the host for one file.

    Attributes:
        checksum: md5 (Zenodo), sha256 (Hugging Face LFS) or git-sha1 (non-LFS file).
        size: size in bytes the host declares.
        api_url: where it was read, for messages and the lock file.
    """

    checksum: Checksum
    size: int
    api_url: str

    def describe(self) -> str:
        return f"{self.checksum} published at {self.api_url}"


def _origin(url: str) -> tuple[str, str, str]:
    """(scheme, netloc, path) of ``url``; RelateError when it is not an http(s) URL."""
    scheme = url_scheme(url)
    if scheme not in ("http", "https"):
        raise RelateError(f"{url}: only http:// and https:// URLs are supported")
    parts = urlsplit(url)
    return parts.scheme, parts.netloc, parts.path


def zenodo_api_url(url: str) -> tuple[str, str]:
    """(record API URL, file name) for a Zenodo file URL; RelateError for another form."""
    scheme, netloc, path = _origin(url)
    match = _ZENODO_PATH.fullmatch(path)
    if match is None:
        raise RelateError(
            f"{url}: not a Zenodo file URL (expected /records/<id>/files/<name>), "
            "so no published checksum can be looked up"
        )
    record, name = match.groups()
    return urlunsplit((scheme, netloc, f"/api/records/{record}", "", "")), unquote(name)


def huggingface_api_url(url: str) -> tuple[str, str]:
    """(tree API URL of the file's folder, file path in the repository) for a resolve URL."""
    scheme, netloc, path = _origin(url)
    match = _HF_PATH.fullmatch(path)
    if match is None:
        raise RelateError(
            f"{url}: not a Hugging Face resolve URL (expected "
            "/datasets/<owner>/<repo>/resolve/<revision>/<path>), "
            "so no published checksum can be looked up"
        )
    kind, owner, repo, revision, file_path = match.groups()
    folder = file_path.rpartition("/")[0]
    api_path = f"/api/{kind or 'models'}/{owner}/{repo}/tree/{revision}"
    if folder:
        api_path += f"/{folder}"
    return urlunsplit((scheme, netloc, api_path, "", "")), unquote(file_path)


def _load_json(api_url: str, body: bytes) -> object:
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RelateError(f"{api_url}: malformed JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise RelateError(
            f"{api_url}: malformed JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None


def _size(api_url: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RelateError(f"{api_url}: {name}: declared size {value!r} is not a byte count")
    return value


def _names(names: Iterable[str]) -> str:
    names = sorted(names)
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return ", ".join(names[:_LISTED]) + more if names else "no files"


def _zenodo_entries(api_url: str, record: object) -> list[dict]:
    """The file entries of a Zenodo record (legacy list, or an ``entries`` list/mapping)."""
    if not isinstance(record, dict):
        raise RelateError(f"{api_url}: malformed record (not a JSON object)")
    files = record.get("files")
    if isinstance(files, dict):
        entries = files.get("entries")
        if isinstance(entries, dict):
            files = [
                dict(entry, key=entry.get("key", key)) if isinstance(entry, dict) else entry
                for key, entry in entries.items()
            ]
        else:
            files = entries
    if not isinstance(files, list):
        raise RelateError(f"{api_url}: malformed record (no list of files)")
    if not all(isinstance(entry, dict) for entry in files):
        raise RelateError(f"{api_url}: malformed record (a file entry is not an object)")
    return files


def parse_zenodo_record(api_url: str, body: bytes, name: str) -> Published:
    """The md5 and size the record at ``api_url`` (its JSON ``body``) gives for file ``name``."""
    entries = _zenodo_entries(api_url, _load_json(api_url, body))
    keys = [entry.get("key", entry.get("filename")) for entry in entries]
    found = [entry for entry, key in zip(entries, keys) if key == name]
    if not found:
        listed = _names(str(key) for key in keys if key is not None)
        raise RelateError(f"{api_url}: the record has no file {name!r} (it lists {listed})")
    if len(found) > 1:
        raise RelateError(f"{api_url}: the record lists file {name!r} {len(found)} times")
    entry = found[0]
    checksum = entry.get("checksum")
    algorithm, _, value = checksum.partition(":") if isinstance(checksum, str) else ("", "", "")
    if algorithm.strip().lower() != "md5":
        raise RelateError(
            f"{api_url}: {name}: published checksum {checksum!r} is not of the form md5:<hex>"
        )
    try:
        md5 = Checksum("md5", value.strip().lower())
    except ValueError:
        raise RelateError(
            f"{api_url}: {name}: published checksum {checksum!r} is not 32 hexadecimal digits"
        ) from None
    size = _size(api_url, name, entry.get("size", entry.get("filesize")))
    return Published(md5, size, api_url)


def parse_huggingface_tree(api_url: str, body: bytes, path: str) -> Published:
    """The LFS sha256 (else git blob SHA-1) and size the tree listing gives for ``path``."""
    listing = _load_json(api_url, body)
    if not isinstance(listing, list) or not all(isinstance(e, dict) for e in listing):
        raise RelateError(f"{api_url}: malformed tree listing (not a JSON list of objects)")
    found = [entry for entry in listing if entry.get("path") == path]
    if not found:
        listed = _names(str(e["path"]) for e in listing if isinstance(e.get("path"), str))
        raise RelateError(f"{api_url}: the listing has no file {path!r} (it lists {listed})")
    entry = found[0]
    if entry.get("type", "file") != "file":
        raise RelateError(f"{api_url}: {path} is a {entry.get('type')}, not a file")
    lfs = entry.get("lfs")
    if isinstance(lfs, dict):
        kind, value = "sha256", lfs.get("oid")
        size = lfs.get("size", entry.get("size"))
    elif lfs is None and entry.get("xetHash") is None:
        kind, value, size = "git-sha1", entry.get("oid"), entry.get("size")
    else:
        raise RelateError(f"{api_url}: {path}: no LFS sha256 is published for it")
    try:
        checksum = Checksum(kind, value.strip().lower() if isinstance(value, str) else "")
    except ValueError:
        raise RelateError(f"{api_url}: {path}: published {kind} {value!r} is malformed") from None
    return Published(checksum, _size(api_url, path, size), api_url)


def lookup(source: Source, http: HttpOptions) -> Published:
    """The checksum ``source``'s host publishes, from the API of its first mirror that answers.

    Mirrors on the same host share one API URL, asked once. Raises one RelateError listing
    why each API failed.
    """
    if source.published == "zenodo":
        locate, parse = zenodo_api_url, parse_zenodo_record
    elif source.published == "huggingface":
        locate, parse = huggingface_api_url, parse_huggingface_tree
    else:
        raise RelateError(f"{source.name}: its host publishes no checksum")
    failures: list[str] = []
    asked: set[str] = set()
    for url in source.urls:
        try:
            api_url, name = locate(url)
            if api_url in asked:
                continue
            asked.add(api_url)
            return parse(api_url, fetch_metadata(api_url, http), name)
        except RelateError as error:
            failures.append(str(error))
    raise RelateError("; ".join(failures) or f"{source.name}: no URL")
