"""Versions, hardware and code revision recorded beside every result."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("relate-repro", "numpy", "scipy", "torch", "pandas", "snakemake")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results ("absent" if missing)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def git_commit(start: Path | None = None) -> str:
    """The commit of the source tree (with ``-dirty`` if modified), or ``"unknown"``."""
    cwd = start or Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit or "unknown"


def provenance() -> dict[str, object]:
    """Python, package versions, machine and commit, as a JSON-ready dict."""
    return {
        "python": platform.python_version(),
        "packages": package_versions(),
        "machine": platform.machine(),
        "processor": platform.processor() or "unknown",
        "system": f"{platform.system()} {platform.release()}",
        "cpu_count": os.cpu_count(),
        "commit": git_commit(),
    }
