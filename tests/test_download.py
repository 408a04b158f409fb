"""relate download: resumable HTTP, checksums, safe extraction, mirrors, CLI (loopback only)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO_ROOT, write_tiny_dataset

from relate.cli import main
from relate.data.validate import validate_dataset
from relate.download.extract import extract_selected, list_members
from relate.download.fetch import FetchOptions, part_path
from relate.download.http import HttpOptions, download
from relate.download.install import (
    RECEIPT,
    identify_weights,
    install_features,
    install_i3d_weights,
    install_videos,
)
from relate.download.published import (
    huggingface_api_url,
    parse_huggingface_tree,
    parse_zenodo_record,
    zenodo_api_url,
)
from relate.download.sources import (
    FEATURE_SOURCES,
    I3D_WEIGHTS,
    ZENODO_DATA_ZIP,
    Checksum,
    Source,
)
from relate.download.verify import file_digest, file_digests
from relate.errors import DataError, RelateError

FAST = HttpOptions(timeout=5.0, retries=1, backoff=0.0, progress=False)


# --- a loopback HTTP server with switchable misbehaviour -------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """``/{mode}/{name}``: mode ok (honours Range), norange (ignores it), cut (stops at
    ``server.cut`` bytes into the file), redirect (302 to ``/ok/{name}``), missing (404).
    A path (query left out) in ``server.pages`` gets that (status, body) instead, whole."""

    def do_GET(self) -> None:
        server = self.server
        mode, _, name = self.path.lstrip("/").partition("/")
        with server.lock:
            server.requests.append((self.path, self.headers.get("Range")))
        page = server.pages.get(self.path.partition("?")[0])
        if page is not None:
            self.send_response(page[0])
            self.send_header("Content-Length", str(len(page[1])))
            self.end_headers()
            self.wfile.write(page[1])
            self.close_connection = True
            return
        body = server.files.get(name)
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"/ok/{name}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if mode == "missing" or body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and mode != "norange":
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        stop = min(len(body), server.cut) if mode == "cut" else len(body)
        self.wfile.write(body[start:stop])
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class Server:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files = {}
        self.httpd.pages = {}
        self.httpd.requests = []
        self.httpd.cut = 0
        self.httpd.lock = threading.Lock()
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, mode: str, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mode}/{name}"

    @property
    def files(self) -> dict[str, bytes]:
        return self.httpd.files

    @property
    def pages(self) -> dict[str, tuple[int, bytes]]:
        return self.httpd.pages

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        return self.httpd.requests

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/data.zip"


# --- archives ---------------------------------------------------------------------------------


def dataset_files(tmp_path: Path) -> dict[str, bytes]:
    """The tiny dataset's files as {relative path: bytes}."""
    root = write_tiny_dataset(tmp_path / "src")
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    shutil.rmtree(root)
    return files


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def features_zip(files: dict[str, bytes], prefix: str = "data/gtea/") -> bytes:
    """A data.zip-like archive: the dataset under ``prefix`` plus members that must be ignored."""
    entries = {prefix + name: data for name, data in files.items()}
    entries["README.txt"] = b"not part of the layout\n"
    entries[prefix + "features/notes.txt"] = b"not a feature file\n"
    entries["__MACOSX/" + prefix + "._mapping.txt"] = b"resource fork\n"
    return make_zip(entries)


def sha(data: bytes) -> Checksum:
    return Checksum("sha256", hashlib.sha256(data).hexdigest())


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def options(tmp_path: Path, **changes: object) -> FetchOptions:
    return FetchOptions(cache_dir=tmp_path / "cache", http=FAST, **changes)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, bytes]:
    return dataset_files(tmp_path)


# --- checksums --------------------------------------------------------------------------------


