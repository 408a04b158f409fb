"""The modality bridge: two per-frame FC layers from RGB I3D to pseudo-flow I3D (paper §3.1,
§3.3; D7 of docs/decisions.md), and its MSE.

Shape legend: B batch, D = 1024 I3D rows, H hidden width, T frames.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from relate.blocks.distill.common import check_pair
from relate.blocks.distill.mars import mars_loss


class ModalityBridge(nn.Module):
    """RGB-I3D → pseudo-flow-I3D map: 1×1 conv D→H, ReLU, 1×1 conv H→D (D7).

    Two per-frame FC layers (paper §3.1). Defaults D = 1024, H = 256 give
    2·1024·256 + 256 + 1024 = 525,568 parameters. Input and output are (B, D, T).
    """

    def __init__(self, in_dim: int = 1024, hidden: int = 256, out_dim: int | None = None):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(in_dim, hidden, kernel_size=1),
            nn.ReLU(),
            nn.Conv1d(hidden, in_dim if out_dim is None else out_dim, kernel_size=1),
        )

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """rgb: (B, D, T) RGB I3D rows → (B, D_out, T) pseudo-flow rows."""
        return self.net(rgb)

    def freeze(self) -> ModalityBridge:
        """Eval mode and no gradients, as the release uses the pre-trained bridge."""
        self.eval()
        self.requires_grad_(False)
        return self


def bridge_loss(
    pseudo_flow: torch.Tensor,
    flow: torch.Tensor,
    mask: torch.Tensor | None = None,
    padding: str = "exclude",
) -> torch.Tensor:
    """MSE between the bridge output and the flow I3D rows (paper §3.3, D7).

    Args:
        pseudo_flow: (B, D, T) bridge output.
        flow: (B, D, T) flow I3D rows (the target; detached).
        mask: (B, 1, T) or (B, T).
        padding: ``"exclude"`` (mean over valid frames × D; D7 paper-literal default) or
            ``"include"`` (mean over the whole padded tensor, the release's ``nn.MSELoss``).
    """
    if padding == "include":
        check_pair(pseudo_flow, flow)
        return F.mse_loss(pseudo_flow, flow.detach())
    if padding != "exclude":
        raise ValueError(f"unknown padding {padding!r}; use 'exclude' or 'include'")
    return mars_loss(pseudo_flow, flow, mask)
