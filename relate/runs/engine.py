"""The training engine every run uses (``relate train`` for every method, and
``relate train-bridge``): the epoch loop with its learning-rate schedule, a checkpoint after
every epoch (or every k-th), resumption, ``log.jsonl``, provenance, progress and the final weights.

What an epoch does is the method's: :class:`Session` gets it as ``run_epoch``, which returns
the epoch's loss terms (summed over the epoch; ``total`` drives a plateau scheduler) and the
training-set frame accuracy (None when the method has no frame labels).

A rerun resumes from ``checkpoint.pt`` and reproduces the uninterrupted run bit for bit on the
same machine: the checkpoint holds the model, optimiser, scheduler and RNG states.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from relate import integrity, io
from relate.errors import DataError
from relate.provenance import provenance
from relate.runs.checkpoint import (
    canonical_json,
    load_checkpoint,
    load_safely,
    save_checkpoint,
    save_weights,
)
from relate.runs.files import (
    CHECKPOINT_FILE,
    PROVENANCE_FILE,
    WEIGHTS_FILE,
    compared,
    config_difference,
    is_complete,
    write_config,
    write_log,
)
from relate.runs.optim import Plateau, StepOptimizer
from relate.runs.recipe import epoch_lr
from relate.runs.seeding import capture_rng_state, restore_rng_state
from relate.segmenters.training_defaults import TrainingDefaults

logger = logging.getLogger(__name__)

EpochFn = Callable[[int, tqdm], tuple[dict[str, float], float | None]]
"""(0-based epoch, progress bar) -> (loss terms summed over the epoch, frame accuracy % or None)."""


@dataclass
class Session:
    """One training session of a run folder.

    Attributes:
        config: the resolved config (written as config.json when the run starts; its
            :func:`relate.runs.files.compared` part must match the checkpoint's).
        units: progress-bar units per epoch (videos).
        describe: the progress bar's label.
        checkpoint_every: write ``checkpoint.pt`` after every k-th epoch (a resumed run
            repeats the epochs after the last checkpoint and ends in the same bytes).
    """

    out: Path
    config: dict[str, Any]
    model: torch.nn.Module
    optimizer: StepOptimizer
    scheduler: Plateau | None
    training: TrainingDefaults
    run_epoch: EpochFn
    units: int
    describe: str
    device: torch.device
    checkpoint_every: int = 1


def finished_weights(out: Path) -> Path | None:
    """``model.pt`` of a finished run (its integrity checked), else None."""
    if not is_complete(out):
        return None
    load_safely(out / WEIGHTS_FILE, "model weights")
    logger.info("%s is complete (%s exists); nothing to do", out, WEIGHTS_FILE)
    return out / WEIGHTS_FILE


def make_scheduler(optimizer: StepOptimizer, training: TrainingDefaults) -> Plateau | None:
    """The plateau schedule (ReduceLROnPlateau's rule) for the ``plateau`` recipe; None
    otherwise (``step_reset`` is applied per epoch by :func:`relate.runs.recipe.epoch_lr`)."""
    if training.scheduler != "plateau":
        return None
    return Plateau(optimizer, factor=training.plateau_factor, patience=training.plateau_patience)


def run_session(session: Session) -> Path:
    """Resume or start the run, train the remaining epochs, write ``model.pt``; returns it."""
    out, training, optimizer = session.out, session.training, session.optimizer
    history: list[dict[str, Any]] = []
    start = 0
    if (out / CHECKPOINT_FILE).exists():
        history, start = _resume(out / CHECKPOINT_FILE, session)
    else:
        write_config(out, session.config)
    _record_provenance(out, session.device, start)
    total = (training.epochs - start) * session.units
    with tqdm(
        total=total, unit="video", file=sys.stderr, disable=None, desc=session.describe
    ) as bar:
        for epoch in range(start, training.epochs):
            began = time.perf_counter()
            lr = epoch_lr(training, epoch)
            if lr is not None:  # step_reset
                for group in optimizer.param_groups:
                    group["lr"] = lr
            used_lr = optimizer.param_groups[0]["lr"]
            losses, train_acc = session.run_epoch(epoch, bar)
            bad = sorted(k for k, v in losses.items() if not math.isfinite(v))
            if bad:
                raise DataError(
                    out,
                    f"training diverged: non-finite loss ({', '.join(bad)}) in epoch {epoch + 1}; "
                    "lower train.lr or check the features",
                )
            if session.scheduler is not None:
                session.scheduler.step(losses["total"])
            line: dict[str, Any] = {
                "epoch": epoch + 1,
                "loss": losses,
                "lr": used_lr,
                "seconds": round(time.perf_counter() - began, 3),
            }
            if train_acc is not None:
                line["train_acc"] = round(train_acc, 4)
            history.append(line)
            if (epoch + 1) % session.checkpoint_every == 0:
                save_checkpoint(
                    out / CHECKPOINT_FILE, epoch=epoch + 1, config=compared(session.config),
                    model=session.model, optimizer=optimizer, scheduler=session.scheduler,
                    rng=capture_rng_state(), history=history,
                )  # fmt: skip
            write_log(out, history)
            _report(bar, epoch, training.epochs, losses, used_lr, line["seconds"])
    write_log(out, history)
    save_weights(out / WEIGHTS_FILE, session.model)
    integrity.remove(out / CHECKPOINT_FILE)
    logger.info("%s: %d epochs", out / WEIGHTS_FILE, training.epochs)
    return out / WEIGHTS_FILE


def _report(
    bar: tqdm, epoch: int, epochs: int, losses: Mapping[str, float], lr: float, seconds: float
) -> None:
    terms = ", ".join(f"{k} {v:.4f}" for k, v in losses.items())
    message = f"epoch {epoch + 1}/{epochs}: {terms}"
    if bar.disable:
        logger.info("%s (lr %.3g, %.1f s)", message, lr, seconds)
    else:
        bar.set_postfix_str(message)


def _resume(path: Path, session: Session) -> tuple[list[dict[str, Any]], int]:
    """Load model, optimiser, scheduler and RNG states; returns (history, epochs done)."""
    state = load_checkpoint(path)
    if state["config"] != canonical_json(compared(session.config)):
        differences = config_difference(json.loads(state["config"]), session.config)
        raise DataError(
            path, f"checkpoint belongs to a different configuration ({'; '.join(differences[:3])})"
        )
    try:
        session.model.load_state_dict(state["model"], strict=True)
        session.optimizer.load_state_dict(state["optimizer"])
        if session.scheduler is not None:
            session.scheduler.load_state_dict(state["scheduler"])
        restore_rng_state(state["rng"])
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(path, f"checkpoint does not fit this run ({detail[:200]})") from None
    logger.info("resuming %s after epoch %d", path.parent, state["epoch"])
    return list(state["history"]), state["epoch"]


def _record_provenance(out: Path, device: torch.device, start_epoch: int) -> None:
    """``provenance.json``: versions and hardware, plus one entry per training session."""
    path = out / PROVENANCE_FILE
    sessions = []
    if path.exists():
        try:
            sessions = list(json.loads(path.read_text(encoding="utf-8")).get("sessions", []))
        except (OSError, ValueError, AttributeError):
            sessions = []
    hardware = {
        "device": str(device),
        "cuda_device": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "torch_threads": torch.get_num_threads(),
    }
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    sessions.append({"started": started, "start_epoch": start_epoch, **hardware})
    io.write_json(path, {**provenance(), **hardware, "sessions": sessions})
