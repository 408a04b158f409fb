"""Trace one RELATE run: why does (or does not) distillation help it?

Prints a Markdown trace of a finished ``relate`` run folder on the test videos of its split:

1. **Loss terms over epochs** (``log.jsonl``): rgb, flow, joint, cmkd (the distillation term,
   weighted by gamma in ``total``) and the training-set frame accuracy, at five epochs.
2. **Teacher quality**: the frozen flow teacher (the run's ``config.json`` names it) predicted
   and scored like any run.
3. **Heads**: RELATE's rgb, flow (the RGB-fed branch distilled towards the teacher), joint
   and final (refined) heads, each scored (F1@50, Edit, Acc) and with its *within-pair*
   accuracy on a synthetic dataset: over frames of a motion pair's members whose prediction
   is a member of that pair, the share predicted as the right one (50 = chance; only motion
   separates the two).
4. **Gate activations**: the action-gated attention's gate A (B, d, T) of each branch, its
   mean, its spread over frames, and its mean on frames whose anchor label (the branch's own
   prediction) is right against wrong.

    .venv/bin/python benchmarks/trace_relate.py --run RUN_DIR --data DATA_DIR --out trace.md

Nothing is written into the run folder; predictions go to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate

from relate.blocks.fusion.action_gated_attention import (
    ActionGatedAttention,
    action_gate,
    segment_means,
    segments_from_labels,
)
from relate.data.layout import DatasetLayout, load_split, read_labels
from relate.data.registry import get_dataset
from relate.data.synthetic_info import read_info
from relate.evaluation.evaluate import evaluate_split
from relate.evaluation.predict import predict_split
from relate.runs.checkpoint import load_weights
from relate.runs.files import LOG_FILE, read_config
from relate.runs.inputs import read_block, read_classes
from relate.runs.record import read_run


def loss_table(run: Path) -> str:
    lines = [json.loads(x) for x in (run / LOG_FILE).read_text().splitlines() if x.strip()]
    picks = sorted({0, len(lines) // 4, len(lines) // 2, 3 * len(lines) // 4, len(lines) - 1})
    terms = [t for t in ("rgb", "flow", "joint", "cmkd", "total") if t in lines[0]["loss"]]
    rows = [
        [lines[i]["epoch"], *(f"{lines[i]['loss'][t]:.2f}" for t in terms), lines[i]["train_acc"]]
        for i in picks
    ]
    return tabulate(rows, ["epoch", *terms, "train acc %"], tablefmt="github")


def within_pair(npz: Path, data: Path, split: int, head: str) -> float | None:
    """Share of pair-member frames (predicted inside their pair) predicted as the right one."""
    info = read_info(data) or {}
    pairs = info.get("motion_pairs")
    if not pairs:
        return None
    layout = DatasetLayout(data)
    classes = read_classes(layout)
    ids = {name: i for i, name in enumerate(classes)}
    partner = {}
    for a, b in pairs:
        partner[ids[a]], partner[ids[b]] = ids[b], ids[a]
    right = told = 0
    with np.load(npz) as archive:
        for video in load_split(layout, "test", split):
            truth = np.array([ids[x] for x in read_labels(layout.label_path(video))])
            pred = archive[f"{video}/{head}"].argmax(0)[: len(truth)]
            truth = truth[: len(pred)]
            in_pair = np.array([t in partner and p in (t, partner[t]) for t, p in zip(truth, pred)])
            right += int((pred[in_pair] == truth[in_pair]).sum())
            told += int(in_pair.sum())
    return 100.0 * right / told if told else None


def score(npz: Path, data: Path, split: int, dataset: str, heads: list[str]) -> list[list]:
    rows = []
    for head in heads:
        m = evaluate_split(data, split, npz, get_dataset(dataset), "standard", head)["metrics"]
        wp = within_pair(npz, data, split, head)
        rows.append(
            [head, f"{m['f1@50']:.1f}", f"{m['edit']:.1f}", f"{m['acc']:.1f}",
             "-" if wp is None else f"{wp:.1f}"]
        )  # fmt: skip
    return rows


def gate_table(run_dir: Path, data: Path, split: int) -> str:
    """Gate statistics of each branch's AGA over the test videos."""
    run = read_run(run_dir)
    hooks = run.method.model()
    model = hooks.build(run.config)
    load_weights(run.weights, model)
    model.eval()
    layout = DatasetLayout(data)
    ids = {name: i for i, name in enumerate(read_classes(layout))}
    modules = [m for m in model.modules() if isinstance(m, ActionGatedAttention)]
    names = ["rgb branch", "flow branch"][: len(modules)]
    captured: dict[int, list] = {i: [] for i in range(len(modules))}
    current: dict[str, np.ndarray] = {}

    def hook(index: int):
        def record(module: ActionGatedAttention, inputs: tuple, output: torch.Tensor) -> None:
            z, labels = inputs[0], inputs[1]
            mask = inputs[2] if len(inputs) > 2 else None
            segments = segments_from_labels(labels, mask)
            q, k, _ = module.project(z, mask)
            gate = action_gate(
                k, segment_means(q, segments), segments, anchor=module.anchor, form=module.form
            )[0]  # (d, T)
            anchor_right = labels[0].cpu().numpy() == current["truth"][: labels.shape[1]]
            captured[index].append((gate.mean(0).cpu().numpy(), anchor_right))

        return record

    handles = [m.register_forward_hook(hook(i)) for i, m in enumerate(modules)]
    with torch.inference_mode():
        for video in load_split(layout, "test", split):
            block = read_block(layout.feature_path(video), run.method.input, None, run.sample_rate)
            truth = np.array([ids[x] for x in read_labels(layout.label_path(video))])
            current["truth"] = truth[:: run.sample_rate]
            n = min(block.shape[1], len(current["truth"]))
            current["truth"] = current["truth"][:n]
            hooks.predict(model, block[:, :n], torch.device("cpu"), None)
    for handle in handles:
        handle.remove()
    rows = []
    for index, name in enumerate(names):
        gates = np.concatenate([g for g, _ in captured[index]])
        right = np.concatenate([r for _, r in captured[index]])
        rows.append(
            [name, f"{gates.mean():.3f}", f"{gates.std():.3f}",
             f"{gates[right].mean():.3f}" if right.any() else "-",
             f"{gates[~right].mean():.3f}" if (~right).any() else "-",
             f"{100 * right.mean():.1f}"]
        )  # fmt: skip
    headers = ["AGA", "mean gate", "std over frames", "anchor right", "anchor wrong",
               "anchor right %"]  # fmt: skip
    return tabulate(rows, headers, tablefmt="github")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a finished relate run folder")
    parser.add_argument("--data", type=Path, required=True, help="its dataset folder")
    parser.add_argument("--out", type=Path, default=None, help="Markdown output (else stdout)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    config = read_config(args.run)
    split, dataset = int(config["split"]), str(config["dataset"]["name"])
    teacher = Path(config["relate"]["teacher"]["path"])
    lines = [f"# Trace of {args.run} (split {split}, {dataset}, data {args.data})", ""]
    lines += ["## Loss terms over epochs", "", loss_table(args.run), ""]
    headers = ["head", "F1@50", "Edit", "Acc", "within-pair %"]
    with tempfile.TemporaryDirectory() as tmp:
        teacher_npz, relate_npz = Path(tmp) / "teacher.npz", Path(tmp) / "relate.npz"
        predict_split(teacher, args.data, split, teacher_npz)
        predict_split(args.run, args.data, split, relate_npz)
        lines += ["## Teacher (flow, frozen)", ""]
        lines += [tabulate(score(teacher_npz, args.data, split, dataset, ["final"]), headers,
                           tablefmt="github"), ""]  # fmt: skip
        lines += ["## RELATE heads", ""]
        heads = ["rgb", "flow", "joint", "final"]
        lines += [tabulate(score(relate_npz, args.data, split, dataset, heads), headers,
                           tablefmt="github"), ""]  # fmt: skip
    lines += ["## Gate activations (test videos)", "", gate_table(args.run, args.data, split), ""]
    text = "\n".join(lines)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
