"""``relate --help`` and every subcommand's ``--help`` run without importing torch, pandas,
scipy, OpenCV, PyAV or matplotlib (each costs every ``relate`` call a fixed start-up)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "pandas", "scipy", "cv2", "av", "matplotlib")

PROBE = """
import argparse, contextlib, io, json, sys
from relate.cli import build_parser, main

heavy = %r
(subcommands,) = [
    action for action in build_parser()._actions
    if isinstance(action, argparse._SubParsersAction)
]
names = sorted(subcommands.choices)
seen, loaded = {}, set()
for argv in [["--help"]] + [[name, "--help"] for name in names]:
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = None
        try:
            main(argv)
        except SystemExit as stop:
            code = stop.code
    now = {m for m in heavy if m in sys.modules}
    seen[" ".join(argv)] = {"code": code, "heavy": sorted(now - loaded),
                            "printed": bool(out.getvalue().strip())}
    loaded |= now
print(json.dumps({"subcommands": names, "seen": seen}))
"""


def test_help_never_imports_heavy_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    seen, names = probe["seen"], probe["subcommands"]
    assert {"train", "predict", "evaluate", "synth-videos", "plan"} <= set(names), names
    assert list(seen) == ["--help"] + [f"{name} --help" for name in names]
    assert all(v["code"] == 0 and v["printed"] for v in seen.values()), seen
    heavy = {argv: v["heavy"] for argv, v in seen.items() if v["heavy"]}
    assert not heavy, f"--help imported (first seen after): {heavy}"
