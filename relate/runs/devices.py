"""The torch device a run asks for."""

from __future__ import annotations

import torch

from relate.errors import RelateError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str) -> torch.device:
    """``cpu``; ``cuda`` (a ``RelateError`` when CUDA is unavailable); ``auto``: CUDA when
    available, else the CPU (the only value that falls back)."""
    if requested not in DEVICES:
        raise RelateError(f"--device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RelateError("--device cuda: CUDA is not available (use --device cpu or auto)")
    return torch.device(requested)
