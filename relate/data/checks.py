"""Checks of single dataset files, shared by the readers and ``relate validate``.

Each ``parse_*`` / ``open_*`` function returns ``(problems, value)``: a list of one-line
problem descriptions (without the path, which the caller prefixes) and the parsed value
(best effort when there are problems). Readers raise the first problem as a
:class:`relate.errors.DataError`; the validator reports all of them.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

import numpy as np

BUNDLE_NAME = re.compile(r"^(train|test)\.split(\d+)\.bundle$")
MAX_LISTED = 3
"""How many offending items one problem line names before saying '... and N more'."""

VALUE_SCAN_COLUMNS = 4096
"""Frames per chunk when scanning a feature array for non-finite values."""


def list_some(items: list[str]) -> str:
    """``'a', 'b', 'c' and 2 more`` for problem messages."""
    shown = ", ".join(repr(item) for item in items[:MAX_LISTED])
    extra = len(items) - MAX_LISTED
    return f"{shown} and {extra} more" if extra > 0 else shown


def parse_bundle_name(name: str) -> tuple[str, int] | None:
    """``("train", 3)`` for ``train.split3.bundle``; None for other names."""
    match = BUNDLE_NAME.match(name)
    return (match.group(1), int(match.group(2))) if match else None


def regular_file_problem(path: Path) -> str | None:
    """Why ``path`` is not an existing regular file (None if it is); never opens it."""
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symlink loop"
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            return "file does not exist"
        return f"cannot be read ({error.strerror})"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    return None


def bundle_entry_problem(video: str) -> str | None:
    """Why a bundle entry is not a plain video id (None if it is)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in video):
        return "contains a control character"
    if "/" in video or "\\" in video or video in (".", "..") or os.path.isabs(video):
        return "is not a plain video id (path separator, '..' or absolute path)"
    return None


def read_text_lines(path: Path) -> tuple[list[str], list[str]]:
    """Lines of a UTF-8 text file (a leading BOM is ignored); problems if unreadable."""
    problem = regular_file_problem(path)
    if problem:
        return [problem], []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        return [f"not valid UTF-8 text (byte {error.start})"], []
    except OSError as error:
        return [f"cannot be read ({error.strerror})"], []
    return [], text.splitlines()


def parse_mapping(path: Path) -> tuple[list[str], dict[str, int]]:
    """Parse ``mapping.txt`` lines ``"<int id> <name>"`` into ``{name: id}``."""
    problems, lines = read_text_lines(path)
    if problems:
        return problems, {}
    mapping: dict[str, int] = {}
    seen_ids: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if number < len(lines):
                problems.append(f"line {number} is blank")
            continue
        fields = line.split()
        if len(fields) != 2 or not re.fullmatch(r"-?\d+", fields[0]):
            problems.append(f'line {number} is malformed: expected "<int id> <name>", got {line!r}')
            continue
        class_id, name = int(fields[0]), fields[1]
        if class_id < 0:
            problems.append(f"line {number}: negative class id {class_id}")
            continue
        if class_id in seen_ids:
            problems.append(
                f"line {number}: duplicate class id {class_id} (first on line {seen_ids[class_id]})"
            )
            continue
        if name in mapping:
            problems.append(f"line {number}: duplicate class name {name!r}")
            continue
        seen_ids[class_id] = number
        mapping[name] = class_id
    if not mapping and not problems:
        problems.append("mapping is empty")
    return problems, mapping


def parse_bundle(path: Path) -> tuple[list[str], list[str]]:
    """Video names of a split bundle (``"{video}.txt"`` per line, ``.txt`` stripped)."""
    problems, lines = read_text_lines(path)
    if problems:
        return problems, []
    videos: list[str] = []
    seen: set[str] = set()
    duplicates: list[str] = []
    for line in lines:
        entry = line.strip()
        if not entry:
            continue
        video = entry[: -len(".txt")] if entry.endswith(".txt") else entry
        bad = bundle_entry_problem(video)
        if bad:
            problems.append(f"entry {entry!r} {bad}")
            continue
        if video in seen:
            duplicates.append(video)
            continue
        seen.add(video)
        videos.append(video)
    if duplicates:
        problems.append(f"lists {len(duplicates)} video(s) twice: {list_some(duplicates)}")
    if not videos:
        problems.append("split bundle lists no videos")
    return problems, videos


