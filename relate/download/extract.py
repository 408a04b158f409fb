"""Safe extraction of zip and tar archives.

Every member name is checked before anything is written: an absolute path, a ``..``
component, a backslash, a NUL byte, a symlink, a hard link or a device/FIFO member makes the
whole archive refused (DataError naming the archive and the member). Only the members the
caller selects are extracted, each to a destination path the caller builds, into a
temporary folder that is renamed into place once complete.
"""

from __future__ import annotations

import logging
import re
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from relate.errors import DataError
from relate.io import atomic_directory

logger = logging.getLogger(__name__)

CHUNK = 1 << 20


@dataclass(frozen=True)
class ExtractLimits:
    """Caps checked while members are streamed out (declared sizes can lie).

    Attributes:
        max_ratio: largest uncompressed/compressed ratio, per member and for the archive.
        ratio_floor: ratios are only judged once this many bytes were written (small,
            very regular text files compress well and are harmless).
        max_total: largest total of uncompressed bytes extracted from one archive.
    """

    max_ratio: float = 100.0
    ratio_floor: int = 1 << 20
    max_total: int = 200 * 10**9


@dataclass(frozen=True)
class Member:
    """A regular file inside an archive: its normalised POSIX name and declared size.

    ``packed`` is its compressed size in a zip; None in a tar (compressed as a whole).
    """

    name: str
    size: int
    packed: int | None = None


def _unsafe_name(name: str) -> str | None:
    """Why ``name`` is unsafe to extract anywhere, or None."""
    if "\0" in name:
        return "NUL byte in name"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in PurePosixPath(name).parts:
        return "'..' in path"
    return None


