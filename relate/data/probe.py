"""How informative is each modality? A per-frame linear probe on RGB, flow and both.

The probe is multinomial logistic regression on standardised features (train-set mean and
std), fitted full-batch with L-BFGS from zero weights, so it is deterministic for a given
``seed`` (which only picks the training-frame subsample). It has no temporal context: it
measures what a single frame's features say about its label.

For synthetic datasets (whose ``info.json`` lists the motion pairs) two more numbers show
where RGB must fail by construction:

- ``pair_acc``: the predicted class is in the right pair (background is its own group),
  i.e. the appearance question;
- ``within_pair_acc``: on action frames, the true class scores higher than its pair
  partner, i.e. the motion question (chance 0.5).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from relate.data.layout import (
    DatasetLayout,
    aligned_length,
    load_features,
    load_split,
    read_labels,
    read_mapping,
)
from relate.data.registry import FLOW_ROWS, RGB_ROWS
from relate.data.synthetic_info import read_info
from relate.errors import DataError

logger = logging.getLogger(__name__)

MODALITIES: dict[str, list[slice]] = {
    "rgb": [RGB_ROWS],
    "flow": [FLOW_ROWS],
    "rgb+flow": [RGB_ROWS, FLOW_ROWS],
}
"""Probed feature-row sets, in report order."""


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch single-threaded, then restore the thread count.

    The problem is small, one thread makes the result independent of the core count, and
    it avoids the large slow-downs of OpenMP threads on an oversubscribed CPU.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _load_frames(
    layout: DatasetLayout,
    videos: list[str],
    mapping: dict[str, int],
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, 2048) float32 and class ids (N,) of the frames of ``videos``.

    ``keep`` (sorted indices into the concatenated frames) selects a subset.
    """
    xs, ys = [], []
    offset = 0
    for video in videos:
        features = load_features(layout.feature_path(video))
        labels = read_labels(layout.label_path(video), mapping)
        t_len = aligned_length(features.shape[1], len(labels), video)
        index = np.arange(t_len)
        if keep is not None:
            lo, hi = np.searchsorted(keep, [offset, offset + t_len])
            index = keep[lo:hi] - offset
        offset += t_len
        xs.append(np.asarray(features[:, index], dtype=np.float32).T)
        ys.append(np.array([mapping[labels[i]] for i in index], dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def _video_lengths(layout: DatasetLayout, videos: list[str], mapping: dict[str, int]) -> int:
    total = 0
    for video in videos:
        features = load_features(layout.feature_path(video))
        labels = read_labels(layout.label_path(video), mapping)
        total += min(features.shape[1], len(labels))
    return total


def fit_logistic(
    x: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 0.1, max_iter: int = 60
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression: weights (D, K) and bias (K,), fitted with L-BFGS.

    Args:
        x: (N, D) standardised features.
        y: (N,) class indices in ``[0, n_classes)``.
        l2: weight of ``0.5 * ||W||^2`` added to the mean cross-entropy.
        max_iter: L-BFGS iterations.
    """
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    weight = torch.zeros(x.shape[1], n_classes, requires_grad=True)
    bias = torch.zeros(n_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1.0, max_iter=max_iter, history_size=10, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ weight + bias, yt)
        loss = loss + 0.5 * l2 * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


def _scores(
    logits: np.ndarray, y: np.ndarray, group: np.ndarray, partner: np.ndarray
) -> dict[str, float | None]:
    pred = logits.argmax(axis=1)
    result: dict[str, float | None] = {"frame_acc": float((pred == y).mean())}
    if (partner >= 0).any():
        result["pair_acc"] = float((group[pred] == group[y]).mean())
        paired = partner[y] >= 0
        rows = np.flatnonzero(paired)
        own = logits[rows, y[rows]]
        other = logits[rows, partner[y[rows]]]
        result["within_pair_acc"] = float((own > other).mean()) if len(rows) else None
    else:
        result["pair_acc"] = None
        result["within_pair_acc"] = None
    return result


def probe_dataset(
    root: Path,
    split: int = 1,
    seed: int = 0,
    max_train_frames: int = 12000,
    l2: float = 0.1,
    max_iter: int = 60,
) -> dict:
    """Train per-frame linear probes on split ``split``'s train videos; score its test videos.

    Args:
        root: dataset folder in the MS-TCN layout.
        split: split index (``train.split{k}`` / ``test.split{k}``).
        seed: picks the training-frame subsample when there are more than
            ``max_train_frames`` frames.
        max_train_frames: cap on training frames (uniform subsample without replacement).
        l2: L2 weight of the logistic regression.
        max_iter: L-BFGS iterations.

    Returns:
        A JSON-ready dict: dataset facts, majority-class ``chance`` and, under
        ``"modalities"``, ``frame_acc``, ``pair_acc`` and ``within_pair_acc`` for
        ``rgb``, ``flow`` and ``rgb+flow`` (pair scores are None without motion pairs).
    """
    root = Path(root)
    layout = DatasetLayout(root)
    mapping = read_mapping(layout.mapping_path)
    ids = sorted(set(mapping.values()))
    index_of = {class_id: i for i, class_id in enumerate(ids)}
    dense = {name: index_of[class_id] for name, class_id in mapping.items()}
    n_classes = len(ids)
    train = load_split(layout, "train", split)
    test = load_split(layout, "test", split)

    info = read_info(root)
    group = np.arange(n_classes)
    partner = np.full(n_classes, -1)
    if info is not None:
        for first, second in info.get("motion_pairs", []):
            if first not in dense or second not in dense:
                raise DataError(layout.mapping_path, f"motion pair {first}/{second} not in mapping")
            a, b = dense[first], dense[second]
            partner[a], partner[b] = b, a
            group[b] = group[a]

    n_train = _video_lengths(layout, train, dense)
    keep = None
    if n_train > max_train_frames:
        rng = np.random.default_rng(seed)
        keep = np.sort(rng.choice(n_train, size=max_train_frames, replace=False))
    x_train, y_train = _load_frames(layout, train, dense, keep)
    x_test, y_test = _load_frames(layout, test, dense)
    majority = int(np.bincount(y_train, minlength=n_classes).argmax())
    logger.info(
        "probe %s split %d: %d of %d train frames, %d test frames",
        root,
        split,
        len(y_train),
        n_train,
        len(y_test),
    )

    results = {}
    for name, rows in MODALITIES.items():
        columns = np.concatenate([np.arange(r.start, r.stop) for r in rows])
        xtr, xte = x_train[:, columns], x_test[:, columns]
        mean, std = xtr.mean(axis=0), xtr.std(axis=0) + 1e-6
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
        with _one_thread():
            weight, bias = fit_logistic(xtr, y_train, n_classes, l2=l2, max_iter=max_iter)
            logits = (torch.from_numpy(xte) @ weight + bias).numpy()
        results[name] = _scores(logits, y_test, group, partner)
        logger.info("probe %s: frame accuracy %.3f", name, results[name]["frame_acc"])

    return {
        "dataset": str(root),
        "synthetic": bool(info and info.get("synthetic")),
        "split": split,
        "seed": seed,
        "classes": n_classes,
        "train_videos": len(train),
        "test_videos": len(test),
        "train_frames": n_train,
        "train_frames_used": int(len(y_train)),
        "test_frames": int(len(y_test)),
        "chance": float((y_test == majority).mean()),
        "modalities": results,
    }