def parse_labels(path: Path, mapping: dict[str, int] | None = None) -> tuple[list[str], list[str]]:
    """Frame labels of a groundTruth file, checked against ``mapping`` when given."""
    problems, lines = read_text_lines(path)
    if problems:
        return problems, []
    labels = [line.strip() for line in lines]
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        return ["empty groundTruth (no frames)"], []
    blank = [i + 1 for i, label in enumerate(labels) if not label]
    if blank:
        problems.append(f"{len(blank)} blank line(s) inside the labels, first at line {blank[0]}")
    if mapping is not None:
        unknown = sorted(set(labels) - set(mapping) - {""})
        if unknown:
            first_line = 1 + next(i for i, label in enumerate(labels) if label in set(unknown))
            problems.append(
                f"label(s) not in mapping.txt: {list_some(unknown)} (first at line {first_line})"
            )
    return problems, labels


def open_feature_array(
    path: Path, mmap: bool = True, expected_rows: int = 2048
) -> tuple[list[str], np.ndarray | None]:
    """Open a ``(expected_rows, T)`` .npy feature file, checking its header and shape."""
    problem = regular_file_problem(path)
    if problem:
        return [problem], None
    try:
        array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        return [f"unreadable or corrupt .npy ({reason})"], None
    if not isinstance(array, np.ndarray):
        return ["not a single .npy array (an .npz archive?)"], None
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        return [f"feature array has non-numeric dtype {array.dtype}"], None
    shape = tuple(array.shape)
    if array.ndim != 2:
        return [
            f"feature array is {array.ndim}-D with shape {shape}, expected 2-D ({expected_rows}, T)"
        ], None
    rows, frames = shape
    if rows != expected_rows and frames == expected_rows:
        return [
            f"feature array has shape {shape}: transposed (T x {expected_rows}), "
            f"expected ({expected_rows}, T)"
        ], None
    if rows != expected_rows:
        return [f"feature array has {rows} rows, expected {expected_rows} (shape {shape})"], None
    if frames == 0:
        return [f"feature array has no frames (shape {shape})"], None
    return [], array


def check_feature_values(array: np.ndarray) -> list[str]:
    """Problems if a ``(D, T)`` array holds NaN or infinity (scanned in column chunks)."""
    bad_total = 0
    first: tuple[int, int] | None = None
    for start in range(0, array.shape[1], VALUE_SCAN_COLUMNS):
        chunk = np.asarray(array[:, start : start + VALUE_SCAN_COLUMNS])
        bad = ~np.isfinite(chunk)
        count = int(bad.sum())
        if count and first is None:
            row, col = np.argwhere(bad)[0]
            first = (int(row), start + int(col))
        bad_total += count
    if bad_total:
        assert first is not None
        return [
            f"{bad_total} non-finite value(s) (NaN/inf), first at row {first[0]}, frame {first[1]}"
        ]
    return []


def class_id_problems(mapping: dict[str, int]) -> list[str]:
    """A problem unless the class ids are exactly 0..K-1; names the missing ids."""
    ids = sorted(mapping.values())
    if not ids or ids == list(range(len(ids))):
        return []
    missing = sorted(set(range(max(ids) + 1)) - set(ids))
    return [
        f"class ids must be 0..{len(ids) - 1} without gaps; ids run {ids[0]}..{ids[-1]}, "
        f"missing {list_some([str(i) for i in missing])}"
    ]


def length_mismatch_message(features_len: int, labels_len: int) -> str:
    """The warning text for a feature/label length mismatch."""
    return (
        f"feature length {features_len} != label length {labels_len} "
        f"(training truncates to {min(features_len, labels_len)})"
    )
