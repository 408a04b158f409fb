"""The machine a latency report ran on: hardware, thread counts and library versions."""

from __future__ import annotations

from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform's processor string."""
    import platform
    from pathlib import Path

    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def hardware(device: str) -> dict[str, Any]:
    """CPU model and logical CPUs; GPU name, memory and CUDA/cuDNN versions on CUDA."""
    import os

    import torch

    record: dict[str, Any] = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count()}
    if hasattr(os, "sched_getaffinity"):
        record["cpus_usable"] = len(os.sched_getaffinity(0))
    if device.startswith("cuda") and torch.cuda.is_available():
        index = torch.device(device).index or 0
        props = torch.cuda.get_device_properties(index)
        record.update(
            gpu_name=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 2),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
        )
    else:
        record["gpu_name"] = None
    return record


def thread_counts() -> dict[str, Any]:
    """torch intra/inter-op threads, OpenCV threads and the thread environment variables."""
    import os

    import cv2
    import torch

    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    env = {k: os.environ.get(k) for k in names}
    return {
        "torch": torch.get_num_threads(),
        "torch_interop": torch.get_num_interop_threads(),
        "opencv": cv2.getNumThreads(),
        "env": env,
    }


def library_versions() -> dict[str, str]:
    """Versions of the libraries the stages run on (beyond :func:`relate.provenance`)."""
    from importlib import metadata

    import cv2
    import torch

    versions = {"opencv": str(cv2.__version__), "torch": torch.__version__}
    for name in ("av", "opencv-contrib-python-headless", "matplotlib"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions
