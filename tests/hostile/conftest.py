"""Shared checks for the hostile-input corpus: every case runs the real CLI in-process and
asserts the error contract (exit 2, one ``error: <path>: <problem>`` line, no traceback,
nothing written)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from relate.cli import main


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder below ``root`` with a digest of its bytes (folders: "dir")."""
    state: dict[str, str] = {}
    if not root.exists():
        return state
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = "link"
        elif path.is_dir():
            state[rel] = "dir"
        elif path.is_file():
            state[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[rel] = "special"
    return state


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run ``relate ARGS`` in-process; returns a :class:`CliResult`."""

    def _run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return _run


def error_lines(stderr: str) -> list[str]:
    """The ``error:`` lines of ``stderr`` (log lines from ``logging`` are ignored)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_clean_error(result: CliResult, names: str | Path) -> str:
    """Exit 2, exactly one ``error:`` line that mentions ``names``, no traceback.

    Returns the error line.
    """
    assert result.code == 2, f"exit {result.code}, stderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert str(names) in lines[0], f"{names!s} not named in: {lines[0]}"
    return lines[0]


def train_args(data: Path, out: Path, *extra: str, epochs: int = 1) -> list[str]:
    """``relate train`` of an MS-TCN rgb run on split 1 of the synthetic-layout ``data``."""
    return [
        *("train", "--data", str(data), "--dataset", "synthetic", "--split", "1"),
        *("--segmenter", "mstcn", "--variant", "rgb", "--seed", "0"),
        *("--out", str(out), "--epochs", str(epochs), *extra),
    ]
