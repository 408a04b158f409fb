"""Running ``relate`` for the GPU check (tools/gpu_check.py): one step, several at once, and
the GPU's used memory sampled meanwhile."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

TAIL_CHARS = 2000
"""Characters of a command's stdout and stderr kept in the JSON."""


def relate_command() -> list[str]:
    """The `relate` installed beside this Python (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "relate"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("relate")
    if found is None:
        raise SystemExit(f"error: no `relate` beside {sys.executable} nor on PATH (make venv)")
    return [found]


def run_step(args: list[str], timeout: float) -> dict[str, Any]:
    """Run ``relate ARGS``: its command line, exit code, wall time and output tail."""
    command = relate_command() + args
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        rc = None
        out = _text(expired.stdout)
        err = _text(expired.stderr) + f"\n(timed out after {timeout:g} s)"
    return {
        "command": " ".join(command),
        "rc": rc,
        "wall_s": time.perf_counter() - start,
        "stdout_tail": out[-TAIL_CHARS:],
        "stderr_tail": err[-TAIL_CHARS:],
    }


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train_args(data: Path, out: Path, device: str, epochs: int, seed: int = 0) -> list[str]:
    return [
        "train",
        "--data",
        str(data),
        "--dataset",
        "synthetic",
        "--split",
        "1",
        "--segmenter",
        "mstcn",
        "--variant",
        "rgb",
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--device",
        device,
    ]


class GpuMemoryPoller:
    """Samples the GPU's used memory (nvidia-smi, MiB) every ``interval`` s in a thread."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.available = shutil.which("nvidia-smi") is not None

    def _loop(self) -> None:
        while not self._stop.is_set():
            used = gpu_memory_used_mib()
            if used is not None:
                self.samples.append(used)
            self._stop.wait(self.interval)

    def __enter__(self) -> GpuMemoryPoller:
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.available:
            self._thread.join(timeout=5)

    @property
    def peak_mib(self) -> int | None:
        return max(self.samples) if self.samples else None


def gpu_memory_used_mib() -> int | None:
    """Used memory of the first visible GPU per nvidia-smi (MiB), None without it."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        return int(out.split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def run_concurrently(jobs: list[list[str]], timeout: float) -> dict[str, Any]:
    """Start every ``relate`` job at once, wait for all; wall time and each one's exit code."""
    base = relate_command()
    start = time.perf_counter()
    procs = [
        subprocess.Popen(base + job, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for job in jobs
    ]
    codes, tails = [], []
    for proc in procs:
        remaining = max(1.0, timeout - (time.perf_counter() - start))
        try:
            _, err = proc.communicate(timeout=remaining)
            codes.append(proc.returncode)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            codes.append(None)
        tails.append((err or "")[-TAIL_CHARS:])
    return {"wall_s": time.perf_counter() - start, "rcs": codes, "stderr_tails": tails}
