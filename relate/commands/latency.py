"""``relate latency``: time the Fig. 3 setups stage by stage on one video (docs/latency.md)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from relate.commands.options import positive_int
from relate.data.registry import DATASETS
from relate.errors import DataError, RelateError

SYNTHETIC_FPS = 15  # GTEA's frame rate


def size(text: str) -> tuple[int, int]:
    """``HxW`` -> (H, W)."""
    height, sep, width = text.lower().partition("x")
    try:
        if not sep:
            raise ValueError
        result = (int(height), int(width))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 224x224, got {text!r}") from None
    if min(result) < 8:
        raise argparse.ArgumentTypeError(f"frames must be at least 8x8, got {text!r}")
    return result


def register(subparsers: argparse._SubParsersAction) -> None:
    from relate.tools.latency import SEGMENTER_NAMES, SETUPS

    parser = subparsers.add_parser(
        "latency",
        help="time decode / TV-L1 / I3D / segmenter / PR per video for the Fig. 3 setups",
        description=(
            "Time every stage of the rgb, flow, two_stream and relate setups on one video "
            "(warm-up runs, then --repeats timed runs; median and spread) and write JSON. "
            "Segmenters and the RELATE model are randomly initialised: timing only. "
            "TV-L1 and PR run on the CPU, I3D and the models on --device. "
            "Plot with `relate fig3`. See docs/latency.md."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--video", type=Path, metavar="PATH", help="a video file to time")
    source.add_argument(
        "--synthetic-frames",
        type=positive_int,
        metavar="N",
        help="render an N-frame synthetic video (550 ~ GTEA's 37 s at 15 fps), encode it "
        "as H.264 in a temporary folder and time it",
    )
    parser.add_argument(
        "--size",
        type=size,
        default=(224, 224),
        metavar="HxW",
        help="synthetic frame size, square and even (default: 224x224)",
    )
    parser.add_argument(
        "--frame-size",
        type=size,
        default=None,
        metavar="HxW",
        help="resize decoded frames to HxW inside the timed decode stage "
        "(the paper ran TV-L1 at 224x224; default: native size)",
    )
    parser.add_argument(
        "--setups",
        default=",".join(SETUPS),
        help=f"comma-separated subset of {','.join(SETUPS)} (default: all)",
    )
    parser.add_argument(
        "--segmenter",
        choices=SEGMENTER_NAMES,
        default="mstcn",
        help="segmenter of every setup (default: mstcn, as Fig. 3)",
    )
    parser.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default="gtea",
        help="sets the segmenter's settings and class count (default: gtea)",
    )
    parser.add_argument(
        "--device",
        default="cpu",
        help="torch device of I3D and the models: cpu, cuda, cuda:1 (default: cpu)",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=5,
        metavar="R",
        help="timed runs per stage (default: 5)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        metavar="W",
        help="untimed runs per stage first (default: 1)",
    )
    parser.add_argument(
        "--sample-windows",
        type=positive_int,
        default=None,
        metavar="K",
        help="time I3D on K evenly spaced windows and extrapolate linearly "
        "(recorded per stage; default: every window)",
    )
    parser.add_argument(
        "--sample-pairs",
        type=positive_int,
        default=None,
        metavar="K",
        help="time TV-L1 on K consecutive frame pairs and extrapolate linearly "
        "(recorded per stage; default: every pair)",
    )
    parser.add_argument(
        "--i3d-batch",
        type=positive_int,
        default=8,
        metavar="B",
        help="I3D windows per forward pass (default: 8)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        metavar="N",
        help="set torch and OpenCV thread counts (default: leave as is)",
    )
    parser.add_argument("--seed", type=int, default=0, help="model init / input seed (default: 0)")
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE.json",
        help="write the JSON report here (atomically)",
    )
    parser.set_defaults(handler=run)


def parse_setups(text: str) -> list[str]:
    from relate.tools.latency import SETUPS

    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SETUPS]
    if unknown or not names:
        raise RelateError(
            f"--setups {text!r}: expected a comma-separated subset of {','.join(SETUPS)}"
        )
    return list(dict.fromkeys(names))


def check_device(device: str) -> None:
    import torch

    try:
        kind = torch.device(device).type
    except (RuntimeError, ValueError):
        raise RelateError(f"--device {device!r}: not a torch device (cpu, cuda, cuda:0)") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise RelateError(f"--device {device!r}: CUDA is not available on this machine")
    if kind not in ("cpu", "cuda"):
        raise RelateError(f"--device {device!r}: only cpu and cuda are supported")


def format_summary(report: dict) -> str:
    """One table row per setup: stage medians and the total, in seconds."""
    from tabulate import tabulate

    from relate.tools.latency import STAGES

    rows = []
    for setup, summary in report["setups"].items():
        medians = {s["stage"]: s["median_s"] for s in summary["stages"]}
        rows.append(
            [setup]
            + [f"{medians[s]:.4g}" if s in medians else "" for s in STAGES]
            + [f"{summary['total_median_s']:.2f}", "yes" if summary["extrapolated"] else "no"]
        )
    table = tabulate(
        rows,
        headers=["setup", *STAGES, "total s", "extrapolated"],
        tablefmt="github",
        disable_numparse=True,
    )
    ratio = report["ratios"].get("two_stream_over_relate")
    if ratio is not None:
        table += f"\ntwo_stream / relate total time: {ratio:.1f}x"
    return table


def run(args: argparse.Namespace) -> int:
    import torch

    from relate import io
    from relate.tools import latency

    setups = parse_setups(args.setups)
    check_device(args.device)
    if args.warmup < 0:
        raise RelateError(f"--warmup must be >= 0, got {args.warmup}")
    if args.threads is not None:
        import cv2

        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)
    options = latency.StageOptions(
        segmenter=args.segmenter,
        dataset=args.dataset,
        device=args.device,
        sample_windows=args.sample_windows,
        sample_pairs=args.sample_pairs,
        i3d_batch_size=args.i3d_batch,
        threads=args.threads,
        frame_size=args.frame_size,
        seed=args.seed,
    )
    with tempfile.TemporaryDirectory(prefix="relate-latency-") as tmp:
        if args.video is not None:
            if not args.video.is_file():
                raise DataError(args.video, "video file not found")
            path, video = args.video, {"source": str(args.video), "synthetic": False}
        else:
            path, video = synthetic_video(Path(tmp), args.synthetic_frames, args.size, args.seed)
        stages = latency.VideoStages(path, options)
        result = latency.run_benchmark(
            setups,
            stages,
            warmup=args.warmup,
            repeats=args.repeats,
            synchronize=latency.synchronizer(args.device),
        )
    decoded = result["measurements"]["decode"]["info"].get("decoded_shape")
    if decoded:
        video.update(frames=decoded[0], height=decoded[1], width=decoded[2])
    report = latency.build_report(
        result,
        video=video,
        options=options,
        warmup=args.warmup,
        repeats=args.repeats,
        command=canonical_command(args),
    )
    io.write_json(args.out, report)
    print(format_summary(report))
    print(f"wrote {args.out}")
    return 0


def canonical_command(args: argparse.Namespace) -> list[str]:
    """The command line that reproduces this run, rebuilt from the parsed options."""
    command = ["relate", "latency"]
    if args.video is not None:
        command += ["--video", str(args.video)]
    else:
        command += [
            "--synthetic-frames",
            str(args.synthetic_frames),
            "--size",
            f"{args.size[0]}x{args.size[1]}",
        ]
    if args.frame_size is not None:
        command += ["--frame-size", f"{args.frame_size[0]}x{args.frame_size[1]}"]
    command += [
        "--setups",
        ",".join(parse_setups(args.setups)),
        "--segmenter",
        args.segmenter,
        "--dataset",
        args.dataset,
        "--device",
        args.device,
        "--repeats",
        str(args.repeats),
        "--warmup",
        str(args.warmup),
    ]
    optional = (
        ("--sample-windows", args.sample_windows),
        ("--sample-pairs", args.sample_pairs),
        ("--threads", args.threads),
    )
    for flag, value in optional:
        if value is not None:
            command += [flag, str(value)]
    command += [
        "--i3d-batch",
        str(args.i3d_batch),
        "--seed",
        str(args.seed),
        "--out",
        str(args.out),
    ]
    return command


def synthetic_video(folder: Path, frames: int, hw: tuple[int, int], seed: int) -> tuple[Path, dict]:
    """Render one synthetic video with ``relate.data.synthetic_videos`` into ``folder``.

    Returns (path of the .mp4, JSON description).
    """
    from relate.data.synthetic_videos import SynthVideoConfig, generate_videos

    height, width = hw
    if height != width or height % 2 or height < 16:
        raise RelateError(f"--size {height}x{width}: synthetic videos are square, even and >= 16")
    if frames < 10:
        raise RelateError(f"--synthetic-frames {frames}: need at least 10 frames (5 segments)")
    config = SynthVideoConfig(
        n_videos=1,
        n_splits=1,
        min_frames=frames,
        max_frames=frames,
        size=height,
        fps=SYNTHETIC_FPS,
        min_segment_frames=min(5, frames // 5),
    )
    generate_videos(folder / "synthetic", config, seed=seed)
    (path,) = sorted((folder / "synthetic" / "videos").glob("*.mp4"))
    return path, {
        "source": "synthetic",
        "synthetic": True,
        "frames": frames,
        "height": height,
        "width": width,
        "fps": SYNTHETIC_FPS,
        "seed": seed,
        "renderer": "relate.data.synthetic_videos (moving textured shapes; one video)",
        "container": f"mp4, H.264 yuv420p, crf {config.crf}",
    }
