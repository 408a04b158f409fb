"""The opt-in fast path of ``relate train`` (``--fast``, ``--compile``); docs/training.md.

``--fast`` (deterministic on one machine: same seed and options give the same bytes):

* each training video's feature block and targets are kept in memory as tensors after the
  first epoch has read and checked them, instead of being re-read from the memory-mapped
  file and re-checked for NaN/inf in every epoch (the values are the same);
* Adam runs as torch's fused CPU/GPU kernel (``torch.optim.Adam(fused=True)``) instead of the
  per-parameter loop (:class:`relate.runs.optim.Adam`): the same update rule, but not
  bit-identical to the loop (a different order of the floating-point operations), which is
  why the path is opt-in.

``--compile`` (implies nothing else): ``torch.compile`` of the segmenter's forward
(``nn.Module.compile``, so the state-dict keys do not change), with dynamic shapes since
every video has its own length.

The options are recorded under ``invocation`` in config.json (not compared on resumption,
like ``--device``); resume with the same options to keep a run's bytes reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch

from relate.runs.optim import Adam, StepOptimizer


class BlockCache:
    """Feature blocks and targets of the training videos, as tensors on the device."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def get(
        self, index: int, read: Callable[[], np.ndarray], targets: np.ndarray, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x (1, D, T'), target (1, T'), mask (1, 1, T')) of video ``index``; ``read`` runs
        (and checks the values) only the first time."""
        item = self._items.get(index)
        if item is None:
            x = torch.from_numpy(read()).unsqueeze(0).to(device)
            target = torch.from_numpy(targets).unsqueeze(0).to(device)
            mask = torch.ones(1, 1, x.shape[-1], device=device)
            item = self._items[index] = (x, target, mask)
        return item


def make_adam(
    params: Iterable[torch.nn.Parameter],
    lr: float,
    weight_decay: float,
    fast: bool,
    device: torch.device,
) -> StepOptimizer:
    """Adam as the recipe sets it: torch's fused kernel on the fast path; on a CPU the
    single-tensor loop of :class:`relate.runs.optim.Adam` (bit-identical to
    ``torch.optim.Adam`` there, without its compiler import); on CUDA ``torch.optim.Adam``
    with torch's default (multi-tensor) implementation."""
    if fast:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    if device.type == "cpu":
        return Adam(params, lr=lr, weight_decay=weight_decay)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def compile_model(model: torch.nn.Module) -> None:
    """Compile ``model``'s forward in place (state-dict keys unchanged), with the compiler's
    deterministic mode on whenever eager determinism is (``seed_everything``)."""
    import torch._inductor.config as inductor_config

    inductor_config.deterministic = torch.are_deterministic_algorithms_enabled()
    model.compile(dynamic=True)
