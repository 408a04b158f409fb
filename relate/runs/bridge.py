"""Pre-training the modality bridge (``relate train-bridge``; D7 of docs/decisions.md).

The bridge maps RGB I3D rows to pseudo-flow I3D rows (1×1 conv 1024 → 256, ReLU, 1×1 conv
256 → 1024). The release pre-trains it alone, then freezes it inside RELATE
(``bridge=pretrained``, the ``paper_literal`` preset's reading of the paper's "two FC layers"):

* the train videos of one split, at the dataset's sample rate (50Salads: every 2nd frame);
* MSE between bridge(RGB rows) and the flow rows; a step takes ``batch_size`` videos padded
  to the longest, padded frames excluded (``padding=include`` is the release's
  ``nn.MSELoss`` over the padded batch);
* Adam, lr 1e-4, no weight decay, 100 epochs, batch 8 (the release's recipe);
* deterministic: the video order of epoch e is drawn from (seed, e); a checkpoint after every
  epoch, so a killed run resumes where it stopped.

It trains on :mod:`relate.runs.engine`, like every run. Run folder: ``config.json``,
``log.jsonl``, ``provenance.json``, ``model.pt`` (the bridge's state dict), ``checkpoint.pt``
while training.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from relate.blocks.distill import ModalityBridge, bridge_loss
from relate.data.layout import DatasetLayout, aligned_length, load_features, load_split, read_labels
from relate.data.registry import FLOW_ROWS, RGB_ROWS, get_dataset
from relate.data.validate import validate_dataset
from relate.errors import RelateError
from relate.runs.bridge_weights import KIND
from relate.runs.devices import resolve_device
from relate.runs.engine import Session, finished_weights, run_session
from relate.runs.fast_path import make_adam
from relate.runs.files import check_run_dir, remove_stale_temporaries
from relate.runs.inputs import read_block
from relate.runs.methods import METHODS
from relate.runs.optim import StepOptimizer
from relate.runs.run_lock import locked_run_dir
from relate.runs.seeding import epoch_generator, seed_everything
from relate.segmenters.training_defaults import TrainingDefaults

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BridgeRequest:
    """What ``relate train-bridge`` was asked to do (defaults: the release's recipe)."""

    data: Path
    dataset: str
    split: int
    seed: int
    out: Path
    epochs: int = 100
    batch_size: int = 8
    lr: float = 1e-4
    hidden: int = 256
    padding: str = "exclude"
    device: str = "cpu"


def _config(request: BridgeRequest, videos: list[str], sample_rate: int) -> dict[str, Any]:
    return {
        "kind": KIND,
        "data": str(Path(request.data).resolve()),
        "dataset": {"name": request.dataset, "sample_rate": sample_rate},
        "split": request.split,
        "seed": request.seed,
        "train_videos": videos,
        "bridge": {"in_dim": RGB_ROWS.stop - RGB_ROWS.start, "hidden": request.hidden},
        "training": {
            "epochs": request.epochs,
            "batch_size": request.batch_size,
            "lr": request.lr,
            "optimizer": "adam",
            "padding": request.padding,
        },
    }


def _load_blocks(layout: DatasetLayout, videos: list[str], sample_rate: int) -> list[np.ndarray]:
    """(2048, T') float32 feature blocks of the videos (aligned to their labels, subsampled)."""
    rows = METHODS[KIND].input
    blocks = []
    for video in videos:
        path = layout.feature_path(video)
        labels = read_labels(layout.label_path(video), None)
        frames = aligned_length(load_features(path).shape[1], len(labels), video)
        blocks.append(read_block(path, rows, frames, sample_rate))
    return blocks


def _batch(blocks: list[np.ndarray], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (2048, T_i) blocks to (B, 2048, T_max) with a (B, 1, T_max) mask."""
    t_max = max(b.shape[1] for b in blocks)
    x = torch.zeros(len(blocks), blocks[0].shape[0], t_max)
    mask = torch.zeros(len(blocks), 1, t_max)
    for i, block in enumerate(blocks):
        x[i, :, : block.shape[1]] = torch.from_numpy(block)
        mask[i, :, : block.shape[1]] = 1
    return x.to(device), mask.to(device)


def _check(request: BridgeRequest) -> None:
    for name in ("epochs", "batch_size", "hidden"):
        if getattr(request, name) < (0 if name == "epochs" else 1):
            raise RelateError(
                f"--{name.replace('_', '-')} must be positive, got {getattr(request, name)}"
            )
    if not request.lr > 0:
        raise RelateError(f"--lr must be > 0, got {request.lr}")
    if request.padding not in ("exclude", "include"):
        raise RelateError(f"--padding must be exclude or include, got {request.padding!r}")


def train_bridge(request: BridgeRequest) -> Path:
    """Train (or resume, or leave alone when finished) the bridge run; returns model.pt."""
    try:
        dataset = get_dataset(request.dataset)
    except KeyError as error:
        raise RelateError(str(error.args[0])) from None
    _check(request)
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    videos = load_split(layout, "train", request.split)
    config = _config(request, videos, dataset.sample_rate)
    device = resolve_device(request.device)
    out = Path(request.out)
    with locked_run_dir(out):
        check_run_dir(out, config)
        done = finished_weights(out)
        if done is not None:
            return done
        remove_stale_temporaries(out)
        blocks = _load_blocks(layout, videos, dataset.sample_rate)
        seed_everything(request.seed)
        bridge = ModalityBridge(config["bridge"]["in_dim"], hidden=request.hidden).to(device)
        optimizer = make_adam(bridge.parameters(), request.lr, 0.0, False, device)
        training = TrainingDefaults(
            epochs=request.epochs, lr=request.lr, batch_size=request.batch_size
        )
        return run_session(
            Session(
                out=out,
                config=config,
                model=bridge,
                optimizer=optimizer,
                scheduler=None,
                training=training,
                run_epoch=BridgeEpoch(bridge, optimizer, blocks, request, device),
                units=len(blocks),
                describe=KIND,
                device=device,
            )
        )


@dataclass
class BridgeEpoch:
    """One epoch of bridge pre-training: padded batches in the epoch's order, MSE between
    bridge(RGB rows) and the flow rows."""

    bridge: ModalityBridge
    optimizer: StepOptimizer
    blocks: list[np.ndarray]
    request: BridgeRequest
    device: torch.device

    def __call__(self, epoch: int, bar: tqdm) -> tuple[dict[str, float], None]:
        order = epoch_generator(self.request.seed, epoch).permutation(len(self.blocks))
        total = 0.0
        size = self.request.batch_size
        for first in range(0, len(order), size):
            group = [self.blocks[int(i)] for i in order[first : first + size]]
            x, mask = _batch(group, self.device)
            self.optimizer.zero_grad(set_to_none=True)
            loss = bridge_loss(
                self.bridge(x[:, RGB_ROWS]), x[:, FLOW_ROWS], mask, padding=self.request.padding
            )
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach())
            bar.update(len(group))
        return {"mse": total}, None


HOOKS = BridgeEpoch
"""The bridge's training hook: its epoch (:class:`BridgeEpoch`)."""
