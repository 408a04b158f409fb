"""The per-frame cost table of one machine: reading, checking and measuring it.

A calibration is a JSON file (``FORMAT`` below) of seconds measured on one machine:

* ``train_s_per_frame[segmenter][width]``: one optimiser step (zero_grad, forward, the
  official loss, backward, clipping where the recipe has it, Adam step) on one random video,
  divided by its frames; ``width`` is the input dimension ("1024": rgb and flow, "2048":
  two_stream);
* ``forward_s_per_frame[segmenter][width]``: one ``torch.no_grad()`` forward, per frame
  (prediction, and the frozen teacher of a distilled run);
* ``bridge_train_s_per_frame``: one step of the modality bridge (1x1 conv 1024-256-1024, MSE);
* ``tvl1_s_per_pair``: one TV-L1 frame pair at ``video_size`` x ``video_size`` pixels;
* ``i3d_s_per_window``: one I3D window (21 frames, one frame's feature) at ``video_size``;
* ``job_overhead_s``: starting a ``relate`` job (Python, torch and the relate modules
  imported), the cost every job pays.

On the CPU every number is CPU seconds of the measuring process (``time.process_time``), so
that other jobs on a shared machine do not inflate it; with the default single thread these
are core-seconds. On CUDA they are wall seconds, synchronised around each call.

Plus where it was measured: ``machine`` {name, cpu_model, cpu_count, device, gpu_name},
``torch``, ``threads``, ``created`` (UTC date), ``frames`` (the video length timed).

Reading and checking need neither torch nor OpenCV; measuring a machine
(:func:`relate.tools.plan.measure.measure`) needs both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from relate.errors import DataError
from relate.segmenters import SEGMENTERS as SEGMENTER_TABLE

FORMAT = "relate-plan-calibration/1"
SEGMENTERS = tuple(SEGMENTER_TABLE)
WIDTHS = (1024, 2048)
"""Input widths timed: rgb and flow read 1024 feature rows, two_stream 2048."""
DEFAULT_CALIBRATION = Path(__file__).with_name("calibration_cpu.json")
"""Shipped calibration: measured on the project's 2-core CPU VM (see docs/plan.md)."""


@dataclass(frozen=True)
class Calibration:
    """A checked calibration file (see the module doc for the fields)."""

    path: str
    machine: Mapping[str, Any]
    torch: str
    threads: int
    created: str
    frames: int
    video_size: int
    train_s_per_frame: Mapping[str, Mapping[int, float]]
    forward_s_per_frame: Mapping[str, Mapping[int, float]]
    bridge_train_s_per_frame: float
    tvl1_s_per_pair: float
    i3d_s_per_window: float
    job_overhead_s: float

    @property
    def device(self) -> str:
        """``cpu`` or ``cuda``: where the numbers were measured."""
        return str(self.machine.get("device", "cpu"))

    def describe(self) -> str:
        """One line naming the machine, e.g. for a report header."""
        m = self.machine
        hardware = m.get("gpu_name") if self.device == "cuda" else m.get("cpu_model")
        return (
            f"{m.get('name', '?')} ({hardware or '?'}, {m.get('cpu_count', '?')} CPUs, "
            f"device {self.device}, {self.threads} torch thread(s)), torch {self.torch}, "
            f"measured {self.created}"
        )

    def train(self, segmenter: str, width: int) -> float:
        return _lookup(self, self.train_s_per_frame, "train_s_per_frame", segmenter, width)

    def forward(self, segmenter: str, width: int) -> float:
        return _lookup(self, self.forward_s_per_frame, "forward_s_per_frame", segmenter, width)


def _lookup(
    calibration: Calibration,
    table: Mapping[str, Mapping[int, float]],
    key: str,
    segmenter: str,
    width: int,
) -> float:
    try:
        return table[segmenter][width]
    except KeyError:
        raise DataError(
            calibration.path, f"{key} has no entry for segmenter {segmenter!r}, width {width}"
        ) from None


