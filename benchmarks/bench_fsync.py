"""Cost of fsync in relate.io atomic writes: N small and a few large files, with and without.

Usage: python benchmarks/bench_fsync.py [--small N] [--large N] [--large-mb MB] [--dir DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

from relate import io


def _time(folder: Path, count: int, payload: str, fsync: bool) -> float:
    start = time.perf_counter()
    for i in range(count):
        io.write_text(folder / f"f{i}.txt", payload, fsync=fsync)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=200, help="small (1 KB) writes")
    parser.add_argument("--large", type=int, default=3, help="large writes")
    parser.add_argument("--large-mb", type=int, default=32, help="size of a large write, MB")
    parser.add_argument("--dir", type=Path, default=None, help="folder to write in (default: temp)")
    args = parser.parse_args()
    cases = [
        ("small 1 KB", args.small, "x" * 1024),
        (f"large {args.large_mb} MB", args.large, "x" * (args.large_mb << 20)),
    ]
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as root:
        for name, count, payload in cases:
            off = _time(Path(root), count, payload, fsync=False)
            on = _time(Path(root), count, payload, fsync=True)
            rows.append(
                [
                    name,
                    count,
                    f"{1e3 * off / count:.3f}",
                    f"{1e3 * on / count:.3f}",
                    f"{on / off:.1f}x",
                ]
            )
    print(
        tabulate(
            rows,
            headers=["writes", "n", "ms/write no fsync", "ms/write fsync", "ratio"],
            tablefmt="github",
        )
    )


if __name__ == "__main__":
    main()
