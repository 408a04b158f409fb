"""Train one (dataset, split, segmenter, variant, seed) run into a run folder.

Protocol (docs/training.md; the official MS-TCN, ASFormer and FACT training scripts):

* the method's recipe (:mod:`relate.runs.methods`): for the label-supervised variants the
  segmenter's official one from :func:`relate.segmenters.defaults`: Adam with its lr and
  weight decay, ``batch_size`` videos per optimiser step (each video is a separate forward
  pass, its loss divided by the number of videos in the step; FACT's meaning of a batch),
  gradient clipping where set, and the scheduler: ``plateau`` (ReduceLROnPlateau stepped on
  the epoch loss summed over videos) or ``step_reset`` (lr = base * 0.1 once
  ``lr_decay_every`` epochs are done; not compounded);
* the video order is a permutation drawn from a generator seeded by ``(seed, epoch)``, so an
  epoch's order does not depend on what ran before it;
* features are memory-mapped, reduced to the method's rows, truncated with the labels to
  min(T_feat, T_gt), and subsampled by the dataset's ``sample_rate`` (50Salads: 2);
* the reported model is the final epoch's: no selection on any split.

The run folder's files are :mod:`relate.runs.files`'; the epoch loop, checkpoints and
resumption are :mod:`relate.runs.engine`'s. A different config in an existing folder is
refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from relate import segmenters
from relate.data.registry import get_dataset
from relate.errors import DataError, RelateError
from relate.runs.devices import resolve_device
from relate.runs.engine import Session, finished_weights, make_scheduler, run_session
from relate.runs.fast_path import BlockCache, compile_model, make_adam
from relate.runs.files import CHECKPOINT_FILE, CONFIG_FILE, check_run_dir, remove_stale_temporaries
from relate.runs.inputs import TrainVideo, load_train_videos, read_block
from relate.runs.methods import TRAIN_VARIANTS, get_method
from relate.runs.optim import StepOptimizer
from relate.runs.request import RunPlan, TrainRequest
from relate.runs.run_lock import locked_run_dir
from relate.runs.seeding import epoch_generator, seed_everything

logger = logging.getLogger(__name__)


def plan_run(request: TrainRequest) -> RunPlan:
    """Check the request and the dataset's labels (features later, as they are read)."""
    try:
        dataset = get_dataset(request.dataset)
    except KeyError as error:
        raise RelateError(str(error.args[0])) from None
    if request.segmenter not in segmenters.SEGMENTERS:
        known = ", ".join(segmenters.SEGMENTERS)
        raise RelateError(f"unknown segmenter {request.segmenter!r}; known: {known}")
    method = get_method(request.variant)
    if request.teacher_for is None:
        return method.training().plan(request, dataset)
    if method.teacher:
        raise RelateError("--teacher-for applies to --variant flow only")
    if request.variant != "flow":
        raise RelateError(f"--teacher-for trains a `flow` teacher, not --variant {request.variant}")
    if request.teacher_for not in TRAIN_VARIANTS:
        raise RelateError(
            f"--teacher-for must name a distilled variant, got {request.teacher_for!r}"
        )
    return get_method(request.teacher_for).training().plan_teacher(request, dataset)


def build_model(config: dict[str, Any], device: torch.device) -> torch.nn.Module:
    """The model a resolved config describes (fresh weights, from the current RNG)."""
    return get_method(config["variant"]["name"]).model().build(config).to(device)


def train(request: TrainRequest) -> Path:
    """Train, resume, or (if complete) leave alone the run of ``request``; returns model.pt.

    The run folder is locked for the whole session (:mod:`relate.runs.run_lock`); its contents
    are checked only once the lock is held."""
    plan = plan_run(request)
    device = resolve_device(request.device)
    with locked_run_dir(plan.out):
        return _train_locked(request, plan, device)


def _check_fast_resume(out: Path, existing: dict[str, Any] | None, config: dict[str, Any]) -> None:
    """A run resumes with the Adam it started with (fused and plain give different bytes)."""
    if existing is None or not (out / CHECKPOINT_FILE).exists():
        return
    started = bool((existing.get("invocation") or {}).get("fast"))
    if started != bool((config.get("invocation") or {}).get("fast")):
        raise DataError(
            out / CONFIG_FILE,
            f"the run was started with{'' if started else 'out'} --fast; resume it the same "
            "way (fused and plain Adam give different bytes)",
        )


def _train_locked(request: TrainRequest, plan: RunPlan, device: torch.device) -> Path:
    out, training = plan.out, plan.training
    existing = check_run_dir(out, plan.config)
    _check_fast_resume(out, existing, plan.config)
    done = finished_weights(out)
    if done is not None:
        return done
    remove_stale_temporaries(out)
    hooks = get_method(plan.variant.name).training()
    videos = load_train_videos(
        plan.layout, plan.train_videos, plan.classes, plan.variant, plan.dataset.sample_rate
    )
    frozen = hooks.frozen(plan.config, device)
    seed_everything(request.seed)
    model = build_model(plan.config, device)
    hooks.attach(plan.config, model)
    optimizer = make_adam(
        hooks.trainable(model), training.lr, training.weight_decay, request.fast, device
    )
    if request.compile:
        compile_model(model)
    epoch = TrainEpoch(
        model, optimizer, hooks, frozen, videos, plan, request.seed, device,
        BlockCache() if request.fast else None,
    )  # fmt: skip
    return run_session(
        Session(
            out=out,
            config=plan.config,
            model=model,
            optimizer=optimizer,
            scheduler=make_scheduler(optimizer, training),
            training=training,
            run_epoch=epoch,
            units=len(videos),
            describe=f"{request.segmenter}/{plan.variant.name}",
            device=device,
            checkpoint_every=request.checkpoint_every,
        )
    )


@dataclass
class TrainEpoch:
    """One pass over the training videos in the epoch's order; returns each loss term summed
    over the videos and the training-set frame accuracy (%) of the predictions made while
    training."""

    model: torch.nn.Module
    optimizer: StepOptimizer
    hooks: Any
    frozen: Any
    videos: list[TrainVideo]
    plan: RunPlan
    seed: int
    device: torch.device
    cache: BlockCache | None = None
    """Fast path: the videos' tensors, kept after their first (checked) read."""

    def __call__(self, epoch: int, bar: tqdm) -> tuple[dict[str, float], float]:
        self.model.train()
        batch_size = self.plan.training.batch_size
        order = epoch_generator(self.seed, epoch).permutation(len(self.videos))
        sums: dict[str, float] = {}
        correct = frames = 0
        for first in range(0, len(order), batch_size):
            group = order[first : first + batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            for index in group:
                x, target, mask = self._tensors(int(index))
                output, terms = self.hooks.step(self.model, self.frozen, x, target, mask)
                (terms["total"] / len(group)).backward()  # mean over the videos of the step
                for key, value in terms.items():
                    sums[key] = sums.get(key, 0.0) + float(value.detach())
                hits, counted = frame_hits(self.model, output, target)
                correct += hits
                frames += counted
                bar.update(1)
            clip = self.plan.training.clip_grad_norm
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
            self.optimizer.step()
        return sums, 100.0 * correct / max(frames, 1)

    def _tensors(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (1, D, T'), target (1, T'), mask (1, 1, T') of one training video."""
        video = self.videos[index]
        rows, rate = self.plan.variant, self.plan.dataset.sample_rate
        if self.cache is not None:  # fast path: read and checked in the first epoch only
            return self.cache.get(
                index,
                lambda v=video: read_block(v.feature_path, rows, v.frames, rate),
                video.targets,
                self.device,
            )
        block = read_block(video.feature_path, rows, video.frames, rate)
        x = torch.from_numpy(block).unsqueeze(0).to(self.device)
        target = torch.from_numpy(video.targets).unsqueeze(0).to(self.device)
        mask = torch.ones(1, 1, x.shape[-1], device=self.device)
        return x, target, mask


@torch.no_grad()
def frame_hits(model: torch.nn.Module, output: Any, target: torch.Tensor) -> tuple[int, int]:
    """(correct, counted) frames of the training-mode prediction against target (1, T');
    RELATE is scored on its joint head, frames labelled -100 are not counted."""
    probs = model.probabilities(output)  # type: ignore[operator]
    if isinstance(probs, dict):
        probs = probs["joint"]
    valid = target != -100
    hits = (probs.argmax(dim=1) == target) & valid
    return int(hits.sum()), int(valid.sum())