def _number(path: str, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise DataError(path, f"{where} must be a number >= 0, got {value!r}")
    return float(value)


def _per_width(path: str, key: str, value: Any) -> dict[str, dict[int, float]]:
    if not isinstance(value, dict) or not value:
        raise DataError(path, f"{key} must be a non-empty object {{segmenter: {{width: seconds}}}}")
    table: dict[str, dict[int, float]] = {}
    for segmenter, widths in value.items():
        if not isinstance(widths, dict) or not widths:
            raise DataError(
                path, f"{key}.{segmenter} must be a non-empty object {{width: seconds}}"
            )
        row: dict[int, float] = {}
        for width, seconds in widths.items():
            try:
                number = int(width)
            except (TypeError, ValueError):
                raise DataError(
                    path, f"{key}.{segmenter}: width {width!r} is not an integer"
                ) from None
            row[number] = _number(path, f"{key}.{segmenter}.{width}", seconds)
        table[str(segmenter)] = row
    return table


def calibration_from_dict(data: Any, path: str = "<calibration>") -> Calibration:
    """Check a parsed calibration; raises :class:`DataError` naming ``path`` and the key."""
    if not isinstance(data, dict):
        raise DataError(path, "a calibration must be a JSON object")
    if data.get("format") != FORMAT:
        raise DataError(path, f"format must be {FORMAT!r}, got {data.get('format')!r}")
    required = (
        "machine",
        "torch",
        "threads",
        "created",
        "frames",
        "video_size",
        "train_s_per_frame",
        "forward_s_per_frame",
        "bridge_train_s_per_frame",
        "tvl1_s_per_pair",
        "i3d_s_per_window",
        "job_overhead_s",
    )
    missing = [key for key in required if key not in data]
    if missing:
        raise DataError(path, f"missing key(s): {', '.join(missing)}")
    machine = data["machine"]
    if not isinstance(machine, dict) or machine.get("device", "cpu") not in ("cpu", "cuda"):
        raise DataError(path, "machine must be an object whose device is 'cpu' or 'cuda'")
    return Calibration(
        path=path,
        machine=dict(machine),
        torch=str(data["torch"]),
        threads=int(_number(path, "threads", data["threads"])),
        created=str(data["created"]),
        frames=int(_number(path, "frames", data["frames"])),
        video_size=int(_number(path, "video_size", data["video_size"])) or 224,
        train_s_per_frame=_per_width(path, "train_s_per_frame", data["train_s_per_frame"]),
        forward_s_per_frame=_per_width(path, "forward_s_per_frame", data["forward_s_per_frame"]),
        bridge_train_s_per_frame=_number(
            path, "bridge_train_s_per_frame", data["bridge_train_s_per_frame"]
        ),
        tvl1_s_per_pair=_number(path, "tvl1_s_per_pair", data["tvl1_s_per_pair"]),
        i3d_s_per_window=_number(path, "i3d_s_per_window", data["i3d_s_per_window"]),
        job_overhead_s=_number(path, "job_overhead_s", data["job_overhead_s"]),
    )


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Read and check a calibration JSON (default: the shipped one)."""
    path = Path(path) if path is not None else DEFAULT_CALIBRATION
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "no such calibration file") from None
    except IsADirectoryError:
        raise DataError(path, "is a folder, not a calibration JSON file") from None
    except UnicodeDecodeError:
        raise DataError(path, "not a text (JSON) file") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(path, f"invalid JSON: {error.msg} (line {error.lineno})") from None
    shown = "shipped calibration_cpu.json" if path == DEFAULT_CALIBRATION else str(path)
    return calibration_from_dict(data, shown)


def write_calibration(data: Mapping[str, Any], out: str | Path) -> Path:
    """Write a measured calibration as indented JSON (checked first)."""
    calibration_from_dict(dict(data), str(out))
    out = Path(out)
    out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out
