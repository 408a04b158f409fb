"""``relate --help`` and every subcommand's ``--help`` run without importing torch, pandas or
scipy (each costs every ``relate`` call a fixed start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import contextlib, io, json, sys
from relate.cli import build_parser, main

names = sorted(build_parser()._subparsers._group_actions[0].choices)
seen = {}
for argv in [["--help"]] + [[name, "--help"] for name in names]:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(argv)
        except SystemExit as stop:
            code = stop.code
    heavy = [m for m in ("torch", "pandas", "scipy") if m in sys.modules]
    seen[" ".join(argv)] = {"code": code, "heavy": heavy,
                            "printed": bool(out.getvalue().strip())}
print(json.dumps(seen))
"""


def test_help_never_imports_torch_pandas_or_scipy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(seen) > 10, seen
    assert all(v["code"] == 0 and v["printed"] for v in seen.values()), seen
    heavy = {argv: v["heavy"] for argv, v in seen.items() if v["heavy"]}
    assert not heavy, f"--help imported: {heavy}"
