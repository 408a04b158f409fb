"""relate.runs.optim: Adam bit-identical to torch.optim.Adam's CPU loop, state dicts that
round-trip with torch's, the plateau rule equal to ReduceLROnPlateau, and a CPU training run
that never imports torch's compiler stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT

from relate.runs.optim import Adam, Plateau


def model_pair(seed: int = 0) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    a = torch.nn.Sequential(
        torch.nn.Conv1d(6, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv1d(8, 4, 1)
    )
    b = torch.nn.Sequential(
        torch.nn.Conv1d(6, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv1d(8, 4, 1)
    )
    b.load_state_dict(a.state_dict())
    return a, b


def backward(model: torch.nn.Module, step: int, freeze_last: bool) -> None:
    """A loss that differs per step; with ``freeze_last`` the last conv gets no gradient."""
    gen = torch.Generator().manual_seed(100 + step)
    x = torch.randn(2, 6, 17, generator=gen)
    loss = (model(x) ** 2).mean() + model[0](x).abs().mean()
    loss.backward()
    if freeze_last:
        for p in model[2].parameters():
            p.grad = None


def bits(model: torch.nn.Module) -> list[bytes]:
    return [p.detach().numpy().tobytes() for p in model.parameters()]


def same_state(ours: dict, theirs: dict) -> None:
    assert list(ours) == list(theirs) == ["state", "param_groups"]
    assert list(ours["state"]) == list(theirs["state"])
    for index, values in theirs["state"].items():
        assert list(ours["state"][index]) == list(values)
        for key, tensor in values.items():
            mine = ours["state"][index][key]
            assert mine.dtype == tensor.dtype and mine.device == tensor.device
            assert torch.equal(mine, tensor), (index, key)
    assert ours["param_groups"] == theirs["param_groups"]
    assert [list(g) for g in ours["param_groups"]] == [list(g) for g in theirs["param_groups"]]


@pytest.mark.parametrize("weight_decay", [0.0, 1e-5])
def test_adam_is_bit_identical_to_torch(weight_decay: float) -> None:
    a, b = model_pair()
    ours = Adam(a.parameters(), lr=5e-4, weight_decay=weight_decay)
    theirs = torch.optim.Adam(b.parameters(), lr=5e-4, weight_decay=weight_decay)
    for step in range(12):
        if step == 6:  # what a step_reset or plateau schedule does between epochs
            for group in (*ours.param_groups, *theirs.param_groups):
                group["lr"] = 5e-5
        for model, optimizer in ((a, ours), (b, theirs)):
            optimizer.zero_grad(set_to_none=True)
            backward(model, step, freeze_last=step < 3)  # lazy state for some parameters
            optimizer.step()
        assert bits(a) == bits(b), f"step {step}"
    same_state(ours.state_dict(), theirs.state_dict())


def test_state_dicts_cross_load_and_continue_identically() -> None:
    a, b = model_pair(1)
    ours = Adam(a.parameters(), lr=1e-3)
    theirs = torch.optim.Adam(b.parameters(), lr=1e-3)
    for step in range(3):
        for model, optimizer in ((a, ours), (b, theirs)):
            optimizer.zero_grad()
            backward(model, step, freeze_last=False)
            optimizer.step()
    # swap: each model continues with the other implementation, loaded from the other's state
    swapped_ours = Adam(b.parameters(), lr=0.5)
    swapped_ours.load_state_dict(theirs.state_dict())
    swapped_theirs = torch.optim.Adam(a.parameters(), lr=0.5)
    swapped_theirs.load_state_dict(ours.state_dict())
    assert swapped_ours.param_groups[0]["lr"] == 1e-3
    for step in range(3, 6):
        for model, optimizer in ((a, swapped_theirs), (b, swapped_ours)):
            optimizer.zero_grad()
            backward(model, step, freeze_last=False)
            optimizer.step()
        assert bits(a) == bits(b), f"step {step}"


def test_adam_refusals() -> None:
    with pytest.raises(ValueError, match="empty"):
        Adam([], lr=1e-3)
    a, _ = model_pair()
    state = Adam(list(a.parameters())[:2], lr=1e-3).state_dict()
    with pytest.raises(ValueError, match="does not match"):
        Adam(a.parameters(), lr=1e-3).load_state_dict(state)


def test_plateau_equals_reduce_lr_on_plateau_and_reads_its_state() -> None:
    values = [10.0, 9.0, 9.0, 8.9995, 9.5, 9.2, 9.1, 8.0, 8.0, 8.0, 8.0, 8.0, 7.0, 7.0, 7.0, 7.0]
    p1 = [torch.nn.Parameter(torch.zeros(2))]
    p2 = [torch.nn.Parameter(torch.zeros(2))]
    ours_opt, theirs_opt = Adam(p1, lr=5e-4), torch.optim.Adam(p2, lr=5e-4)
    ours = Plateau(ours_opt, factor=0.5, patience=3)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        theirs_opt, mode="min", factor=0.5, patience=3
    )
    lrs = []
    for i, value in enumerate(values):
        ours.step(value)
        theirs.step(value)
        assert ours_opt.param_groups[0]["lr"] == theirs_opt.param_groups[0]["lr"], i
        lrs.append(ours_opt.param_groups[0]["lr"])
        if i == 7:  # resume ours from torch's state half-way
            ours = Plateau(ours_opt, factor=0.5, patience=3)
            ours.load_state_dict(theirs.state_dict())
    assert len(set(lrs)) >= 3  # the rule did act, twice


def test_cpu_training_never_imports_the_compiler(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    script = f"""
import sys
from relate.cli import main
from relate.data.synthetic import SynthConfig, generate_dataset
generate_dataset({str(data)!r}, SynthConfig(n_videos=4, min_frames=120, max_frames=140,
                 n_splits=2), seed=0)
args = ["train", "--data", {str(data)!r}, "--dataset", "synthetic", "--split", "1",
        "--segmenter", "asformer", "--variant", "rgb", "--seed", "0", "--out", {str(run)!r},
        "--epochs", "2", "--set", "num_layers=2", "--set", "num_f_maps=8"]
assert main(args) == 0
print("dynamo imported:", "torch._dynamo" in sys.modules)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert (run / "model.pt").exists()
    assert "dynamo imported: False" in done.stdout, done.stdout + done.stderr
