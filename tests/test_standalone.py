"""The repository stands alone: no tracked file points outside it.

* No tracked text file names an absolute path of the machine the suite was built on, or a
  planning document that is not part of the repository.
* Every ``D<n>`` tag used in ``relate/`` (a departure of the authors' release from the paper)
  has its own ``## D<n>: ...`` section in docs/decisions.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DECISIONS = REPO_ROOT / "docs" / "decisions.md"

# The forbidden strings are assembled from parts so that this file does not match itself.
BUILD_MACHINE_ROOT = "/" + "work" + "/"
EXTERNAL_DOCUMENTS = tuple(
    name + ".md"
    for name in (
        "design",
        "reference-relate-release",
        "reference-official-code",
        "baselines-spec",
        "house-style",
        "user-needs",
        "toolchain",
    )
)
FORBIDDEN = (BUILD_MACHINE_ROOT, *EXTERNAL_DOCUMENTS)


D_TAG = re.compile(r"\bD([1-9][0-9]?)\b")
D_HEADING = re.compile(r"^## D([1-9][0-9]?): \S", re.MULTILINE)


def _tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, check=True, capture_output=True
    ).stdout
    return [p for p in out.decode("utf-8").split("\0") if p]


def _text(path: str) -> str | None:
    """The file's text, or None for a missing or binary file."""
    try:
        data = (REPO_ROOT / path).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def test_no_tracked_file_points_outside_the_repository() -> None:
    offences = []
    for path in _tracked_files():
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for needle in FORBIDDEN:
                if needle in line:
                    offences.append(f"{path}:{number}: {needle!r}: {line.strip()[:120]}")
    assert not offences, "references outside the repository:\n" + "\n".join(offences)


def test_every_d_tag_in_relate_has_a_section_in_decisions_md() -> None:
    headings = {int(n) for n in D_HEADING.findall(DECISIONS.read_text(encoding="utf-8"))}
    missing = []
    for path in _tracked_files():
        if not path.startswith("relate/"):
            continue
        text = _text(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for tag in D_TAG.findall(line):
                if int(tag) not in headings:
                    missing.append(f"{path}:{number}: D{tag}")
    assert not missing, "D-tags without a '## D<n>:' section in docs/decisions.md:\n" + "\n".join(
        missing
    )


def test_decisions_md_has_every_release_departure() -> None:
    headings = [int(n) for n in D_HEADING.findall(DECISIONS.read_text(encoding="utf-8"))]
    assert headings == list(range(1, 26))
