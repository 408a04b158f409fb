"""Train-mode rows: one seeded training step on both sides (dropout on), then the joint logits,
the AFT output, the loss and every parameter's gradient.

The gradients are compared from a second step run in float64 on copies of both models (same
weights, inputs and dropout masks). A float32 gradient is a poor witness of the computation:
where a pre-activation sits within rounding of a ReLU kink, float32 rounding on either side can
put it on the other side of the kink and flip whole gradient entries (differences of 1e-4 to
1e-3 were seen on gradients of size 1 to 5, while the same step in float64 agrees to 1e-14).
The float32 differences are still measured and given in the row's note, with each side's own
float32 error against its float64 gradient.

Shape legend: C classes, T frames, d feature width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from relate.tools.parity.constants import GRADIENT_DTYPE, TENSOR_TOLERANCE
from relate.tools.parity.loading import ReleaseModules
from relate.tools.parity.pair import ModelPair, flat_parameters, release_forward, release_loss
from relate.tools.parity.rows import ParityRow, tensor_row


@dataclass
class TrainStep:
    """What one seeded train step produced on each side.

    ``*_joint``: (1, C, T) last-stage joint logits; ``*_fused``: (1, d, T) AFT output;
    ``*_loss``: scalar; ``*_grads``: gradient by our parameter key (the release's mapped back).
    """

    our_joint: torch.Tensor
    their_joint: torch.Tensor
    our_fused: torch.Tensor
    their_fused: torch.Tensor
    our_loss: torch.Tensor
    their_loss: torch.Tensor
    our_grads: dict[str, torch.Tensor]
    their_grads: dict[str, torch.Tensor]


def train_step(
    release: ReleaseModules,
    pair: ModelPair,
    x_rgb: torch.Tensor,
    x_flow: torch.Tensor,
    target: torch.Tensor,
    seed: int,
) -> TrainStep:
    """Forward, loss and backward on both sides in train mode, re-seeding the global RNG before
    each side's forward.

    The two sides draw dropout masks in the same order (RGB, flow, AFT (none), joint; channel
    masking first in each ASFormer), so equal masks follow when the dropout rates and call
    order agree. Inputs are (1, 1024, T) in the pair's dtype; ``target`` is (1, T) class ids.
    """
    pair.set_mode(True)
    pair.zero_grad()
    mask = x_rgb.new_ones(1, 1, x_rgb.shape[-1])
    with torch.no_grad():
        teacher = pair.teacher(x_flow, mask)
    torch.manual_seed(seed)
    ours = pair.ours(x_rgb, mask)
    our_loss = pair.ours.loss(ours, target, mask, teacher)["total"]
    our_loss.backward()
    torch.manual_seed(seed)
    theirs = release_forward(pair, x_rgb, x_flow)
    their_loss = release_loss(release, pair, theirs, target)
    their_loss.backward()
    pair.set_mode(False)

    their_params = flat_parameters(pair.theirs)

    def grad(param: torch.Tensor) -> torch.Tensor:
        return param.grad.detach().clone() if param.grad is not None else torch.zeros_like(param)

    our_grads = {key: grad(p) for key, p in pair.ours.named_parameters()}
    their_grads = {key: grad(their_params[pair.mapping[key]]) for key in our_grads}
    pair.zero_grad()
    return TrainStep(
        ours.joint.logits[-1].detach(),
        theirs["p_joint"][-1].detach(),
        ours.fused.detach(),
        theirs["fused"].detach(),
        our_loss.detach(),
        their_loss.detach(),
        our_grads,
        their_grads,
    )


def max_grad_diff(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]
) -> tuple[float, str]:
    """Largest |first - second| over all parameter tensors (in float64) and its key."""
    worst, worst_key = 0.0, ""
    for key, g in first.items():
        diff = float((g.double() - second[key].double()).abs().max())
        if diff >= worst:
            worst, worst_key = diff, key
    return worst, worst_key


def compare_train(
    release: ReleaseModules,
    pair: ModelPair,
    x_rgb: torch.Tensor,
    x_flow: torch.Tensor,
    target: torch.Tensor,
    seed: int,
) -> list[ParityRow]:
    """Train-mode rows: joint logits, AFT output and loss in the pair's dtype; gradients of
    every parameter from the same step in ``GRADIENT_DTYPE`` (see the module docstring)."""
    name = pair.segmenter
    dtype = next(pair.ours.parameters()).dtype
    step = train_step(release, pair, x_rgb, x_flow, target, seed)
    rows = [
        tensor_row(
            name, "train p_J logits, last stage (seeded dropout)", step.our_joint, step.their_joint
        ),
        tensor_row(name, "train AFT output (seeded dropout)", step.our_fused, step.their_fused),
        tensor_row(name, "train loss L_RGB+L_OF+L_J+0.5*KD", step.our_loss, step.their_loss),
    ]
    note = ""
    wide = step
    if dtype != GRADIENT_DTYPE:
        wide = train_step(
            release,
            pair.to(GRADIENT_DTYPE),
            x_rgb.to(GRADIENT_DTYPE),
            x_flow.to(GRADIENT_DTYPE),
            target,
            seed,
        )
        narrow, _ = max_grad_diff(step.our_grads, step.their_grads)
        release_error, _ = max_grad_diff(step.their_grads, wide.their_grads)
        our_error, _ = max_grad_diff(step.our_grads, wide.our_grads)
        note = (
            f"; compared in float64. In {str(dtype).removeprefix('torch.')}: ours vs "
            f"release {narrow:.2g}, release vs its float64 {release_error:.2g}, "
            f"ours vs its float64 {our_error:.2g}"
        )
    worst, worst_key = max_grad_diff(wide.our_grads, wide.their_grads)
    scale = max(float(g.abs().max()) for g in wide.their_grads.values())
    tolerance = TENSOR_TOLERANCE * max(1.0, scale)
    rows.append(
        ParityRow(
            name,
            f"train gradients, all {len(wide.our_grads)} parameter tensors",
            worst,
            tolerance,
            worst <= tolerance,
            f"release max abs grad {scale:.3g}; worst {worst_key}{note}",
        )
    )
    return rows
