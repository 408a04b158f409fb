"""``relate train`` against the official MS-TCN, ASFormer and FACT training loops (CPU).

Usage::

    .venv/bin/python benchmarks/bench_vs_official.py \\
        [--official-mstcn DIR] [--official-asformer DIR] [--official-fact DIR] \\
        [--segmenters mstcn,asformer,fact] [--repeats 3] [--epochs 4] [--threads N] \\
        [--data DIR] [--videos 6] [--min-frames 300] [--max-frames 400] [--fast] \\
        [--checkpoint-every K] [--json FILE]

``DIR`` is a checkout of github.com/yabufarha/ms-tcn, github.com/ChinaYi/ASFormer or
github.com/ZijiaLewisLu/CVPR2024-FACT. A segmenter whose checkout is not given (or not
found) is reported and skipped. The checkouts are only read: their modules are imported in
a subprocess worker from the given path (``sys.path`` / a package spec), and the two
Python-2 constructs of MS-TCN (``print vid``, a ``map`` iterator used twice) are rewritten
in memory before compiling; nothing is written into a checkout.

What runs. Both sides train on the same synthetic dataset (``relate synth``, MS-TCN layout,
split 1, all 2048 feature rows: our ``two_stream`` variant = the official 2048-d input), with
the same number of epochs, the same torch thread count (``torch.set_num_threads`` and
``OMP_NUM_THREADS``), one fresh subprocess per run, and ours/official runs interleaved
(their order alternates from pair to pair).

* ours: ``relate.runs.train.train`` (what ``relate train`` runs), the segmenter's recipe on the
  ``synthetic`` dataset (``--fast`` adds the opt-in fast path, ``--checkpoint-every K``
  writes its resumable checkpoint after every K-th epoch instead of every epoch; see
  docs/training.md);
* MS-TCN: the official ``Trainer.train`` with the settings of its ``main.py`` (4 stages,
  10 layers, 64 maps, Adam lr 5e-4, batch 1) and its ``BatchGenerator``;
* ASFormer: the official ``Trainer.train`` with its ``main.py`` settings for GTEA-like data
  (channel mask 0.5, lr 5e-4, wd 1e-5, ReduceLROnPlateau) and no test set (so no
  evaluation every 10 epochs);
* FACT: the official loop of its ``train.py`` (zero_grad, forward with loss, backward, clip
  10, Adam step, ``save_results``, the lr decay check), with ``configs/gtea.yaml`` and the
  data adapter: FACT's own "dataset from the config" branch pointed at the synthetic folder
  (``feature_transpose``, background id 10, ntoken 21 and mean transcript length 9.9: our
  ``synthetic`` FACT config), the null weight from its ``compute_null_weight``; tensors stay
  on the CPU (its ``.cuda()`` calls are left out) and the periodic printing/evaluation/
  wandb are not run.

What is measured (wall clock, ``time.time``, at the end of every optimiser step of either
side: torch's global step post-hook, and a timing wrapper around our CPU Adam's ``step``):

* epoch: the time from the first optimiser step of epoch e to the first of epoch e+1 (all
  the per-epoch work in between: data loading, forward, backward, steps, each side's own
  per-epoch checkpoint/saving and logging), for e = 2 .. epochs-1 (epoch 1 is warm-up);
* start-up: from just before the worker subprocess is spawned to the end of its first
  optimiser step (interpreter and library imports, data checks/loading, model building,
  first forward/backward/step).

Printed per segmenter: min and median over all runs of each side, and ours/official of the
min and of the median.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from official_loops import worker  # sibling module: this script's folder is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEGMENTERS = ("mstcn", "asformer", "fact")
MARKER = "BENCH_RESULT "


# --- parent -----------------------------------------------------------------------------------


def run_worker(side: str, segmenter: str, official: Path | None, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", side,
        "--segmenter", segmenter, "--data", str(args.data), "--epochs", str(args.epochs),
        "--threads", str(args.threads),
    ]  # fmt: skip
    if official is not None:
        command += ["--official", str(official)]
    if args.fast and side == "ours":
        command.append("--fast")
    if side == "ours":
        command += ["--checkpoint-every", str(args.checkpoint_every)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    if args.extra_path is not None:
        env["BENCH_EXTRA_PATH"] = str(args.extra_path.resolve())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="bench_vs_official_cwd_") as cwd:
        spawned = time.time()
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=cwd, env=env, check=False
        )
    lines = [x for x in done.stdout.splitlines() if x.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
        raise RuntimeError(f"{side} {segmenter} worker failed:\n" + "\n".join(tail))
    result = json.loads(lines[-1][len(MARKER) :])
    steps, per = result["steps"], result["steps_per_epoch"]
    if len(steps) != per * args.epochs:
        raise RuntimeError(f"{side} {segmenter}: {len(steps)} steps, expected {per}x{args.epochs}")
    firsts = [steps[e * per] for e in range(args.epochs)]
    return {
        "startup": steps[0] - spawned,
        "epochs": [b - a for a, b in zip(firsts[1:-1], firsts[2:], strict=True)],
        "threads": result["threads"],
    }


def _fmt(values: list[float]) -> tuple[str, str]:
    return f"{min(values):8.3f}", f"{statistics.median(values):8.3f}"


def _ratio(a: list[float], b: list[float], how) -> str:  # type: ignore[no-untyped-def]
    return f"{how(a) / how(b):5.2f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in SEGMENTERS:
        parser.add_argument(f"--official-{name}", type=Path, metavar="DIR")
    parser.add_argument("--segmenters", default=",".join(SEGMENTERS))
    parser.add_argument("--repeats", type=int, default=3, help="interleaved pairs (>= 3)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (>= 3)")
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--data", type=Path, help="MS-TCN-layout dataset (default: synthesise)")
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--min-frames", type=int, default=300)
    parser.add_argument("--max-frames", type=int, default=400)
    parser.add_argument("--fast", action="store_true", help="ours with the opt-in fast path")
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=1,
        metavar="K",
        help="ours: resumable checkpoint after every K-th epoch (default 1, as `relate train`)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--extra-path",
        type=Path,
        help="folder put first on the official workers' sys.path (e.g. a `pip install --target` "
        "of FACT's yacs, kept out of the venv)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--segmenter", help=argparse.SUPPRESS)
    parser.add_argument("--official", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(MARKER + json.dumps(worker(args)), flush=True)
        return 0
    if args.repeats < 3 or args.epochs < 3:
        parser.error("need --repeats >= 3 and --epochs >= 3")
    with tempfile.TemporaryDirectory(prefix="bench_vs_official_data_") as scratch:
        return compare(args, Path(scratch))


def compare(args: argparse.Namespace, scratch: Path) -> int:
    """Run every segmenter's interleaved pairs and print the tables; synthetic data (when no
    ``--data`` is given) goes to ``scratch``."""
    if args.data is None:
        args.data = scratch / "synthetic"
        subprocess.run(
            [sys.executable, "-m", "relate", "synth", "--out", str(args.data), "--seed", "0",
             "--videos", str(args.videos), "--min-frames", str(args.min_frames),
             "--max-frames", str(args.max_frames), "--splits", "3"],
            check=True, capture_output=True, cwd=REPO_ROOT,
        )  # fmt: skip
    args.data = args.data.resolve()
    train = Path(args.data, "splits", "train.split1.bundle").read_text().split()
    print(f"# relate train vs official training loops, {platform.node()}: "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch threads {args.threads}, python {platform.python_version()}")  # fmt: skip
    options = ("; ours with --fast" if args.fast else "") + (
        f"; ours with --checkpoint-every {args.checkpoint_every}"
        if args.checkpoint_every != 1
        else ""
    )
    print(f"# data: {args.data} (split 1: {len(train)} train videos, 2048-d features); "
          f"{args.epochs} epochs per run, {args.repeats} interleaved ours/official pairs"
          f"{options}")  # fmt: skip
    print(
        "# epoch = wall time from the first optimiser step of epoch e to that of e+1, "
        f"e = 2..{args.epochs - 1} (all per-epoch work incl. each side's saving; no evaluation)"
    )
    print("# start-up = spawn of the worker process to the end of its first optimiser step")
    results: dict[str, object] = {}
    for segmenter in args.segmenters.split(","):
        official = getattr(args, f"official_{segmenter}")
        print(f"\n## {segmenter}")
        if official is None or not Path(official).is_dir():
            print(f"skipped: no official checkout (--official-{segmenter} {official or 'DIR'})")
            continue
        runs: dict[str, list[dict]] = {"ours": [], "official": []}
        for pair in range(args.repeats):
            order = ("ours", "official") if pair % 2 == 0 else ("official", "ours")
            for side in order:
                try:
                    runs[side].append(run_worker(side, segmenter, official, args))
                except RuntimeError as error:
                    print(f"skipped: {error}")
                    break
            else:
                continue
            break
        if not runs["ours"] or not runs["official"]:
            continue
        epochs = {s: [e for r in runs[s] for e in r["epochs"]] for s in runs}
        starts = {s: [r["startup"] for r in runs[s]] for s in runs}
        print(f"{'measure':<22}{'ours min':>9}{'ours med':>9}{'off. min':>9}{'off. med':>9}"
              f"{'min ratio':>10}{'med ratio':>10}")  # fmt: skip
        for label, table in (("epoch (s)", epochs), ("start-up (s)", starts)):
            (om, od), (fm, fd) = _fmt(table["ours"]), _fmt(table["official"])
            print(f"{label:<22}{om:>9}{od:>9}{fm:>9}{fd:>9}"
                  f"{_ratio(table['ours'], table['official'], min):>10}"
                  f"{_ratio(table['ours'], table['official'], statistics.median):>10}")  # fmt: skip
        print(
            f"(n: {len(epochs['ours'])}/{len(epochs['official'])} epochs, "
            f"{len(starts['ours'])}/{len(starts['official'])} start-ups ours/official)"
        )
        results[segmenter] = {"epochs": epochs, "startup": starts}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