def _normalise(name: str) -> str:
    """``./a//b/`` -> ``a/b``."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def _zip_members(archive: Path) -> list[Member]:
    members = []
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            problem = _unsafe_name(info.filename)
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode) if info.create_system == 3 else 0
            if problem is None and kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                problem = "symlink member" if kind == stat.S_IFLNK else "special file member"
            if problem is None and info.flag_bits & 0x1:
                problem = "encrypted member"
            if problem is not None:
                raise DataError(archive, f"refusing archive: {problem}: {info.filename!r}")
            if not info.is_dir() and kind != stat.S_IFDIR:
                members.append(
                    Member(_normalise(info.filename), info.file_size, info.compress_size)
                )
    return members


def _tar_members(archive: Path) -> list[Member]:
    members = []
    with tarfile.open(archive, "r:*") as tf:
        for info in tf:
            problem = _unsafe_name(info.name)
            if problem is None and info.issym():
                problem = "symlink member"
            elif problem is None and info.islnk():
                problem = "hard link member"
            elif problem is None and not (info.isreg() or info.isdir()):
                problem = "special file member"
            if problem is not None:
                raise DataError(archive, f"refusing archive: {problem}: {info.name!r}")
            if info.isreg():
                members.append(Member(_normalise(info.name), info.size))
    return members


def archive_format(archive: str | Path) -> str:
    """``"zip"`` or ``"tar"`` (any compression tarfile reads); DataError otherwise."""
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        return "zip"
    try:
        if tarfile.is_tarfile(archive):
            return "tar"
    except OSError:
        pass
    raise DataError(archive, "not a zip or tar archive")


def list_members(archive: str | Path) -> list[Member]:
    """The regular files of ``archive`` after checking every member; DataError if any is unsafe."""
    archive = Path(archive)
    try:
        if archive_format(archive) == "zip":
            members = _zip_members(archive)
        else:
            members = _tar_members(archive)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        raise DataError(archive, f"unreadable archive ({' '.join(str(error).split())})") from None
    seen: set[str] = set()
    for member in members:
        if member.name in seen:
            raise DataError(archive, f"refusing archive: duplicate member {member.name!r}")
        seen.add(member.name)
    return members


def _streams(archive: Path, names: set[str]) -> Iterator[tuple[str, object]]:
    """(normalised name, readable binary stream) for each selected member, in archive order."""
    if archive_format(archive) == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = _normalise(info.filename)
                if name in names and not info.is_dir():
                    with zf.open(info) as stream:
                        yield name, stream
    else:
        with tarfile.open(archive, "r:*") as tf:
            for info in tf:
                name = _normalise(info.name)
                if name in names and info.isreg():
                    stream = tf.extractfile(info)
                    if stream is None:
                        raise DataError(archive, f"cannot read member {info.name!r}")
                    with stream:
                        yield name, stream


def _safe_target(root: Path, relative: str) -> Path:
    """``root / relative`` after checking it cannot leave ``root``."""
    if _unsafe_name(relative) is not None or not relative:
        raise ValueError(f"unsafe destination {relative!r}")
    target = root / relative
    if not target.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"destination {relative!r} leaves {root}")
    return target


def _over_limits(
    member: Member, written: int, total: int, packed_total: int, limits: ExtractLimits
) -> str | None:
    """Why extraction must stop after ``written`` bytes of ``member`` (``total`` in all)."""
    if written > member.size:
        return f"more than its declared {member.size} bytes"
    if total > limits.max_total:
        return f"archive expands past {limits.max_total} bytes"
    if written > limits.ratio_floor and member.packed is not None:
        if written > limits.max_ratio * max(member.packed, 1):
            return f"compression ratio above {limits.max_ratio:g}"
    if total > limits.ratio_floor and total > limits.max_ratio * packed_total:
        return f"archive compression ratio above {limits.max_ratio:g}"
    return None


def extract_selected(
    archive: str | Path,
    plan: Mapping[str, str],
    dest: str | Path,
    extra_files: Mapping[str, bytes] | None = None,
    progress: bool = False,
    limits: ExtractLimits = ExtractLimits(),
) -> int:
    """Extract the members in ``plan`` (member name -> path relative to ``dest``) atomically.

    The whole archive is checked first (:func:`list_members`). Files are written into a
    temporary sibling of ``dest`` that replaces ``dest`` only when every member was written
    with its declared size; ``extra_files`` (relative path -> bytes, e.g. a receipt) are
    added to the same folder before the rename. ``limits`` (ratio and size caps) are
    checked on the bytes actually read. Returns the number of bytes extracted.
    """
    archive, dest = Path(archive), Path(dest)
    members = {m.name: m for m in list_members(archive)}
    missing = sorted(set(plan) - set(members))
    if missing:
        raise DataError(archive, f"member {missing[0]!r} not found")
    if len(set(plan.values())) != len(plan):
        raise DataError(archive, "two members map to the same destination file")
    needed = sum(members[name].size for name in plan)
    if needed > limits.max_total:
        raise DataError(
            archive, f"refusing archive: declares {needed} bytes, more than {limits.max_total}"
        )
    created = not dest.parent.exists()
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        return _extract(archive, members, plan, dest, extra_files, progress, limits, needed)
    except BaseException:
        if created and not any(dest.parent.iterdir()):
            dest.parent.rmdir()
        raise


def _extract(
    archive: Path,
    members: Mapping[str, Member],
    plan: Mapping[str, str],
    dest: Path,
    extra_files: Mapping[str, bytes] | None,
    progress: bool,
    limits: ExtractLimits,
    needed: int,
) -> int:
    """The body of :func:`extract_selected` once the plan is checked."""
    packed_total = max(archive.stat().st_size, 1)
    free = shutil.disk_usage(dest.parent).free
    if needed > free:
        raise DataError(
            dest.parent, f"needs {needed / 1e9:.2f} GB to extract, {free / 1e9:.2f} GB free"
        )

    written_total = 0
    with (
        atomic_directory(dest) as tmp,
        tqdm(
            total=needed,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=f"extracting {dest.name}",
            disable=not progress,
            mininterval=1.0,
        ) as bar,
    ):
        tmp.chmod(
            0o755
        )  # mkdtemp makes it 0700; the installed folder should be readable like any other
        done: set[str] = set()
        try:
            for name, stream in _streams(archive, set(plan)):
                if name in done:
                    continue
                target = _safe_target(tmp, plan[name])
                target.parent.mkdir(parents=True, exist_ok=True)
                written = 0
                member = members[name]
                with open(target, "xb") as out:
                    while chunk := stream.read(CHUNK):  # type: ignore[attr-defined]
                        written += len(chunk)
                        problem = _over_limits(
                            member, written, written_total + written, packed_total, limits
                        )
                        if problem is not None:
                            raise DataError(
                                archive, f"refusing archive: member {name!r}: {problem}"
                            )
                        out.write(chunk)
                        bar.update(len(chunk))
                if written != members[name].size:
                    raise DataError(
                        archive, f"member {name!r}: {written} bytes, declared {members[name].size}"
                    )
                done.add(name)
                written_total += written
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
            raise DataError(
                archive, f"extraction failed ({' '.join(str(error).split())})"
            ) from None
        if len(done) != len(plan):
            raise DataError(archive, f"only {len(done)} of {len(plan)} selected members were read")
        for relative, content in (extra_files or {}).items():
            _safe_target(tmp, relative).write_bytes(content)
    logger.info(
        "extracted %d files (%d bytes) from %s into %s", len(plan), written_total, archive, dest
    )
    return written_total