def test_sha256_and_git_blob_sha1_known_vectors(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    # git's blob id of "hello\n" is a widely published constant; sha256 computed independently.
    assert file_digest(path, "git-sha1") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert file_digest(path, "sha256") == hashlib.sha256(b"hello\n").hexdigest()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert file_digest(empty, "git-sha1") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_blob_sha1_agrees_with_git_hash_object(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    path.write_bytes(bytes(range(256)) * 1000 + b"\0tail")
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert file_digest(path, "git-sha1") == expected


def test_source_table_has_the_documented_checksums() -> None:
    gtea = FEATURE_SOURCES["gtea"][0]
    assert gtea.checksum == Checksum(
        "sha256", "efae78cd46eb5c077f2cebb8975b53f582f45c3e2808bd20102f36667c4af929"
    )
    assert gtea.size == 356_669_550
    assert I3D_WEIGHTS["rgb"].checksum == Checksum(
        "git-sha1", "73a4fd1d87eb3dbd97f33a9779fa1caa3d28111a"
    )
    assert I3D_WEIGHTS["flow"].checksum == Checksum(
        "git-sha1", "ef0e7c282a102f76b14b52643574b80acba4e475"
    )
    assert all(
        s.name == "zenodo-data.zip" and not s.pinned
        for s in (v[-1] for v in FEATURE_SOURCES.values())
    )


# --- HTTP -------------------------------------------------------------------------------------


def test_download_resumes_a_part_file_with_range(server: Server, tmp_path: Path) -> None:
    body = bytes(range(256)) * 400
    server.files["blob.bin"] = body
    part = tmp_path / "blob.bin.part"
    part.write_bytes(body[:12345])
    assert download(server.url("ok", "blob.bin"), part, FAST) == len(body)
    assert part.read_bytes() == body
    assert server.requests == [("/ok/blob.bin", "bytes=12345-")]


def test_download_restarts_when_the_server_ignores_range(server: Server, tmp_path: Path) -> None:
    body = b"0123456789" * 5000
    server.files["blob.bin"] = body
    part = tmp_path / "blob.bin.part"
    part.write_bytes(b"X" * 777)  # wrong bytes: appending to them would corrupt the file
    download(server.url("norange", "blob.bin"), part, FAST)
    assert part.read_bytes() == body
    assert server.requests == [("/norange/blob.bin", "bytes=777-")]


def test_range_survives_a_redirect(server: Server, tmp_path: Path) -> None:
    body = b"abcdefghij" * 3000
    server.files["blob.bin"] = body
    part = tmp_path / "blob.bin.part"
    part.write_bytes(body[:500])
    download(server.url("redirect", "blob.bin"), part, FAST)
    assert part.read_bytes() == body
    assert server.requests == [("/redirect/blob.bin", "bytes=500-"), ("/ok/blob.bin", "bytes=500-")]


def test_download_of_a_complete_part_file_is_a_no_op(server: Server, tmp_path: Path) -> None:
    server.files["blob.bin"] = b"abc" * 10
    part = tmp_path / "blob.bin.part"
    part.write_bytes(b"abc" * 10)
    assert download(server.url("ok", "blob.bin"), part, FAST) == 30
    assert part.read_bytes() == b"abc" * 10


def test_unreachable_host_is_a_one_line_error_naming_the_url(tmp_path: Path) -> None:
    url = closed_port_url()
    with pytest.raises(RelateError) as error:
        download(url, tmp_path / "x.part", FAST)
    message = str(error.value)
    assert "\n" not in message and message.startswith(url) and "cannot connect" in message
    assert not (tmp_path / "x.part").exists()


def test_http_error_and_scheme_errors_name_the_url(server: Server, tmp_path: Path) -> None:
    url = server.url("missing", "data.zip")
    with pytest.raises(RelateError, match=re.escape(url) + ": HTTP 404"):
        download(url, tmp_path / "x.part", FAST)
    with pytest.raises(RelateError, match="only http"):
        download("ftp://example.org/data.zip", tmp_path / "x.part", FAST)


# --- features install -------------------------------------------------------------------------


def gtea_source(urls: tuple[str, ...], checksum: Checksum | None, name: str = "test") -> dict:
    return {"gtea": (Source(name=name, filename="data.zip", urls=urls, checksum=checksum),)}


def test_features_download_verify_extract_into_mstcn_layout(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    sources = gtea_source((server.url("ok", "data.zip"),), sha(archive))
    out = tmp_path / "data"
    [result] = install_features(["gtea"], out, options(tmp_path), sources)
    assert not result.skipped and result.pinned and result.files == len(files)
    installed = tree(out / "gtea")
    receipt = json.loads(installed.pop(RECEIPT))
    assert (
        installed == files
    )  # exactly the layout files, byte for byte; README/notes/__MACOSX left out
    assert receipt["checksum"] == str(sha(archive)) and receipt["source"] == "test"
    assert validate_dataset(out / "gtea").ok
    assert (out / "gtea").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "cache" / "data.zip").read_bytes() == archive
    assert not list((tmp_path / "cache").glob("*.part"))

    # a second run finds the receipt and downloads nothing
    [again] = install_features(["gtea"], out, options(tmp_path), sources)
    assert again.skipped and len(server.requests) == 1


def test_one_archive_serves_several_datasets_with_one_download(
    server: Server, tmp_path: Path, files
) -> None:
    entries = {
        f"data/{ds}/{name}": data for ds in ("gtea", "50salads") for name, data in files.items()
    }
    archive = make_zip(entries)
    server.files["data.zip"] = archive
    both = Source(
        "all",
        "data.zip",
        (server.url("ok", "data.zip"),),
        sha(archive),
        datasets=("gtea", "50salads"),
    )
    results = install_features(
        ["gtea", "50salads"],
        tmp_path / "data",
        options(tmp_path),
        {"gtea": (both,), "50salads": (both,)},
    )
    assert [r.key for r in results] == ["gtea", "50salads"]
    assert len(server.requests) == 1
    assert tree(tmp_path / "data" / "50salads").keys() - {RECEIPT} == files.keys()


def test_resume_of_a_partial_archive_uses_range(server: Server, tmp_path: Path, files) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    url = server.url("ok", "data.zip")
    part = part_path(tmp_path / "cache" / "data.zip", [sha(archive)], url)
    part.parent.mkdir(parents=True)
    part.write_bytes(archive[:1000])
    install_features(
        ["gtea"], tmp_path / "data", options(tmp_path), gtea_source((url,), sha(archive))
    )
    assert server.requests == [("/ok/data.zip", "bytes=1000-")]
    assert tree(tmp_path / "data" / "gtea").keys() - {RECEIPT} == files.keys()


def test_truncated_transfer_fails_leaves_no_output_and_resumes_later(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    server.httpd.cut = len(archive) // 2
    sources = gtea_source((server.url("cut", "data.zip"),), sha(archive))
    with pytest.raises(RelateError) as error:
        install_features(["gtea"], tmp_path / "data", options(tmp_path), sources)
    assert "\n" not in str(error.value) and "stopping early" in str(error.value)
    assert not (tmp_path / "data").exists() and not (tmp_path / "cache" / "data.zip").exists()
    [part] = (tmp_path / "cache").glob("*.part")
    assert part.stat().st_size == len(archive) // 2
    # the next run (a good mirror of the same bytes) continues from where the cut left off
    server.requests.clear()
    install_features(
        ["gtea"],
        tmp_path / "data",
        options(tmp_path),
        gtea_source((server.url("ok", "data.zip"),), sha(archive)),
    )
    assert server.requests == [("/ok/data.zip", f"bytes={len(archive) // 2}-")]
    assert validate_dataset(tmp_path / "data" / "gtea").ok


def test_wrong_checksum_is_refused_and_nothing_is_kept(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    sources = gtea_source((server.url("ok", "data.zip"),), sha(b"something else"))
    with pytest.raises(RelateError, match="sha256 is " + hashlib.sha256(archive).hexdigest()):
        install_features(["gtea"], tmp_path / "data", options(tmp_path), sources)
    assert not (tmp_path / "data").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_unpinned_source_needs_consent(server: Server, tmp_path: Path, files) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    sources = gtea_source((server.url("ok", "data.zip"),), None)
    with pytest.raises(RelateError, match="no known checksum"):
        install_features(["gtea"], tmp_path / "data", options(tmp_path), sources)
    assert server.requests == []
    [result] = install_features(
        ["gtea"], tmp_path / "data", options(tmp_path, allow_unpinned=True), sources
    )
    assert not result.pinned and result.checksum == str(sha(archive))


def test_url_override_is_checked_against_the_known_checksums(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["copy.zip"] = archive
    url = server.url("ok", "copy.zip")
    known = gtea_source(("http://unused.invalid/data.zip",), sha(archive))  # the built-in entry
    [result] = install_features(["gtea"], tmp_path / "a", options(tmp_path, url=url), known)
    assert result.pinned and result.checksum == str(sha(archive))  # same bytes as a pinned source

    other = gtea_source(("http://unused.invalid/data.zip",), sha(b"another archive"))
    with pytest.raises(RelateError, match="matches no accepted checksum"):
        install_features(["gtea"], tmp_path / "b", options(tmp_path, url=url), other)
    assert not (tmp_path / "b").exists()
    [result] = install_features(
        ["gtea"], tmp_path / "b", options(tmp_path, url=url, allow_unpinned=True), other
    )
    assert not result.pinned and validate_dataset(tmp_path / "b" / "gtea").ok


def test_mirror_fallback_after_a_404(server: Server, tmp_path: Path, files) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    urls = (server.url("missing", "data.zip"), server.url("ok", "data.zip"))
    [result] = install_features(
        ["gtea"], tmp_path / "data", options(tmp_path), gtea_source(urls, sha(archive))
    )
    assert [path for path, _ in server.requests] == ["/missing/data.zip", "/ok/data.zip"]
    assert result.source == "test" and validate_dataset(tmp_path / "data" / "gtea").ok


def test_every_mirror_failing_is_one_line_listing_each(server: Server, tmp_path: Path) -> None:
    urls = (server.url("missing", "data.zip"), closed_port_url())
    with pytest.raises(RelateError) as error:
        install_features(
            ["gtea"], tmp_path / "data", options(tmp_path), gtea_source(urls, sha(b"x"))
        )
    message = str(error.value)
    assert "\n" not in message and "HTTP 404" in message and "cannot connect" in message


def test_existing_folder_without_receipt_is_not_replaced(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    mine = tmp_path / "data" / "gtea"
    mine.mkdir(parents=True)
    (mine / "my_notes.txt").write_text("keep me")
    sources = gtea_source((server.url("ok", "data.zip"),), sha(archive))
    with pytest.raises(DataError, match="not installed by relate download"):
        install_features(["gtea"], tmp_path / "data", options(tmp_path), sources)
    assert (mine / "my_notes.txt").read_text() == "keep me"
    install_features(["gtea"], tmp_path / "data", options(tmp_path, force=True), sources)
    assert not (mine / "my_notes.txt").exists() and validate_dataset(mine).ok


def test_archive_without_the_dataset_is_refused(tmp_path: Path, files) -> None:
    path = tmp_path / "50salads.zip"
    path.write_bytes(features_zip(files, prefix="50salads/"))
    with pytest.raises(DataError, match="no 'gtea' dataset folder"):
        install_features(
            ["gtea"], tmp_path / "data", options(tmp_path, from_file=path, allow_unpinned=True)
        )
    assert not (tmp_path / "data").exists()


def test_single_dataset_zip_with_unnamed_root(tmp_path: Path, files) -> None:
    path = tmp_path / "mine.zip"
    path.write_bytes(features_zip(files, prefix=""))
    install_features(
        ["gtea"],
        tmp_path / "data",
        options(tmp_path, from_file=path, sha256=sha(path.read_bytes())),
    )
    assert tree(tmp_path / "data" / "gtea").keys() - {RECEIPT} == files.keys()


# --- malicious archives ------------------------------------------------------------------------


def zip_with(files: dict[str, bytes], evil: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in files.items():
            zf.writestr("gtea/" + name, data)
        if evil == "symlink":
            info = zipfile.ZipInfo("gtea/features/link.npy")
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            zf.writestr(info, "/etc/passwd")
        else:
            zf.writestr(
                {"traversal": "gtea/../../evil.txt", "absolute": "/tmp/evil-abs.txt"}[evil],
                b"pwned",
            )
    return buffer.getvalue()


def tar_with(files: dict[str, bytes], evil: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:

        def add(info: tarfile.TarInfo, data: bytes = b"") -> None:
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data else None)

        for name, data in files.items():
            add(tarfile.TarInfo("gtea/" + name), data)
        info = tarfile.TarInfo("gtea/features/evil.npy")
        if evil == "traversal":
            add(tarfile.TarInfo("gtea/../../evil.txt"), b"pwned")
        elif evil == "absolute":
            add(tarfile.TarInfo("/tmp/evil-abs.txt"), b"pwned")
        elif evil == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            add(info)
        elif evil == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, "gtea/mapping.txt"
            add(info)
        elif evil == "device":
            info.type = tarfile.CHRTYPE
            add(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind, evil",
    [
        ("zip", "traversal"),
        ("zip", "absolute"),
        ("zip", "symlink"),
        ("tar", "traversal"),
        ("tar", "absolute"),
        ("tar", "symlink"),
        ("tar", "hardlink"),
        ("tar", "device"),
    ],
)
def test_malicious_archives_are_refused_whole(tmp_path: Path, files, kind: str, evil: str) -> None:
    work = tmp_path / "work"
    work.mkdir()
    archive = work / ("bad.zip" if kind == "zip" else "bad.tar.gz")
    archive.write_bytes(zip_with(files, evil) if kind == "zip" else tar_with(files, evil))
    before = tree(tmp_path)
    with pytest.raises(DataError, match="refusing archive"):
        install_features(
            ["gtea"], work / "data", options(work, from_file=archive, allow_unpinned=True)
        )
    assert tree(tmp_path) == before  # nothing written anywhere under tmp_path
    assert not (work / "data").exists()
    assert not Path("/tmp/evil-abs.txt").exists()
    # extracting only harmless members is refused too: the archive as a whole is untrusted
    with pytest.raises(DataError, match="refusing archive"):
        extract_selected(archive, {"gtea/mapping.txt": "mapping.txt"}, work / "out")
    assert not (work / "out").exists()


def test_list_members_rejects_what_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "data.zip"
    path.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(DataError, match="not a zip or tar archive"):
        list_members(path)


# --- weights and videos -----------------------------------------------------------------------


def fake_weights(server: Server, tmp_path: Path) -> tuple[bytes, dict[str, Source]]:
    blob = b"fake i3d weights" * 100
    path = tmp_path / "blob"
    path.write_bytes(blob)
    checksum = Checksum("git-sha1", file_digest(path, "git-sha1"))
    server.files["rgb_imagenet.pt"] = blob
    urls = (server.url("missing", "rgb_imagenet.pt"), server.url("ok", "rgb_imagenet.pt"))
    return blob, {"rgb": Source("rgb-test", "rgb_imagenet.pt", urls, checksum)}


def test_i3d_weights_verified_by_git_blob_sha1(server: Server, tmp_path: Path) -> None:
    blob, weights = fake_weights(server, tmp_path)
    out = tmp_path / "i3d"
    [result] = install_i3d_weights(["rgb"], out, options(tmp_path), weights)
    assert (out / "rgb_imagenet.pt").read_bytes() == blob and result.checksum == str(
        weights["rgb"].checksum
    )
    assert sorted(p.name for p in out.iterdir()) == ["rgb_imagenet.pt"]  # no .part left
    [again] = install_i3d_weights(["rgb"], out, options(tmp_path), weights)
    assert again.skipped
    (out / "rgb_imagenet.pt").write_bytes(b"tampered")
    with pytest.raises(DataError, match="pass --force"):
        install_i3d_weights(["rgb"], out, options(tmp_path), weights)
    install_i3d_weights(["rgb"], out, options(tmp_path, force=True), weights)
    assert (out / "rgb_imagenet.pt").read_bytes() == blob


def test_git_lfs_pointer_is_not_accepted_as_weights(server: Server, tmp_path: Path) -> None:
    pointer = (
        b"version https://git-lfs.github.com/spec/v1\noid sha256:"
        + b"0" * 64
        + b"\nsize 50000000\n"
    )
    path = tmp_path / "pointer"
    path.write_bytes(pointer)
    server.files["rgb_imagenet.pt"] = pointer
    source = Source(
        "rgb-test",
        "rgb_imagenet.pt",
        (server.url("ok", "rgb_imagenet.pt"),),
        Checksum("git-sha1", file_digest(path, "git-sha1")),
    )
    with pytest.raises(RelateError, match="Git LFS pointer"):
        install_i3d_weights(["rgb"], tmp_path / "i3d", options(tmp_path), {"rgb": source})
    assert not (tmp_path / "i3d" / "rgb_imagenet.pt").exists()


def test_identify_weights_by_checksum(server: Server, tmp_path: Path) -> None:
    _, weights = fake_weights(server, tmp_path)
    assert identify_weights(tmp_path / "blob", weights) == "rgb"
    with pytest.raises(DataError, match="none of the known I3D weight files"):
        identify_weights(tmp_path / "blob")  # the real table: a fake file matches neither stream


def test_videos_from_file_named_by_video_id(tmp_path: Path) -> None:
    archive = tmp_path / "breakfast.tar"
    with tarfile.open(archive, "w") as tf:
        for name in (
            "BreakfastII/P03/cam01/P03_cereals.avi",
            "BreakfastII/P03/webcam01/P03_cereals.avi",
            "BreakfastII/P03/cam01/P03_cereals.avi.labels",
        ):
            info = tarfile.TarInfo(name)
            info.size = len(name)
            tf.addfile(info, io.BytesIO(name.encode()))
    [result] = install_videos(
        ["breakfast"],
        tmp_path / "resources",
        options(tmp_path, from_file=archive, allow_unpinned=True),
    )
    videos = tmp_path / "resources" / "breakfast" / "videos"
    assert sorted(p.name for p in videos.iterdir() if p.name != RECEIPT) == [
        "P03_cam01_P03_cereals.avi",
        "P03_webcam01_P03_cereals.avi",
    ]
    assert (
        videos / "P03_cam01_P03_cereals.avi"
    ).read_bytes() == b"BreakfastII/P03/cam01/P03_cereals.avi"
    assert not result.pinned


# --- published checksums (Zenodo md5, Hugging Face LFS sha256) and the checksum lock ----------


def test_md5_and_sha256_in_one_pass_known_vectors(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert file_digests(path, ["md5", "sha256", "git-sha1"]) == {
        "md5": "b1946ac92492d2347c6235b4d2611184",  # md5sum of "hello\n"
        "sha256": hashlib.sha256(b"hello\n").hexdigest(),
        "git-sha1": "ce013625030ba8dba906f756967f9e9ca394464a",
    }


def test_every_features_source_is_pinned_or_has_a_published_checksum() -> None:
    # the default paper run (gtea, 50salads, breakfast) needs no --sha256/--allow-unpinned
    for dataset, sources in FEATURE_SOURCES.items():
        assert sources and all(s.pinned or s.published for s in sources), dataset
    assert [s.published for s in FEATURE_SOURCES["breakfast"]] == ["huggingface", "zenodo"]
    for url in ZENODO_DATA_ZIP.urls:
        assert zenodo_api_url(url) == ("https://zenodo.org/api/records/3625992", "data.zip")
    [hf_breakfast, _] = FEATURE_SOURCES["breakfast"]
    assert huggingface_api_url(hf_breakfast.urls[0]) == (
        "https://huggingface.co/api/datasets/dinggd/breakfast/tree/main",
        "breakfast.zip",
    )
    assert huggingface_api_url("http://h:1/org/model/resolve/v1.0/sub/w.bin?download=true") == (
        "http://h:1/api/models/org/model/tree/v1.0/sub",
        "sub/w.bin",
    )
    with pytest.raises(RelateError, match="not a Zenodo file URL"):
        zenodo_api_url("https://zenodo.org/communities/x")


def test_zenodo_record_in_the_entries_form_is_read() -> None:
    entry = {"size": 5, "checksum": "md5:" + "A" * 32}
    body = json.dumps({"files": {"enabled": True, "entries": {"data.zip": entry}}}).encode()
    published = parse_zenodo_record("http://h/api/records/1", body, "data.zip")
    assert published.checksum == Checksum("md5", "a" * 32) and published.size == 5


def test_hugging_face_tree_listing_gives_lfs_sha256_or_git_blob_id() -> None:
    api = "http://h/api/datasets/o/r/tree/main"
    listing = [
        {
            "type": "file",
            "path": "big.zip",
            "size": 9,
            "oid": "1" * 40,
            "lfs": {"oid": "2" * 64, "size": 9, "pointerSize": 130},
        },
        {"type": "file", "path": "README.md", "size": 3, "oid": "3" * 40},
        {"type": "file", "path": "xet.zip", "size": 4, "oid": "4" * 40, "xetHash": "5" * 64},
        {"type": "directory", "path": "sub", "size": 0, "oid": "6" * 40},
    ]
    body = json.dumps(listing).encode()
    assert parse_huggingface_tree(api, body, "big.zip").checksum == Checksum("sha256", "2" * 64)
    assert parse_huggingface_tree(api, body, "README.md").checksum == Checksum("git-sha1", "3" * 40)
    with pytest.raises(RelateError, match="no LFS sha256 is published"):
        parse_huggingface_tree(api, body, "xet.zip")
    with pytest.raises(RelateError, match="is a directory"):
        parse_huggingface_tree(api, body, "sub")
    with pytest.raises(RelateError, match=re.escape(api) + ": the listing has no file 'gone.zip'"):
        parse_huggingface_tree(api, body, "gone.zip")
    with pytest.raises(RelateError, match="malformed tree listing"):
        parse_huggingface_tree(api, b'{"error": "Repository not found"}', "big.zip")


def _breakfast_sources(server: Server) -> dict[str, tuple[Source, ...]]:
    """A Hugging Face-like and a Zenodo-like source on the loopback server, like the table's."""
    hf = Source(
        "hf-test",
        "breakfast.zip",
        (f"{server.base}/datasets/me/breakfast/resolve/main/breakfast.zip",),
        None,
        published="huggingface",
    )
    zenodo = Source(
        "zenodo-test",
        "data.zip",
        (
            f"{server.base}/records/7/files/data.zip?download=1",
            f"{server.base}/api/records/7/files/data.zip/content",
        ),
        None,
        published="zenodo",
    )
    return {"breakfast": (hf, zenodo)}


def _zenodo_record(archive: bytes) -> bytes:
    entry = {
        "key": "data.zip",
        "size": len(archive),
        "checksum": "md5:" + hashlib.md5(archive).hexdigest(),
        "links": {},
    }
    return json.dumps({"id": 7, "files": [entry]}).encode()


def test_breakfast_falls_back_from_hugging_face_to_zenodo_md5(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files, prefix="data/breakfast/")
    server.pages["/api/records/7"] = (200, _zenodo_record(archive))
    server.pages["/records/7/files/data.zip"] = (200, archive)
    # the Hugging Face API does not know the repository: that source is skipped untouched
    [result] = install_features(
        ["breakfast"], tmp_path / "data", options(tmp_path), _breakfast_sources(server)
    )
    assert result.pinned and result.source == "zenodo-test"
    assert result.checksum == str(sha(archive)) and result.verified_by.startswith("md5:")
    assert [p for p, _ in server.requests] == [
        "/api/datasets/me/breakfast/tree/main",
        "/api/records/7",
        "/records/7/files/data.zip?download=1",
    ]
    lock = json.loads((tmp_path / "cache" / "checksums.lock").read_text())
    assert lock["files"]["data.zip"]["sha256"] == sha(archive).value
    assert validate_dataset(tmp_path / "data" / "breakfast").ok


def test_hugging_face_lfs_sha256_verifies_and_is_locked(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files, prefix="breakfast/")
    listing = [
        {
            "type": "file",
            "path": "breakfast.zip",
            "size": len(archive),
            "oid": "0" * 40,
            "lfs": {"oid": sha(archive).value, "size": len(archive), "pointerSize": 134},
        }
    ]
    server.pages["/api/datasets/me/breakfast/tree/main"] = (200, json.dumps(listing).encode())
    server.pages["/datasets/me/breakfast/resolve/main/breakfast.zip"] = (200, archive)
    [result] = install_features(
        ["breakfast"], tmp_path / "data", options(tmp_path), _breakfast_sources(server)
    )
    assert result.pinned and result.source == "hf-test" and result.checksum == str(sha(archive))
    lock = json.loads((tmp_path / "cache" / "checksums.lock").read_text())
    assert list(lock["files"]) == ["breakfast.zip"]
    assert "published at " + server.base in lock["files"]["breakfast.zip"]["verified_by"]

    # the listing now names other bytes: a new archive is refused even though it matches
    # them, because the lock holds the accepted one
    server.pages["/datasets/me/breakfast/resolve/main/breakfast.zip"] = (200, archive + b"x")
    (tmp_path / "cache" / "breakfast.zip").unlink()
    with pytest.raises(RelateError, match="locked in"):
        install_features(
            ["breakfast"],
            tmp_path / "data",
            options(tmp_path, force=True),
            _breakfast_sources(server),
        )


def test_allow_unpinned_locks_the_sha256_for_later_runs(
    server: Server, tmp_path: Path, files
) -> None:
    archive = features_zip(files)
    server.files["data.zip"] = archive
    sources = gtea_source((server.url("ok", "data.zip"),), None)
    [result] = install_features(
        ["gtea"], tmp_path / "data", options(tmp_path, allow_unpinned=True), sources
    )
    assert not result.pinned
    lock = json.loads((tmp_path / "cache" / "checksums.lock").read_text())
    assert lock["files"]["data.zip"]["sha256"] == sha(archive).value
    assert "--allow-unpinned" in lock["files"]["data.zip"]["verified_by"]

    # later runs need no flag (the lock verifies), and accept nothing else
    (tmp_path / "cache" / "data.zip").unlink()
    [again] = install_features(["gtea"], tmp_path / "data", options(tmp_path, force=True), sources)
    assert again.pinned and "locked in" in again.verified_by
    server.files["data.zip"] = features_zip(files, prefix="gtea/")
    (tmp_path / "cache" / "data.zip").unlink()
    with pytest.raises(RelateError, match="locked in"):
        install_features(
            ["gtea"], tmp_path / "data", options(tmp_path, force=True, allow_unpinned=True), sources
        )
    # an explicit --sha256 replaces the lock (and is not locked itself)
    other = server.files["data.zip"]
    install_features(
        ["gtea"], tmp_path / "data", options(tmp_path, force=True, sha256=sha(other)), sources
    )
    assert json.loads((tmp_path / "cache" / "checksums.lock").read_text()) == lock


def test_from_file_is_verified_by_a_locked_checksum(server: Server, tmp_path: Path, files) -> None:
    archive = features_zip(files, prefix="data/breakfast/")
    server.pages["/api/records/7"] = (200, _zenodo_record(archive))
    server.pages["/records/7/files/data.zip"] = (200, archive)
    sources = _breakfast_sources(server)
    install_features(["breakfast"], tmp_path / "a", options(tmp_path), sources)
    by_hand = tmp_path / "by_hand.zip"
    by_hand.write_bytes(archive)
    [result] = install_features(
        ["breakfast"], tmp_path / "b", options(tmp_path, from_file=by_hand), sources
    )
    assert result.pinned and result.source == "--from-file"


# --- CLI --------------------------------------------------------------------------------------


def test_cli_from_file_and_its_errors(tmp_path: Path, files, capsys) -> None:
    archive = tmp_path / "gtea.zip"
    archive.write_bytes(features_zip(files, prefix="gtea/"))
    common = [
        "download",
        "--what",
        "features",
        "--dataset",
        "gtea",
        "--out",
        str(tmp_path / "data"),
        "--cache",
        str(tmp_path / "cache"),
        "--from-file",
        str(archive),
    ]
    # not the pinned Hugging Face gtea.zip, and no --sha256: refused in one line
    assert main(common) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {archive}: sha256 is ")
    assert "matches no accepted checksum" in err[0]
    assert not (tmp_path / "data").exists()

    assert (
        main([*common, "--sha256", hashlib.sha256(archive.read_bytes()).hexdigest().upper()]) == 0
    )
    out = capsys.readouterr().out
    assert "gtea: installed" in out and "verified" in out
    assert validate_dataset(tmp_path / "data" / "gtea").ok


def test_cli_unreachable_url_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    url = closed_port_url()
    code = main(
        [
            "download",
            "--what",
            "features",
            "--dataset",
            "gtea",
            "--url",
            url,
            "--out",
            str(tmp_path / "data"),
            "--cache",
            str(tmp_path / "cache"),
            "--sha256",
            "0" * 64,
            "--retries",
            "0",
            "--timeout",
            "5",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and url in err[0] and "cannot connect" in err[0]
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "--what is required"),
        (["--what", "features"], "needs at least one --dataset"),
        (["--what", "i3d-weights", "--dataset", "gtea"], "does not apply"),
        (["--what", "features", "--dataset", "gtea", "--sha256", "abc"], "64 hexadecimal digits"),
        (["--what", "videos", "--dataset", "gtea"], "no direct download is known"),
    ],
)
def test_cli_usage_errors_are_one_line(tmp_path: Path, capsys, argv: list[str], words: str) -> None:
    assert (
        main(["download", *argv, "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")]) == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_cli_list_shows_the_table(capsys) -> None:
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    assert "zenodo-data.zip" in out and "73a4fd1d87eb3dbd97f33a9779fa1caa3d28111a" in out
    assert "md5 from the Zenodo record API" in out and "LFS sha256 from the Hugging Face API" in out


# --- Snakemake rules --------------------------------------------------------------------------


@pytest.mark.slow
def test_download_rules_dry_run(tmp_path: Path) -> None:
    snakemake = Path(sys.executable).parent / "snakemake"
    if not snakemake.exists():
        pytest.skip("snakemake is not installed beside this Python")

    def dry_run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                str(snakemake),
                "-n",
                "-p",
                "--cores",
                "1",
                "-s",
                str(REPO_ROOT / "Snakefile"),
                "--directory",
                str(tmp_path),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    result = dry_run("data/gtea", "resources/i3d/rgb_imagenet.pt", "resources/i3d/flow_imagenet.pt")
    assert result.returncode == 0, result.stderr
    assert (
        "relate download --what features --dataset gtea --out $(dirname data/gtea)" in result.stdout
    )
    assert "relate download --what i3d-weights --stream flow" in result.stdout
    # Breakfast needs no flag (published checksums, then the lock); a sha256 the config gives
    # is passed on (a --configfile replaces the paper config, so it is given first)
    plain = dry_run("data/breakfast")
    assert plain.returncode == 0 and "--sha256" not in plain.stdout
    config = tmp_path / "breakfast.yaml"
    config.write_text("download:\n  sha256:\n    breakfast: " + "ab" * 32 + "\n")
    paper = str(REPO_ROOT / "config" / "config.yaml")
    pinned = dry_run("data/breakfast", "--configfile", paper, str(config))
    assert pinned.returncode == 0 and f"--sha256 {'ab' * 32}" in pinned.stdout
