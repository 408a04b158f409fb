"""The worker side of ``bench_vs_official.py``: one training run, ours or an official loop,
in a fresh process, recording the end time of every optimiser step.

``worker(args)`` runs what ``--worker ours|official --segmenter NAME`` asks for and returns
the step times, the steps per epoch and the torch thread count. The official checkouts are
only read: their modules are imported from the given path, with MS-TCN's two Python-2
constructs rewritten in memory (see ``bench_vs_official.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
import types
from pathlib import Path


def _install_step_hook(steps: list[float], ours: bool) -> None:
    """Record the end time of every optimiser step: torch's global post-hook for a
    ``torch.optim`` optimiser (the official loops; ours with ``--fast``) and, in our worker
    process only, a timing wrapper around ``relate.runs.optim.Adam.step`` (ours by default,
    which is not a ``torch.optim`` optimiser and so has no global hooks; the official workers
    never import ``relate``)."""

    def hook(optimizer, args, kwargs):  # noqa: ARG001 - hook signature
        steps.append(time.time())

    from torch.optim.optimizer import register_optimizer_step_post_hook

    register_optimizer_step_post_hook(hook)
    if not ours:
        return
    from relate.runs import optim

    plain_step = optim.Adam.step

    def timed_step(self: optim.Adam) -> None:
        plain_step(self)
        steps.append(time.time())

    optim.Adam.step = timed_step  # type: ignore[method-assign]


def _load_source(
    path: Path, name: str, fixes: tuple[tuple[str, str], ...] = ()
) -> types.ModuleType:
    """Import ``path`` as module ``name`` after in-memory text ``fixes`` (old, new)."""
    source = path.read_text(encoding="utf-8")
    for old, new in fixes:
        if old not in source:
            raise RuntimeError(f"{path}: expected text not found for the py3 adapter: {old!r}")
        source = source.replace(old, new)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - user's checkout
    return module


def _official_lists(data: Path) -> tuple[dict[str, int], Path]:
    mapping = {}
    for line in (data / "mapping.txt").read_text().splitlines():
        if line.strip():
            index, name = line.split(maxsplit=1)
            mapping[name] = int(index)
    return mapping, data / "splits" / "train.split1.bundle"


def _run_ours(args: argparse.Namespace, out: Path) -> int:
    from relate.runs.train import TrainRequest, train

    overrides: dict[str, object] = {}
    request = TrainRequest(
        data=Path(args.data), dataset="synthetic", split=1, segmenter=args.segmenter,
        variant="two_stream", seed=0, out=out, epochs=args.epochs, overrides=overrides,
        fast=args.fast, checkpoint_every=args.checkpoint_every,
    )  # fmt: skip
    train(request)
    return len(Path(args.data, "splits", "train.split1.bundle").read_text().split())


def _run_official_mstcn(args: argparse.Namespace, out: Path) -> int:
    import torch

    root = Path(args.official)
    sys.path.insert(0, str(root))
    model = _load_source(root / "model.py", "model", (("print vid", "print(vid)"),))
    batch_gen = _load_source(
        root / "batch_gen.py",
        "batch_gen",
        (("length_of_sequences = map(len, batch_target)",
          "length_of_sequences = list(map(len, batch_target))"),),
    )  # fmt: skip
    mapping, bundle = _official_lists(Path(args.data))
    data = Path(args.data)
    torch.manual_seed(1538574472)  # main.py's seed
    trainer = model.Trainer(4, 10, 64, 2048, len(mapping))
    gen = batch_gen.BatchGenerator(
        len(mapping), mapping, f"{data}/groundTruth/", f"{data}/features/", 1
    )
    gen.read_data(str(bundle))
    trainer.train(str(out), gen, num_epochs=args.epochs, batch_size=1, learning_rate=0.0005,
                  device=torch.device("cpu"))  # fmt: skip
    return len(gen.list_of_examples)


def _run_official_asformer(args: argparse.Namespace, out: Path) -> int:
    import torch

    root = Path(args.official)
    sys.path.insert(0, str(root))
    batch_gen = importlib.import_module("batch_gen")
    source = (root / "model.py").read_text(encoding="utf-8")
    fixes: tuple[tuple[str, str], ...] = ()
    import inspect

    if "verbose" not in inspect.signature(torch.optim.lr_scheduler.ReduceLROnPlateau).parameters:
        fixes = (("patience=3, verbose=True)", "patience=3)"),)  # removed from newer torch
    assert "class Trainer" in source
    model = _load_source(root / "model.py", "model", fixes)
    mapping, bundle = _official_lists(Path(args.data))
    data = Path(args.data)
    torch.manual_seed(19980125)  # main.py's seed
    trainer = model.Trainer(10, 2, 2, 64, 2048, len(mapping), 0.5)  # gtea: channel mask 0.5
    gen = batch_gen.BatchGenerator(
        len(mapping), mapping, f"{data}/groundTruth/", f"{data}/features/", 1
    )
    gen.read_data(str(bundle))
    trainer.train(str(out), gen, args.epochs, 1, 0.0005, None)
    return len(gen.list_of_examples)


def _run_official_fact(args: argparse.Namespace, out: Path) -> int:
    import numpy as np
    import torch

    root = Path(args.official).resolve()
    deps = os.environ.get("BENCH_EXTRA_PATH")
    if deps:
        sys.path.insert(0, deps)  # e.g. a --target install of yacs, kept out of the venv
    spec = importlib.util.spec_from_file_location(
        "official_fact", root / "__init__.py", submodule_search_locations=[str(root)]
    )
    assert spec and spec.loader
    package = importlib.util.module_from_spec(spec)
    sys.modules["official_fact"] = package
    spec.loader.exec_module(package)
    cfg_utils = importlib.import_module("official_fact.configs.utils")
    dataset_mod = importlib.import_module("official_fact.utils.dataset")
    tools = importlib.import_module("official_fact.utils.train_tools")
    evaluate = importlib.import_module("official_fact.utils.evaluate")
    blocks = importlib.import_module("official_fact.models.blocks")
    loss_mod = importlib.import_module("official_fact.models.loss")
    data = Path(args.data).resolve()
    cfg = cfg_utils.setup_cfg(
        [str(root / "configs" / "gtea.yaml")],
        [
            "dataset", "synthetic", "split", "split1",
            "feature_path", str(data / "features"), "groundTruth_path", str(data / "groundTruth"),
            "map_fname", str(data / "mapping.txt"), "split_path", str(data / "splits"),
            "feature_transpose", "True", "bg_class", "10", "average_transcript_len", "9.9",
            "FACT.ntoken", "21", "epoch", str(args.epochs),
        ],
    )  # fmt: skip
    np.random.seed(1)
    torch.manual_seed(1)
    dataset, _test = dataset_mod.create_dataset(cfg)
    loader = dataset_mod.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True)
    net = blocks.FACT(cfg, dataset.input_dimension, dataset.nclasses)
    if cfg.Loss.nullw == -1:
        tools.compute_null_weight(cfg, dataset)
    net.mcriterion = loss_mod.MatchCriterion(cfg, dataset.nclasses, dataset.bg_class)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ckpt = evaluate.Checkpoint(-1, bg_class=dataset.bg_class, eval_edit=False)
    for eidx in range(cfg.epoch):  # train.py's loop, minus .cuda(), printing and evaluation
        for vnames, seq_list, train_label_list, eval_label_list in loader:
            optimizer.zero_grad()
            loss, video_saves = net(seq_list, train_label_list, compute_loss=True)
            loss.backward()
            if cfg.clip_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.clip_grad_norm)
            optimizer.step()
            tools.save_results(ckpt, vnames, eval_label_list, video_saves)
        if cfg.lr_decay > 0 and (eidx + 1) % cfg.lr_decay == 0:
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * 0.1
    return len(loader)


def worker(args: argparse.Namespace) -> dict[str, object]:
    import torch

    torch.set_num_threads(args.threads)
    steps: list[float] = []
    _install_step_hook(steps, ours=args.worker == "ours")
    runners = {
        "ours": _run_ours,
        "mstcn": _run_official_mstcn,
        "asformer": _run_official_asformer,
        "fact": _run_official_fact,
    }
    with tempfile.TemporaryDirectory(prefix="bench_vs_official_") as tmp:
        side = "ours" if args.worker == "ours" else args.segmenter
        steps_per_epoch = runners[side](args, Path(tmp))
    return {"steps": steps, "steps_per_epoch": steps_per_epoch, "threads": torch.get_num_threads()}
