"""The model side of the label-supervised variants: build the segmenter a stored config
describes, and predict one video with it. Everything ``relate predict`` needs for them;
nothing here trains (the distilled variants': :mod:`relate.runs.distilled_model_hooks`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from relate import segmenters
from relate.errors import RelateError
from relate.evaluation.predictions import head_names


@torch.inference_mode()
def predict_video(
    model: torch.nn.Module, block: np.ndarray, device: torch.device
) -> dict[str, np.ndarray]:
    """Probabilities (C, T') of every head for one (D, T') feature block."""
    x = torch.from_numpy(block).unsqueeze(0).to(device)  # (1, D, T')
    mask = torch.ones(1, 1, x.shape[-1], device=device)  # (1, 1, T')
    output = model(x, mask)
    heads = [torch.softmax(logits, dim=1) for logits in output.logits] + [
        model.probabilities(output)
    ]
    return {
        name: probs[0].float().cpu().numpy()  # (C, T')
        for name, probs in zip(head_names(len(output.logits)), heads)
    }


class BaselineHooks:
    """``rgb``, ``flow``, ``two_stream``: a segmenter on the variant's rows."""

    def build(self, config: Mapping[str, Any]) -> torch.nn.Module:
        """The segmenter of a resolved config (fresh weights, from the current RNG)."""
        seg = config["segmenter"]
        try:
            return segmenters.build(
                seg["name"],
                config["variant"]["in_dim"],
                len(config["dataset"]["classes"]),
                config["dataset"]["name"],
                **seg["overrides"],
            )
        except (TypeError, ValueError) as error:
            raise RelateError(
                f"cannot build segmenter {seg['name']!r} with {seg['overrides']}: {error}"
            ) from None
        except (KeyError, ModuleNotFoundError) as error:
            raise RelateError(f"segmenter {seg['name']!r} is not available ({error})") from None

    def refinement(
        self, config: Mapping[str, Any], overrides: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """Prediction refinement of the run (None: the method has none)."""
        if overrides:
            raise RelateError(
                f"--pr-option applies to relate runs, not {config['variant']['name']!r}"
            )
        return None

    def predict(
        self,
        model: torch.nn.Module,
        block: np.ndarray,
        device: torch.device,
        refinement: Mapping[str, Any] | None,
    ) -> dict[str, np.ndarray]:
        """Probabilities (C, T') per head for the (D, T') rows the run reads."""
        return predict_video(model, block, device)


BASELINE = BaselineHooks()
