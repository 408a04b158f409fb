"""Which archive members to extract, and where they go.

Features archives: the MS-TCN layout under some dataset folder inside the archive
(``data/gtea/`` in Zenodo's ``data.zip``, ``gtea/`` in the per-dataset zips). Only
``features/*.npy``, ``groundTruth/*.txt``, ``splits/*.bundle`` and ``mapping.txt`` directly
under that folder are taken. Video archives: files with a video extension, named by video id.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from relate.download.extract import Member
from relate.download.sources import DATASET_NAMES
from relate.errors import DataError

logger = logging.getLogger(__name__)

LAYOUT = (
    re.compile(r"features/[^/]+\.npy"),
    re.compile(r"groundTruth/[^/]+\.txt"),
    re.compile(r"splits/[^/]+\.bundle"),
    re.compile(r"mapping\.txt"),
)
"""Paths, relative to a dataset folder, of the files the MS-TCN layout consists of."""

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg"})


def _ignored(name: str) -> bool:
    """macOS resource forks and hidden files never count."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def dataset_folders(names: Iterable[str]) -> list[str]:
    """Prefixes (``""`` or ending in ``/``) under which a ``mapping.txt`` lies."""
    prefixes = {
        name[: -len("mapping.txt")]
        for name in names
        if not _ignored(name) and (name == "mapping.txt" or name.endswith("/mapping.txt"))
    }
    return sorted(prefixes)


def _pick_folder(archive: str, members: list[Member], dataset: str) -> str:
    folders = dataset_folders(m.name for m in members)
    named = [p for p in folders if PurePosixPath(p).name == dataset]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise DataError(archive, f"several {dataset} folders: {', '.join(named)}")
    unnamed = [p for p in folders if PurePosixPath(p).name not in DATASET_NAMES]
    if len(folders) == 1 and unnamed:
        return unnamed[0]
    found = ", ".join(repr(p or "/") for p in folders) or "none"
    raise DataError(archive, f"no {dataset!r} dataset folder with a mapping.txt (found: {found})")


def select_dataset(archive: str, members: list[Member], dataset: str) -> dict[str, str]:
    """Plan for one dataset: archive member -> path relative to ``data/{dataset}``.

    DataError (naming the archive) when the folder is missing or lacks features,
    groundTruth or split files.
    """
    prefix = _pick_folder(archive, members, dataset)
    plan = {}
    dropped = []
    for member in members:
        if not member.name.startswith(prefix) or _ignored(member.name):
            continue
        relative = member.name[len(prefix) :]
        if any(pattern.fullmatch(relative) for pattern in LAYOUT):
            plan[member.name] = relative
        else:
            dropped.append(member.name)
    if dropped:
        logger.warning(
            "%s: %d members outside the MS-TCN layout not installed (first: %s)",
            archive,
            len(dropped),
            dropped[0],
        )
    where = prefix or "the archive root"
    for folder, what in (("features/", ".npy"), ("groundTruth/", ".txt"), ("splits/", ".bundle")):
        if not any(rel.startswith(folder) for rel in plan.values()):
            raise DataError(archive, f"{where}: no {folder}*{what} files")
    return plan


def video_id(dataset: str, name: str) -> str:
    """Video id of an archive member, as the labels name it.

    Breakfast keeps one folder per person and camera (``P03/cam01/P03_cereals.avi``) while
    its labels use ``P03_cam01_P03_cereals``; other datasets use the file's stem.
    """
    path = PurePosixPath(name)
    parts = path.parts
    if dataset == "breakfast" and len(parts) >= 3 and re.fullmatch(r"P\d+", parts[-3]):
        return f"{parts[-3]}_{parts[-2]}_{path.stem}"
    return path.stem


def select_videos(archive: str, members: list[Member], dataset: str) -> dict[str, str]:
    """Plan for raw videos: archive member -> ``{video_id}{ext}`` (one folder, no nesting)."""
    plan: dict[str, str] = {}
    owner: dict[str, str] = {}
    for member in members:
        suffix = PurePosixPath(member.name).suffix.lower()
        if _ignored(member.name) or suffix not in VIDEO_EXTENSIONS:
            continue
        target = video_id(dataset, member.name) + suffix
        if target in owner:
            raise DataError(
                archive, f"members {owner[target]!r} and {member.name!r} both give {target}"
            )
        owner[target] = member.name
        plan[member.name] = target
    if not plan:
        raise DataError(archive, f"no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
    return plan
