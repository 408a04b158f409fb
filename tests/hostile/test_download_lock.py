"""Hostile inputs for the Zenodo md5 path and the checksum lock of ``relate download``.

A loopback server plays Zenodo: ``/api/records/{id}`` answers the record JSON and
``/records/{id}/files/data.zip`` the archive. The built-in features table is replaced (for
Breakfast) by a Zenodo source on that server, so the real CLI runs end to end.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType

import pytest

import relate.download.install as install_module
from relate.download.sources import Source
from tests.hostile.conftest import assert_clean_error, snapshot

RECORD = "3625992"
API = f"/api/records/{RECORD}"
FILE = f"/records/{RECORD}/files/data.zip"


class _Zenodo(BaseHTTPRequestHandler):
    """Serves ``server.pages[path]`` = (status, body); anything else is a 404."""

    def do_GET(self) -> None:
        server = self.server
        path = self.path.partition("?")[0]
        with server.lock:  # type: ignore[attr-defined]
            server.requests.append(path)  # type: ignore[attr-defined]
        status, body = server.pages.get(path, (404, b"no such page"))  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if path == API else "application/zip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class Zenodo:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Zenodo)
        self.httpd.pages = {}  # type: ignore[attr-defined]
        self.httpd.requests = []  # type: ignore[attr-defined]
        self.httpd.lock = threading.Lock()  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def pages(self) -> dict[str, tuple[int, bytes]]:
        return self.httpd.pages  # type: ignore[attr-defined]

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _layout() -> dict[str, bytes]:
    """A tiny MS-TCN data.zip: every dataset under data/{dataset}/."""
    files = {
        "mapping.txt": b"0 SIL\n1 pour_milk\n",
        "groundTruth/P03_cam01_P03_cereals.txt": b"SIL\npour_milk\npour_milk\nSIL\n",
        "splits/test.split1.bundle": b"P03_cam01_P03_cereals.txt\n",
        "splits/train.split1.bundle": b"P03_cam01_P03_cereals.txt\n",
        "features/P03_cam01_P03_cereals.npy": bytes(range(256)) * 8,
    }
    return {f"data/{ds}/{name}": b for ds in ("gtea", "breakfast") for name, b in files.items()}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _layout().items():
            zf.writestr(name, data)
    return buffer.getvalue()


ARCHIVE = _zip()
MD5 = hashlib.md5(ARCHIVE).hexdigest()
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()


def _record(base: str, **changes: object) -> dict:
    """The record JSON as Zenodo's records API gives it (only the fields this tool reads)."""
    entry = {
        "id": "c6b5-…",
        "key": "data.zip",
        "size": len(ARCHIVE),
        "checksum": f"md5:{MD5}",
        "links": {"self": f"{base}{API}/files/data.zip/content"},
    }
    entry.update(changes)
    readme = {"key": "README.md", "size": 10, "checksum": "md5:" + "0" * 32, "links": {}}
    return {"id": int(RECORD), "files": [entry, readme]}


@pytest.fixture
def zenodo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Zenodo]:
    server = Zenodo()
    server.pages[API] = (200, json.dumps(_record(server.base)).encode())
    server.pages[FILE] = (200, ARCHIVE)
    source = Source(
        name="zenodo-data.zip",
        filename="data.zip",
        urls=(f"{server.base}{FILE}?download=1",),
        checksum=None,
        datasets=("gtea", "50salads", "breakfast"),
        published="zenodo",
    )
    monkeypatch.setattr(
        install_module, "FEATURE_SOURCES", MappingProxyType({"breakfast": (source,)})
    )
    yield server
    server.close()


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "download",
        "--what",
        "features",
        "--dataset",
        "breakfast",
        "--out",
        str(tmp_path / "data"),
        "--cache",
        str(tmp_path / "cache"),
        "--retries",
        "0",
        "--timeout",
        "5",
        *extra,
    ]


