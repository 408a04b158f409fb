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

Run folder: ``config.json``, ``log.jsonl``, ``provenance.json``, ``model.pt`` (the bridge's
state dict), ``checkpoint.pt`` while training.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from relate import integrity, io
from relate.blocks.distill import ModalityBridge, bridge_loss
from relate.data.layout import DatasetLayout, aligned_length, load_features, load_split, read_labels
from relate.data.registry import FLOW_ROWS, RGB_ROWS, get_dataset
from relate.data.validate import validate_dataset
from relate.data.variants import RELATE_VARIANT
from relate.errors import DataError, RelateError
from relate.provenance import provenance
from relate.runs.checkpoint import (
    canonical_json,
    load_checkpoint,
    load_weights,
    save_checkpoint,
    save_weights,
)
from relate.runs.run_lock import locked_run_dir
from relate.runs.seeding import (
    capture_rng_state,
    epoch_generator,
    restore_rng_state,
    seed_everything,
)

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
LOG_FILE = "log.jsonl"
WEIGHTS_FILE = "model.pt"
CHECKPOINT_FILE = "checkpoint.pt"
KIND = "bridge"


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
    from relate.runs.train import read_block

    blocks = []
    for video in videos:
        path = layout.feature_path(video)
        labels = read_labels(layout.label_path(video), None)
        frames = aligned_length(load_features(path).shape[1], len(labels), video)
        blocks.append(read_block(path, RELATE_VARIANT, frames, sample_rate))
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


def train_bridge(request: BridgeRequest) -> Path:
    """Train (or resume, or leave alone when finished) the bridge run; returns model.pt."""
    from relate.runs.train import resolve_device

    try:
        dataset = get_dataset(request.dataset)
    except KeyError as error:
        raise RelateError(str(error.args[0])) from None
    for name in ("epochs", "batch_size", "hidden"):
        if getattr(request, name) < (0 if name == "epochs" else 1):
            raise RelateError(
                f"--{name.replace('_', '-')} must be positive, got {getattr(request, name)}"
            )
    if not request.lr > 0:
        raise RelateError(f"--lr must be > 0, got {request.lr}")
    if request.padding not in ("exclude", "include"):
        raise RelateError(f"--padding must be exclude or include, got {request.padding!r}")
    layout = DatasetLayout(Path(request.data))
    validate_dataset(layout.root, labels_only=True).raise_first_error()
    videos = load_split(layout, "train", request.split)
    config = _config(request, videos, dataset.sample_rate)
    device = resolve_device(request.device)
    with locked_run_dir(request.out):
        return _train_bridge_locked(request, dataset.sample_rate, layout, videos, config, device)


def _train_bridge_locked(
    request: BridgeRequest,
    sample_rate: int,
    layout: DatasetLayout,
    videos: list[str],
    config: dict[str, Any],
    device: torch.device,
) -> Path:
    """The part of :func:`train_bridge` that runs while the run folder is locked."""
    out = Path(request.out)
    _check_existing(out, config)
    if (out / WEIGHTS_FILE).exists() and not (out / CHECKPOINT_FILE).exists():
        logger.info("%s is complete; nothing to do", out / WEIGHTS_FILE)
        return out / WEIGHTS_FILE
    blocks = _load_blocks(layout, videos, sample_rate)
    seed_everything(request.seed)
    bridge = ModalityBridge(config["bridge"]["in_dim"], hidden=request.hidden).to(device)
    optimizer = torch.optim.Adam(bridge.parameters(), lr=request.lr)
    history: list[dict[str, Any]] = []
    start = 0
    if (out / CHECKPOINT_FILE).exists():
        state = load_checkpoint(out / CHECKPOINT_FILE)
        if state["config"] != canonical_json(config):
            raise DataError(out / CHECKPOINT_FILE, "checkpoint belongs to another bridge config")
        bridge.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        restore_rng_state(state["rng"])
        history, start = list(state["history"]), state["epoch"]
    else:
        io.write_json(out / CONFIG_FILE, config)
    io.write_json(out / "provenance.json", provenance())
    with tqdm(
        total=request.epochs - start, unit="epoch", file=sys.stderr, disable=None, desc="bridge"
    ) as bar:
        for epoch in range(start, request.epochs):
            order = epoch_generator(request.seed, epoch).permutation(len(blocks))
            total = 0.0
            for first in range(0, len(order), request.batch_size):
                group = [blocks[int(i)] for i in order[first : first + request.batch_size]]
                x, mask = _batch(group, device)
                optimizer.zero_grad(set_to_none=True)
                loss = bridge_loss(
                    bridge(x[:, RGB_ROWS]), x[:, FLOW_ROWS], mask, padding=request.padding
                )
                loss.backward()
                optimizer.step()
                total += float(loss.detach())
            history.append({"epoch": epoch + 1, "loss": {"mse": total}})
            save_checkpoint(
                out / CHECKPOINT_FILE,
                epoch=epoch + 1,
                config=config,
                model=bridge,
                optimizer=optimizer,
                scheduler=None,
                rng=capture_rng_state(),
                history=history,
            )
            io.write_text(out / LOG_FILE, "".join(json.dumps(h) + "\n" for h in history))
            bar.update(1)
            bar.set_postfix_str(f"mse {total:.4f}")
    io.write_text(out / LOG_FILE, "".join(json.dumps(h) + "\n" for h in history))
    save_weights(out / WEIGHTS_FILE, bridge)
    integrity.remove(out / CHECKPOINT_FILE)
    return out / WEIGHTS_FILE


def _check_existing(out: Path, config: Mapping[str, Any]) -> None:
    path = out / CONFIG_FILE
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(path, f"unreadable run config ({error})") from None
    if canonical_json(old) != canonical_json(config):
        raise DataError(path, "the folder holds a bridge run with another configuration")


def check_bridge_run(run_dir: Path, *, dataset: str, split: int, hidden: int) -> dict[str, Any]:
    """Check a finished bridge run for a RELATE run (same dataset and split, hidden width);
    returns the config entry ``{"path", "sha256", "hidden"}``."""
    from relate.runs.distilled import sha256_of

    path = Path(run_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            path, "missing bridge run config (run `relate train-bridge` first)"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(path, f"unreadable bridge run config ({error})") from None
    found = (
        config.get("kind"),
        (config.get("dataset") or {}).get("name"),
        config.get("split"),
        (config.get("bridge") or {}).get("hidden"),
    )
    if found != (KIND, dataset, split, hidden):
        raise DataError(
            path,
            f"not the bridge of this run: (kind, dataset, split, hidden) = {found}, "
            f"need {(KIND, dataset, split, hidden)}",
        )
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.exists():
        raise DataError(weights, "bridge run is unfinished (no model.pt)")
    return {"path": str(Path(run_dir).resolve()), "sha256": sha256_of(weights), "hidden": hidden}


def load_bridge_into(model: torch.nn.Module, entry: Mapping[str, Any]) -> None:
    """Load a checked bridge run's weights into ``model.bridge`` (sha256 verified) and keep
    it frozen."""
    from relate.runs.distilled import sha256_of

    weights = Path(entry["path"]) / WEIGHTS_FILE
    if not weights.exists() or sha256_of(weights) != entry["sha256"]:
        raise DataError(weights, "bridge weights are missing or changed since this run was set up")
    bridge = getattr(model, "bridge", None)
    if bridge is None:
        raise RelateError("the model has no bridge to load (bridge=none)")
    load_weights(weights, bridge)
    bridge.freeze()
