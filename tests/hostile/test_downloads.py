"""Hostile inputs for ``relate download``: malformed URLs, unbounded bodies, archive bombs."""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_clean_error, snapshot


class _NoLength(BaseHTTPRequestHandler):
    """Serves ``server.body`` without Content-Length (or with a lying one for /lie)."""

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path.startswith("/lie"):
            self.send_header("Content-Length", str(10**15))
        self.end_headers()
        if not self.path.startswith("/lie"):
            self.wfile.write(self.server.body)  # type: ignore[attr-defined]
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    """A client that gives up on a capped body drops the connection: expected, not logged."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture
def base_url() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _NoLength)
    httpd.body = b"z" * 300_000  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "download",
        "--what",
        "features",
        "--dataset",
        "gtea",
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


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/x.zip",
        "http://[zz::1]/x.zip",
        "https://[::1/data.zip?download=1",
    ],
)
def test_malformed_url(run_cli, tmp_path: Path, url: str) -> None:
    result = run_cli(*_args(tmp_path, "--url", url, "--allow-unpinned"))
    assert_clean_error(result, url)
    assert not (tmp_path / "data").exists() and snapshot(tmp_path / "cache") == {}


@pytest.mark.parametrize("path", ["/nolength/data.zip", "/lie/data.zip"])
@pytest.mark.parametrize("cap", ["100000", "1000"])
def test_body_over_the_cap(run_cli, tmp_path: Path, base_url: str, path: str, cap: str) -> None:
    url = base_url + path
    result = run_cli(*_args(tmp_path, "--url", url, "--allow-unpinned", "--max-bytes", cap))
    assert_clean_error(result, url)
    assert not (tmp_path / "data").exists()
    assert not list((tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else True


def _tiny_layout() -> dict[str, bytes]:
    return {
        "gtea/mapping.txt": b"0 background\n1 take\n",
        "gtea/groundTruth/v1.txt": b"background\ntake\n",
        "gtea/splits/test.split1.bundle": b"v1.txt\n",
        "gtea/features/v1.npy": bytes(range(256)) * 4,
    }


def _bomb(member: str, size: int, extra: int = 0) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in _tiny_layout().items():
            if name != member:
                zf.writestr(name, data)
        zf.writestr(member, b"\0" * size)
        for i in range(extra):
            zf.writestr(f"gtea/features/pad{i}.npy", b"\0" * (size // 4))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member, size",
    [
        ("gtea/features/v1.npy", 5_000_000),
        ("gtea/groundTruth/v1.txt", 5_000_000),
        ("gtea/mapping.txt", 3_000_000),
        ("gtea/splits/test.split1.bundle", 2_000_000),
        ("gtea/features/v2.npy", 8_000_000),
    ],
)
def test_zip_bomb_member(run_cli, tmp_path: Path, member: str, size: int) -> None:
    archive = tmp_path / "in" / "bomb.zip"
    archive.parent.mkdir()
    archive.write_bytes(_bomb(member, size))
    before = snapshot(tmp_path)
    result = run_cli(*_args(tmp_path, "--from-file", str(archive), "--allow-unpinned"))
    line = assert_clean_error(result, archive)
    assert member in line and "compression ratio" in line
    assert snapshot(tmp_path) == before


def _good_archive(tmp_path: Path) -> Path:
    archive = tmp_path / "in" / "gtea.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in _tiny_layout().items():
            zf.writestr(name, data)
    return archive


@pytest.mark.parametrize("where", ["out_below_file", "out_is_file", "cache_is_file"])
def test_bad_download_targets(run_cli, tmp_path: Path, where: str) -> None:
    archive = _good_archive(tmp_path)
    (tmp_path / "plain").write_text("x")
    out, cache = tmp_path / "data", tmp_path / "cache"
    if where == "out_below_file":
        out = tmp_path / "plain" / "data"
    elif where == "out_is_file":
        out = tmp_path / "plain"
    else:
        cache = tmp_path / "plain"
    named = cache if where == "cache_is_file" else out
    before = snapshot(tmp_path)
    result = run_cli(
        "download",
        "--what",
        "features",
        "--dataset",
        "gtea",
        "--out",
        out,
        "--cache",
        cache,
        "--from-file",
        archive,
        "--allow-unpinned",
    )
    assert_clean_error(result, named)
    assert snapshot(tmp_path) == before