def _lock(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "checksums.lock"


def _write_lock(tmp_path: Path, sha256: str, size: int | None = None) -> None:
    entry: dict[str, object] = {"sha256": sha256}
    if size is not None:
        entry["size"] = size
    _lock(tmp_path).parent.mkdir(parents=True, exist_ok=True)
    _lock(tmp_path).write_text(json.dumps({"version": 1, "files": {"data.zip": entry}}))


# --- the path that works -----------------------------------------------------------------------


def test_zenodo_md5_installs_and_locks_then_the_lock_is_used(
    run_cli, tmp_path: Path, zenodo: Zenodo
) -> None:
    result = run_cli(*_args(tmp_path))
    assert result.code == 0, result.stderr
    assert f"verified by md5:{MD5} published at {zenodo.base}{API}" in result.stdout
    installed = tmp_path / "data" / "breakfast"
    assert (installed / "mapping.txt").read_bytes() == _layout()["data/breakfast/mapping.txt"]
    receipt = json.loads((installed / ".download.json").read_text())
    assert receipt["checksum"] == f"sha256:{SHA256}" and receipt["pinned"] is True
    assert receipt["verified_by"].startswith(f"md5:{MD5}")

    lock = json.loads(_lock(tmp_path).read_text())
    assert lock["version"] == 1 and list(lock["files"]) == ["data.zip"]
    entry = lock["files"]["data.zip"]
    assert entry["sha256"] == SHA256 and entry["size"] == len(ARCHIVE)
    assert entry["source"] == "zenodo-data.zip" and entry["url"].startswith(zenodo.base + FILE)
    assert entry["verified_by"] == f"md5:{MD5} published at {zenodo.base}{API}"
    assert zenodo.requests == [API, FILE]  # the record before any transfer
    lock_text = _lock(tmp_path).read_text()
    assert lock_text == json.dumps(lock, indent=2, sort_keys=True) + "\n"  # sorted, stable

    # second run (forced reinstall): the cached archive is checked against the lock alone;
    # Zenodo is not asked even though its API now fails
    zenodo.requests.clear()
    zenodo.pages[API] = (500, b"down")
    again = run_cli(*_args(tmp_path, "--force"))
    assert again.code == 0, again.stderr
    assert f"verified by sha256:{SHA256} locked in {_lock(tmp_path)}" in again.stdout
    assert zenodo.requests == []
    assert _lock(tmp_path).read_text() == lock_text

    # the cached archive is gone: downloaded again and checked against the lock, no API call
    (tmp_path / "cache" / "data.zip").unlink()
    third = run_cli(*_args(tmp_path, "--force"))
    assert third.code == 0, third.stderr
    assert zenodo.requests == [FILE]


def test_lock_elsewhere_with_the_lock_flag(run_cli, tmp_path: Path, zenodo: Zenodo) -> None:
    lock = tmp_path / "repo" / "checksums.lock"
    assert run_cli(*_args(tmp_path, "--lock", str(lock))).code == 0
    assert json.loads(lock.read_text())["files"]["data.zip"]["sha256"] == SHA256
    assert not _lock(tmp_path).exists()


# --- hostile cases -----------------------------------------------------------------------------

Setup = Callable[[Zenodo, Path], None]


def _api(status: int, body: bytes) -> Setup:
    def setup(server: Zenodo, tmp_path: Path) -> None:
        server.pages[API] = (status, body)

    return setup


def _entry(**changes: object) -> Setup:
    def setup(server: Zenodo, tmp_path: Path) -> None:
        server.pages[API] = (200, json.dumps(_record(server.base, **changes)).encode())

    return setup


def _record_doc(document: object) -> Setup:
    return _api(200, json.dumps(document).encode())


def _locked(sha256: str, size: int | None = None) -> Setup:
    def setup(server: Zenodo, tmp_path: Path) -> None:
        _write_lock(tmp_path, sha256, size)

    return setup


def _lock_text(text: str) -> Setup:
    def setup(server: Zenodo, tmp_path: Path) -> None:
        _lock(tmp_path).parent.mkdir(parents=True, exist_ok=True)
        _lock(tmp_path).write_text(text)

    return setup


# (setup, what the error names: "api", "file" or "lock", words in the error, file requested?)
CASES = {
    "record-404": (_api(404, b'{"status": 404}'), "api", "HTTP 404", False),
    "record-500": (_api(500, b"oops"), "api", "HTTP 500", False),
    "record-truncated-json": (_api(200, b'{"files": [{"key": "d'), "api", "malformed JSON", False),
    "record-is-html": (_api(200, b"<html>rate limited</html>"), "api", "malformed JSON", False),
    "record-not-utf8": (_api(200, b"\xff\xfe{}"), "api", "malformed JSON", False),
    "record-not-an-object": (_record_doc([1, 2]), "api", "not a JSON object", False),
    "record-without-files": (_record_doc({"id": 1}), "api", "no list of files", False),
    "record-entry-not-object": (_record_doc({"files": ["x"]}), "api", "not an object", False),
    "file-missing-from-record": (_entry(key="other.zip"), "api", "no file 'data.zip'", False),
    "checksum-sha256-not-md5": (_entry(checksum="sha256:" + "a" * 64), "api", "md5:<hex>", False),
    "checksum-missing": (_entry(checksum=None), "api", "md5:<hex>", False),
    "checksum-bad-hex": (_entry(checksum="md5:xyz"), "api", "32 hexadecimal", False),
    "size-not-a-number": (_entry(size="12"), "api", "not a byte count", False),
    "size-negative": (_entry(size=-1), "api", "not a byte count", False),
    "md5-mismatch": (_entry(checksum="md5:" + "0" * 32), "file", f"md5 is {MD5}", True),
    "size-mismatch": (_entry(size=len(ARCHIVE) + 7), "file", f"expected {len(ARCHIVE) + 7}", True),
    "lock-mismatch-wins-over-md5": (_locked("b" * 64), "file", "locked in", True),
    "lock-size-mismatch": (_locked(SHA256, len(ARCHIVE) - 1), "file", "locked in", True),
    "lock-not-json": (_lock_text("data.zip " + SHA256), "lock", "malformed checksum lock", False),
    "lock-bad-sha256": (_locked("B" * 64), "lock", "64 lowercase hex", False),
    "lock-wrong-version": (_lock_text('{"version": 9, "files": {}}'), "lock", "version 9", False),
}


def _files(root: Path) -> dict[str, str]:
    """Every file below ``root`` with its digest (the cache folder itself may appear)."""
    return {path: kind for path, kind in snapshot(root).items() if kind != "dir"}


@pytest.mark.parametrize("case", list(CASES))
def test_zenodo_and_lock_failures_are_one_clean_line(
    run_cli, tmp_path: Path, zenodo: Zenodo, case: str
) -> None:
    setup, named, words, transferred = CASES[case]
    setup(zenodo, tmp_path)
    before = _files(tmp_path)
    result = run_cli(*_args(tmp_path))
    name = {
        "api": f"{zenodo.base}{API}",
        "file": f"{zenodo.base}{FILE}",
        "lock": str(_lock(tmp_path)),
    }[named]
    line = assert_clean_error(result, name)
    assert words in line
    assert not (tmp_path / "data").exists()  # nothing installed
    assert _files(tmp_path) == before  # no archive kept, lock unchanged, no .part left
    assert (FILE in zenodo.requests) is transferred  # no transfer before the checksum is known
