"""The model side of the distilled variants (``relate``, ``kd``, ``rkd``, ``gcr``, ``mars``):
rebuild the model from the ``spec`` its config stores (a
:class:`relate.blocks.relate_model.RelateSpec` or :class:`relate.blocks.students.StudentSpec`,
stored as JSON) and predict one video from its RGB rows. Nothing here trains."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import torch

from relate.blocks.refine import DEFAULT_DELTA, refine_prediction
from relate.blocks.refine_options import resolve_pr_options
from relate.blocks.relate_model import RelateModel, RelateSpec
from relate.blocks.students import StudentModel, StudentSpec
from relate.data.registry import RGB_ROWS
from relate.errors import RelateError
from relate.evaluation.predictions import FINAL_HEAD
from relate.runs.model_hooks import BaselineHooks, predict_video

SpecT = TypeVar("SpecT")


def spec_from_json(cls: type[SpecT], stored: Mapping[str, Any]) -> SpecT:
    """The spec dataclass ``cls`` from its stored JSON object (``dataclasses.asdict``)."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(stored) - names)
    if unknown:
        raise RelateError(f"stored {cls.__name__} has unknown field(s) {unknown}")
    try:
        return cls(**stored)
    except (TypeError, ValueError, KeyError) as error:
        raise RelateError(f"invalid stored {cls.__name__}: {error}") from None


class StudentHooks(BaselineHooks):
    """``kd``, ``rkd``, ``gcr``, ``mars``: an RGB student (the flow rows fed only its teacher)."""

    def build(self, config: Mapping[str, Any]) -> torch.nn.Module:
        """The student model of the stored spec."""
        return StudentModel(spec_from_json(StudentSpec, config["student"]["spec"]))

    def predict(
        self,
        model: torch.nn.Module,
        block: np.ndarray,
        device: torch.device,
        refinement: Mapping[str, Any] | None,
    ) -> dict[str, np.ndarray]:
        """Heads of the RGB rows of a (2048, T') block."""
        return predict_video(model, block[RGB_ROWS], device)


RELATE_HEADS = ("rgb", "flow", "joint", "joint_refined", FINAL_HEAD)


class RelateHooks(BaselineHooks):
    """``relate``: three heads from the RGB rows; ``final`` is the refined joint head."""

    def build(self, config: Mapping[str, Any]) -> torch.nn.Module:
        """The RELATE model of the stored spec."""
        return RelateModel(spec_from_json(RelateSpec, config["relate"]["spec"]))

    def refinement(
        self, config: Mapping[str, Any], overrides: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """``{"delta", "options"}``: the run's PR options (its preset and ``--option`` values,
        recorded in config.json), then ``overrides`` (``relate predict --pr-option``)."""
        merged = {**dict(config["relate"].get("pr_options", {})), **dict(overrides or {})}
        delta = merged.pop("pr_delta", DEFAULT_DELTA)
        try:
            delta = float(delta)
            if not 0.0 <= delta <= 1.0:
                raise ValueError(f"pr_delta must be in [0, 1], got {delta}")
            return {"delta": delta, "options": resolve_pr_options(merged)}
        except (TypeError, ValueError) as error:
            raise RelateError(f"invalid prediction-refinement option: {error}") from None

    @torch.inference_mode()
    def predict(
        self,
        model: torch.nn.Module,
        block: np.ndarray,
        device: torch.device,
        refinement: Mapping[str, Any] | None,
    ) -> dict[str, np.ndarray]:
        """RELATE heads (C, T') for one (2048, T') block: the model sees the RGB rows; the
        joint head is refined at the model's rate (defaults when ``refinement`` is None)."""
        refinement = refinement or {"delta": DEFAULT_DELTA, "options": {}}
        x = torch.from_numpy(block[RGB_ROWS]).unsqueeze(0).to(device)  # (1, 1024, T')
        mask = torch.ones(1, 1, x.shape[-1], device=device)
        probs = {
            name: p[0].float().cpu().numpy()  # (C, T')
            for name, p in model.probabilities(model(x, mask)).items()  # type: ignore[operator]
        }
        refined = refine_prediction(
            probs["rgb"].T,
            probs["flow"].T,
            probs["joint"].T,
            delta=refinement["delta"],
            **dict(refinement["options"]),
        ).T  # (C, T')
        probs["joint_refined"] = np.ascontiguousarray(refined)
        probs[FINAL_HEAD] = probs["joint_refined"]
        return {name: probs[name] for name in RELATE_HEADS}


STUDENT = StudentHooks()
RELATE = RelateHooks()
