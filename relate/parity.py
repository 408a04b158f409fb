"""Numerical parity of this suite's RELATE with the authors' code release (docs/parity.md).

The release (github.com/Hsj303/RELATE, MS-TCN and ASFormer) is imported from a local
checkout, never copied into the suite. For each segmenter, the release's four segmenters and
AFT and our ``RelateModel`` plus teacher get the same random weights (through a key mapping
checked to be a bijection with equal shapes), see the same random input, and every head is
compared: per-stage logits, features, anchors, the AFT output, the CMKD losses, a seeded
train-mode step (loss and gradients), prediction refinement and the evaluator.

Loading: the release's package is also called ``relate``, so putting the checkout on
``sys.path`` would collide with this package. Its ``relate/`` folder is loaded instead as a
package under a private alias (``_relate_release_<hash>``); ``sys.path`` is never changed
and the alias is removed from ``sys.modules`` afterwards (the module objects stay reachable
through :class:`ReleaseModules`).

Shape legend: B batch (1), C classes, T frames, S stages, d feature width (64).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import logging
import math
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from relate.errors import DataError, RelateError

logger = logging.getLogger(__name__)

RELEASE_URL = "github.com/Hsj303/RELATE"
RELEASE_BACKBONES: Mapping[str, str] = {"mstcn": "MS-TCN", "asformer": "ASFormer"}
"""Our segmenter name -> the release's ``--backbone`` value (FACT is not released)."""

RELEASE_MODULES: tuple[str, ...] = (
    "layers", "backbones", "segmenters", "alignment_fusion", "losses", "refinement", "metrics",
)
RELEASE_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "segmenters": ("RGBSegmenter", "FlowSegmenter", "RefSegmenter", "JointSegmenter"),
    "alignment_fusion": ("AlignmentFusionTransformer",),
    "losses": (
        "segmentation_loss", "logit_distillation_loss", "rkd_distance_loss",
        "global_covariance_relation_loss",
    ),
    "refinement": ("refine_joint_prediction",),
    "metrics": ("f_score", "edit_score", "frame_accuracy"),
}
RELEASE_EVALUATE_SCRIPT = "scripts/evaluate.py"

# Release defaults (scripts/train.py argparse; reference-relate-release.md §2-3).
RELEASE_R = 2  # ASFormer r1 = r2
RELEASE_CHANNEL_MASK_RATE = 0.3  # --channel-mask-rate, every dataset
RELEASE_KD_STAGES = "all"
RELEASE_GAMMA = 0.5
RELEASE_TEMPERATURE = 2.0
RELEASE_DELTA = 0.7

TENSOR_TOLERANCE = 1e-5
"""Target for tensors and losses: |ours - release| <= 1e-5 * max(1, max |release|)."""
SCORE_TOLERANCE = 1e-9
"""Target for evaluator scores (percent): identical up to float64 rounding."""
DTYPES: Mapping[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}
COUNT_TOLERANCE = 0.0
"""Target for counts of differing labels or printed values: none."""

EVALUATOR_SPLITS: Mapping[str, tuple[int, str | None]] = {
    "gtea": (7, "background"),
    "50salads": (6, None),
    "breakfast": (10, "SIL"),
}
"""Synthetic evaluator splits: dataset layout -> (videos, background class name)."""
METRIC_ORDER: tuple[str, ...] = ("f1@10", "f1@25", "f1@50", "edit", "acc")
PRINTED_KEYS: Mapping[str, str] = {
    "F1@10": "f1@10", "F1@25": "f1@25", "F1@50": "f1@50", "Edit": "edit", "Acc": "acc",
}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ParityRow:
    """One compared quantity.

    Attributes:
        segmenter: ``mstcn``, ``asformer``, or ``-`` for segmenter-free checks.
        quantity: what was compared (mode, head, stage).
        max_abs_diff: largest |ours - release| (a count for label/printout rows).
        tolerance: the absolute tolerance applied (already scaled, see ``TENSOR_TOLERANCE``).
        ok: ``max_abs_diff <= tolerance``.
        note: scale of the release's values or other context.
    """

    segmenter: str
    quantity: str
    max_abs_diff: float
    tolerance: float
    ok: bool
    note: str = ""


@dataclass
class ParityReport:
    """All rows of one parity run, with where the release came from and the settings."""

    rows: list[ParityRow]
    release_path: str
    release_commit: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every row is within its tolerance."""
        return all(row.ok for row in self.rows)

    @property
    def failures(self) -> list[ParityRow]:
        """The rows outside their tolerance."""
        return [row for row in self.rows if not row.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (``rows`` as a list of dicts; a non-finite number as a string)."""
        return {
            "release": {"url": RELEASE_URL, "path": self.release_path,
                        "commit": self.release_commit},
            "settings": self.settings,
            "ok": self.ok,
            "rows": [
                {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
                 for k, v in dataclasses.asdict(row).items()}
                for row in self.rows
            ],
        }

    def table(self, fmt: str = "github") -> str:
        """The rows as a ``tabulate`` table."""
        from tabulate import tabulate

        body = [
            (r.segmenter, r.quantity, _fmt(r.max_abs_diff), _fmt(r.tolerance),
             "ok" if r.ok else "FAIL", r.note)
            for r in self.rows
        ]
        return tabulate(
            body, headers=("segmenter", "quantity", "max_abs_diff", "tolerance", "ok", "note"),
            tablefmt=fmt, disable_numparse=True,
        )


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _tensor_row(
    segmenter: str, quantity: str, ours: torch.Tensor, theirs: torch.Tensor, note: str = ""
) -> ParityRow:
    """Row for two tensors of one shape: max |diff| against 1e-5 * max(1, max |theirs|)."""
    ours = torch.as_tensor(ours).detach().double()
    theirs = torch.as_tensor(theirs).detach().double()
    if ours.shape != theirs.shape:
        return ParityRow(segmenter, quantity, math.inf, 0.0, False,
                         f"shape {tuple(ours.shape)} vs release {tuple(theirs.shape)}")
    if ours.numel() == 0:
        return ParityRow(segmenter, quantity, 0.0, TENSOR_TOLERANCE, True, "empty")
    if not (torch.isfinite(ours).all() and torch.isfinite(theirs).all()):
        return ParityRow(segmenter, quantity, math.inf, 0.0, False, "non-finite values")
    diff = float((ours - theirs).abs().max())
    scale = float(theirs.abs().max())
    tolerance = TENSOR_TOLERANCE * max(1.0, scale)
    scale_note = f"release max abs {scale:.3g}"
    return ParityRow(segmenter, quantity, diff, tolerance, diff <= tolerance,
                     f"{scale_note}; {note}" if note else scale_note)


def _count_row(segmenter: str, quantity: str, differing: int, note: str = "") -> ParityRow:
    return ParityRow(segmenter, quantity, float(differing), COUNT_TOLERANCE,
                     differing <= COUNT_TOLERANCE, note)


# --------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class ReleaseModules:
    """The release's modules, loaded from ``path``; ``commit`` is its git HEAD or 'unknown'."""

    path: Path
    commit: str
    modules: Mapping[str, ModuleType]

    def __getattr__(self, name: str) -> ModuleType:
        try:
            return self.modules[name]
        except KeyError:
            raise AttributeError(name) from None


def _release_commit(path: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out or "unknown"


def load_release(path: str | Path) -> ReleaseModules:
    """Import the release's ``relate/*.py`` from a checkout at ``path``.

    Raises:
        DataError: ``path`` is not a checkout of the release (a file is missing, or a module
            lacks a class/function the comparison needs), or importing it fails (the message
            names a missing third-party package).
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DataError(path, f"not a checkout of the RELATE release ({RELEASE_URL}): "
                              "no such directory")
    package = path / "relate"
    required = [package / "__init__.py"] + [package / f"{m}.py" for m in RELEASE_MODULES]
    required.append(path / RELEASE_EVALUATE_SCRIPT)
    missing = [str(p.relative_to(path)) for p in required if not p.is_file()]
    if missing:
        raise DataError(path, f"not a checkout of the RELATE release ({RELEASE_URL}): "
                              f"missing {', '.join(missing)}")
    alias = "_relate_release_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    path_before = list(sys.path)
    modules: dict[str, ModuleType] = {}
    try:
        spec = importlib.util.spec_from_file_location(
            alias, package / "__init__.py", submodule_search_locations=[str(package)]
        )
        if spec is None or spec.loader is None:
            raise DataError(path, "cannot load relate/__init__.py as a package")
        root = importlib.util.module_from_spec(spec)
        sys.modules[alias] = root
        spec.loader.exec_module(root)
        for name in RELEASE_MODULES:
            modules[name] = importlib.import_module(f"{alias}.{name}")
    except ModuleNotFoundError as error:
        raise DataError(
            path, f"importing the release needs the package {error.name!r}, which is not "
                  f"installed in this environment ({error})"
        ) from None
    except DataError:
        raise
    except Exception as error:  # a broken checkout: syntax errors, failing top-level code
        raise DataError(path, f"importing the release failed: {type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}") from None
    finally:
        for key in [k for k in sys.modules if k == alias or k.startswith(alias + ".")]:
            del sys.modules[key]
        sys.path[:] = path_before
    for module, names in RELEASE_ATTRIBUTES.items():
        absent = [n for n in names if not hasattr(modules[module], n)]
        if absent:
            raise DataError(path, f"not a checkout of the RELATE release ({RELEASE_URL}): "
                                  f"relate/{module}.py has no {', '.join(absent)}")
    return ReleaseModules(path, _release_commit(path), modules)


# --------------------------------------------------------------------------- key mapping
class KeyMappingError(RelateError):
    """Our state_dict keys do not map one to one, shape for shape, onto the release's."""


_SEGMENTER_ROLES = ("rgb", "flow", "joint", "teacher")
_FUSION_RULES: tuple[tuple[str, str], ...] = (
    (r"^fusion\.aga\.0\.(q|k|v)\.(weight|bias)$", r"aft.\1_rgb.\2"),
    (r"^fusion\.aga\.1\.(q|k|v)\.(weight|bias)$", r"aft.\1_flow.\2"),
    (r"^fusion\.trunk\.attention\.(.+)$", r"aft.self_attention.\1"),
    (r"^fusion\.trunk\.projection\.(weight|bias)$", r"aft.conv_out.\1"),
)


def release_key(key: str, segmenter: str) -> str | None:
    """The release's key for one of our keys, or None when no rule applies.

    Our keys are ``rgb.*``, ``flow.*``, ``joint.*``, ``fusion.*`` (``RelateModel``) and
    ``teacher.*`` (``build_teacher``); the release's are ``rgb|flow|joint|teacher.stack.*``
    (its segmenters) and ``aft.*`` (``AlignmentFusionTransformer``).
    """
    role, _, rest = key.partition(".")
    if role in _SEGMENTER_ROLES and rest:
        if segmenter == "asformer":
            # our AttModule keeps the dilated conv itself; the release wraps it in a Sequential
            rest = re.sub(r"\.feed_forward\.(weight|bias)$", r".feed_forward.layer.0.\1", rest)
        return f"{role}.stack.{rest}"
    for pattern, replacement in _FUSION_RULES:
        if re.match(pattern, key):
            return re.sub(pattern, replacement, key)
    return None


def key_mapping(keys: Iterable[str], segmenter: str) -> dict[str, str | None]:
    """``{our key: release key or None}`` by :func:`release_key`."""
    return {key: release_key(key, segmenter) for key in keys}


def check_mapping(
    mapping: Mapping[str, str | None],
    ours: Mapping[str, Sequence[int]],
    theirs: Mapping[str, Sequence[int]],
) -> None:
    """Require ``mapping`` to be a bijection from ``ours`` onto ``theirs`` with equal shapes.

    Args:
        mapping: our key -> release key (None = unmapped).
        ours, theirs: key -> shape of every tensor on each side.

    Raises:
        KeyMappingError: listing (up to 5 of each) unmapped, unknown, shared, unused keys and
            shape mismatches.
    """
    problems: list[str] = []

    def report(kind: str, items: list[str]) -> None:
        if items:
            shown = ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")
            problems.append(f"{len(items)} {kind}: {shown}")

    report("of our keys not in the mapping", sorted(set(ours) - set(mapping)))
    report("mapped keys that are not ours", sorted(set(mapping) - set(ours)))
    report("of our keys without a rule", sorted(k for k, v in mapping.items() if v is None))
    targets = [v for v in mapping.values() if v is not None]
    report("targets not in the release", sorted({t for t in targets if t not in theirs}))
    seen: dict[str, str] = {}
    shared = []
    for key, target in sorted(mapping.items()):
        if target is None:
            continue
        if target in seen:
            shared.append(f"{seen[target]} and {key} -> {target}")
        seen[target] = key
    report("release keys hit twice", shared)
    report("release keys left unmapped", sorted(set(theirs) - set(targets)))
    mismatched = [
        f"{k} {tuple(ours[k])} vs {v} {tuple(theirs[v])}"
        for k, v in sorted(mapping.items())
        if v is not None and k in ours and v in theirs and tuple(ours[k]) != tuple(theirs[v])
    ]
    report("shape mismatches", mismatched)
    if problems:
        raise KeyMappingError("state_dict key mapping is not a shape-preserving bijection: "
                              + "; ".join(problems))


# --------------------------------------------------------------------------- model pair
@dataclass
class ModelPair:
    """Our model and teacher, and the release's modules, holding the same weights."""

    segmenter: str
    spec: Any
    ours: nn.Module
    teacher: nn.Module
    theirs: dict[str, nn.Module]
    mapping: dict[str, str]


def _flat_state(modules: Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v for prefix, m in modules.items() for k, v in m.state_dict().items()}


def _flat_parameters(modules: Mapping[str, nn.Module]) -> dict[str, nn.Parameter]:
    return {f"{prefix}.{k}": p for prefix, m in modules.items() for k, p in m.named_parameters()}


def _our_state(ours: nn.Module, teacher: nn.Module) -> dict[str, torch.Tensor]:
    """Our model's keys as they are (``rgb.``, ``flow.``, ``fusion.``, ``joint.``) plus the
    teacher's under ``teacher.``."""
    state = dict(ours.state_dict())
    state.update({f"teacher.{k}": v for k, v in teacher.state_dict().items()})
    return state


def build_pair(
    release: ReleaseModules,
    segmenter: str,
    dataset: str = "gtea",
    num_classes: int = 11,
    seed: int = 0,
    options: Mapping[str, Any] | None = None,
    dtype: torch.dtype = torch.float32,
) -> ModelPair:
    """Build ours (``RelateSpec.from_options`` defaults plus ``options``) and the release's
    RGB, flow, joint, teacher segmenters and AFT at the same depth and width, then copy our
    (seeded, default-initialised) weights into the release's through the checked mapping."""
    from relate.models import RelateModel, RelateSpec, build_teacher

    if segmenter not in RELEASE_BACKBONES:
        raise RelateError(f"the release has no {segmenter!r} backbone; "
                          f"parity covers {', '.join(RELEASE_BACKBONES)}")
    try:
        spec = RelateSpec.from_options(segmenter, dataset, num_classes, **dict(options or {}))
        torch.manual_seed(seed)
        ours = RelateModel(spec)
        teacher = build_teacher(spec)
    except (KeyError, ValueError, TypeError) as error:
        raise RelateError(f"RELATE options for {segmenter}: "
                          f"{error.args[0] if error.args else error}") from None
    if spec.fusion != "aft" or spec.bridge != "none":
        raise RelateError("parity compares the release's default pipeline: fusion must be "
                          f"'aft' and bridge 'none' (got {spec.fusion!r}, {spec.bridge!r})")
    seg = release.segmenters
    args = (
        RELEASE_BACKBONES[segmenter], spec.depth - 1, spec.num_layers or 10, RELEASE_R,
        RELEASE_R, spec.feature_dim(),
    )
    tail = (num_classes, RELEASE_CHANNEL_MASK_RATE, "cpu")
    theirs: dict[str, nn.Module] = {
        "rgb": seg.RGBSegmenter(*args, spec.in_dim, *tail),
        "flow": seg.FlowSegmenter(*args, spec.in_dim, *tail),
        "joint": seg.JointSegmenter(*args, int(ours.fusion.out_dim), *tail),
        "teacher": seg.RefSegmenter(*args, spec.in_dim, *tail),
        "aft": release.alignment_fusion.AlignmentFusionTransformer(spec.feature_dim(), "cpu"),
    }
    our_state = _our_state(ours, teacher)
    their_state = _flat_state(theirs)
    mapping = key_mapping(our_state, segmenter)
    check_mapping(mapping, {k: v.shape for k, v in our_state.items()},
                  {k: v.shape for k, v in their_state.items()})
    copied = {mapping[k]: v.detach().clone() for k, v in our_state.items()}
    for prefix, module in theirs.items():
        module.load_state_dict(
            {k[len(prefix) + 1:]: v for k, v in copied.items() if k.startswith(prefix + ".")},
            strict=True,
        )
    for module in (ours, teacher, *theirs.values()):
        module.to(dtype)
    logger.info("%s: copied %d tensors (%d parameters) into the release's modules", segmenter,
                len(copied), sum(v.numel() for v in copied.values()))
    return ModelPair(segmenter, spec, ours, teacher, theirs, {k: v for k, v in mapping.items()
                                                               if v is not None})


# --------------------------------------------------------------------------- forward passes
def _release_forward(
    release: ReleaseModules, pair: ModelPair, x_rgb: torch.Tensor, x_flow: torch.Tensor
) -> dict[str, Any]:
    """The release's train.py/predict.py wiring: branches, AFT on last-stage features with
    stage-1 anchors, joint segmenter, teacher (no grad). Masks are (1, C, T) ones."""
    t = pair.theirs
    mask = x_rgb.new_ones(1, pair.spec.num_classes, x_rgb.shape[-1])
    with torch.no_grad():
        p_ref, f_ref = t["teacher"](x_flow, mask)
    p_rgb, f_rgb = t["rgb"](x_rgb, mask)
    p_flow, f_flow = t["flow"](x_rgb, mask)
    fused = t["aft"](f_rgb[-1], f_flow[-1], p_rgb[1], p_flow[1], mask)
    p_joint, f_joint = t["joint"](fused, mask)
    return dict(mask=mask, p_rgb=p_rgb, f_rgb=f_rgb, p_flow=p_flow, f_flow=f_flow, fused=fused,
                p_joint=p_joint, f_joint=f_joint, p_ref=p_ref, f_ref=f_ref)


def _release_loss(release: ReleaseModules, pair: ModelPair, out: Mapping[str, Any],
                  target: torch.Tensor) -> torch.Tensor:
    """The release's training loss with KD: seg(RGB) + seg(OF) + seg(J) + 0.5 * sum_s KD_s."""
    losses, c = release.losses, pair.spec.num_classes
    loss = losses.segmentation_loss(out["p_rgb"], c, target, out["mask"])
    loss = loss + losses.segmentation_loss(out["p_flow"], c, target, out["mask"])
    loss = loss + losses.segmentation_loss(out["p_joint"], c, target, out["mask"])
    kd = sum(losses.logit_distillation_loss(out["p_flow"][i], out["p_ref"][i],
                                            RELEASE_TEMPERATURE)
             for i in range(len(out["p_flow"])))
    return loss + RELEASE_GAMMA * kd


def _set_mode(pair: ModelPair, train: bool) -> None:
    pair.ours.train(train)
    for name, module in pair.theirs.items():
        module.train(train and name != "teacher")
    pair.teacher.eval()


def compare_eval(release: ReleaseModules, pair: ModelPair, x_rgb: torch.Tensor,
                 x_flow: torch.Tensor) -> tuple[list[ParityRow], dict[str, torch.Tensor]]:
    """Eval-mode rows: logits of every stage of every head, last-stage features, anchors, the
    AFT output, the teacher, KD/RKD/GCR. Also returns the release's last-stage (T, C)
    probabilities of each head for the PR comparison."""
    name = pair.segmenter
    _set_mode(pair, False)
    mask = x_rgb.new_ones(1, 1, x_rgb.shape[-1])
    with torch.no_grad():
        ours = pair.ours(x_rgb, mask)
        teacher = pair.teacher(x_flow, mask)
        theirs = _release_forward(release, pair, x_rgb, x_flow)
    rows: list[ParityRow] = []
    heads = (("p_RGB", ours.rgb, "p_rgb", "f_rgb"), ("p_OF", ours.flow, "p_flow", "f_flow"),
             ("p_J", ours.joint, "p_joint", "f_joint"), ("teacher", teacher, "p_ref", "f_ref"))
    for label, out, logits_key, features_key in heads:
        for s, logits in enumerate(out.logits):
            rows.append(_tensor_row(name, f"eval {label} logits, stage {s}", logits,
                                    theirs[logits_key][s]))
        rows.append(_tensor_row(name, f"eval {label} probabilities, last stage",
                                torch.softmax(out.logits[-1], 1),
                                torch.softmax(theirs[logits_key][-1], 1)))
        rows.append(_tensor_row(name, f"eval {label} features, last stage", out.features[-1],
                                theirs[features_key][-1]))
    for label, ours_anchor, key in (("RGB", ours.anchors_rgb, "p_rgb"),
                                    ("OF", ours.anchors_flow, "p_flow")):
        release_anchor = theirs[key][1].argmax(dim=1)
        runs = int((release_anchor[:, 1:] != release_anchor[:, :-1]).sum()) + 1
        rows.append(_count_row(name, f"eval anchors {label} (argmax of stage 1): frames differing",
                               int((ours_anchor != release_anchor).sum()),
                               f"release anchors: {runs} runs"))
    rows.append(_tensor_row(name, "eval AFT output (fused features)", ours.fused, theirs["fused"]))

    rows += compare_cmkd(release, pair, ours, teacher, theirs, mask)
    probabilities = {
        head: torch.softmax(theirs[key][-1], dim=1).squeeze(0).transpose(0, 1).contiguous()
        for head, key in (("rgb", "p_rgb"), ("flow", "p_flow"), ("joint", "p_joint"))
    }
    return rows, probabilities


def _release_cmkd(release: ReleaseModules, student: Mapping[str, Sequence[torch.Tensor]],
                  teacher: Mapping[str, Sequence[torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The release's KD (summed over stages, tau = 2), RKD and GCR (last-stage features), as
    train.py calls them; ``student``/``teacher`` hold per-stage ``logits`` and ``features``."""
    losses = release.losses
    return {
        "kd": sum(losses.logit_distillation_loss(s, t, RELEASE_TEMPERATURE)
                  for s, t in zip(student["logits"], teacher["logits"])),
        "rkd": losses.rkd_distance_loss(student["features"][-1], teacher["features"][-1]),
        "gcr": losses.global_covariance_relation_loss(student["features"][-1],
                                                      teacher["features"][-1]),
    }


def _our_cmkd(pair: ModelPair, student: Any, teacher: Any, mask: torch.Tensor
              ) -> dict[str, torch.Tensor]:
    """``RelateModel.distill_loss`` with ``distill`` set to each of kd, rkd, gcr in turn."""
    from relate.models import RelateOutput

    base_spec = pair.ours.spec
    output = RelateOutput(student, student, student, student.features[-1], mask[:, 0].long(),
                          mask[:, 0].long())  # distill_loss reads output.flow only
    values = {}
    try:
        for loss_name in ("kd", "rkd", "gcr"):
            pair.ours.spec = dataclasses.replace(base_spec, distill=loss_name)
            with torch.no_grad():
                values[loss_name] = pair.ours.distill_loss(output, teacher, mask)
    finally:
        pair.ours.spec = base_spec
    return values


def compare_cmkd(release: ReleaseModules, pair: ModelPair, ours: Any, teacher: Any,
                 theirs: Mapping[str, Any], mask: torch.Tensor) -> list[ParityRow]:
    """KD, RKD and GCR of the flow branch against the teacher, two ways: our loss code on the
    release's own tensors (isolates the loss), and end to end (each side on its own model's
    tensors).

    End to end, RKD gets a wider tolerance: the release's ``torch.cdist`` takes its
    matrix-multiply path (T > 25), so the T self-distances come out as rounding noise (up to
    about 1e-2) instead of 0 and are averaged in as "positive" distances. Feature differences
    of 1e-7 then move RKD by about 1e-5. The extra allowance is 4 x |RKD_float32 -
    RKD_float64| of the release's own function on its own tensors.
    """
    from relate.segmenters.base import SegmenterOutput

    name = pair.segmenter
    release_student = {"logits": list(theirs["p_flow"]), "features": list(theirs["f_flow"])}
    release_teacher = {"logits": list(theirs["p_ref"]), "features": list(theirs["f_ref"])}
    reference = _release_cmkd(release, release_student, release_teacher)
    isolated = _our_cmkd(pair, SegmenterOutput(**release_student),
                         SegmenterOutput(**release_teacher), mask)
    end_to_end = _our_cmkd(pair, ours.flow, teacher, mask)
    float64 = {k: [t.double() for t in v] for k, v in release_student.items()}
    float64_teacher = {k: [t.double() for t in v] for k, v in release_teacher.items()}
    rkd_rounding = float((reference["rkd"].double()
                          - _release_cmkd(release, float64, float64_teacher)["rkd"]).abs())
    rows = []
    for loss_name, value in reference.items():
        label = loss_name.upper()
        rows.append(_tensor_row(name, f"eval CMKD {label}, our loss on the release's tensors",
                                isolated[loss_name], value))
        row = _tensor_row(name, f"eval CMKD {label} vs teacher, end to end",
                          end_to_end[loss_name], value)
        if loss_name == "rkd":
            tolerance = row.tolerance + 4 * rkd_rounding
            row = dataclasses.replace(
                row, tolerance=tolerance, ok=row.max_abs_diff <= tolerance,
                note=f"{row.note}; + 4 x release float32 rounding {rkd_rounding:.2g} "
                     "(cdist self-distances)")
        rows.append(row)
    return rows


def compare_train(release: ReleaseModules, pair: ModelPair, x_rgb: torch.Tensor,
                  x_flow: torch.Tensor, target: torch.Tensor, seed: int) -> list[ParityRow]:
    """Train-mode rows with dropout on: the global RNG is re-seeded before each side's forward.

    The two sides draw dropout masks in the same order (RGB, flow, AFT (none), joint; channel
    masking first in each ASFormer), so equal masks follow exactly when the dropout rates and
    call order agree. Compares the joint logits, the AFT output, the KD training loss and every
    parameter's gradient.
    """
    name = pair.segmenter
    _set_mode(pair, True)
    mask = x_rgb.new_ones(1, 1, x_rgb.shape[-1])
    with torch.no_grad():
        teacher = pair.teacher(x_flow, mask)
    for module in (pair.ours, *pair.theirs.values()):
        module.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    ours = pair.ours(x_rgb, mask)
    ours_loss = pair.ours.loss(ours, target, mask, teacher)["total"]
    ours_loss.backward()
    torch.manual_seed(seed)
    theirs = _release_forward(release, pair, x_rgb, x_flow)
    their_loss = _release_loss(release, pair, theirs, target)
    their_loss.backward()
    _set_mode(pair, False)

    rows = [
        _tensor_row(name, "train p_J logits, last stage (seeded dropout)", ours.joint.logits[-1],
                    theirs["p_joint"][-1]),
        _tensor_row(name, "train AFT output (seeded dropout)", ours.fused, theirs["fused"]),
        _tensor_row(name, "train loss L_RGB+L_OF+L_J+0.5*KD", ours_loss, their_loss),
    ]
    our_params = dict(pair.ours.named_parameters())
    their_params = _flat_parameters(pair.theirs)
    worst, worst_key, scale = 0.0, "", 0.0
    for key, param in our_params.items():
        other = their_params[pair.mapping[key]]
        g1 = param.grad if param.grad is not None else torch.zeros_like(param)
        g2 = other.grad if other.grad is not None else torch.zeros_like(other)
        diff = float((g1.double() - g2.double()).abs().max())
        scale = max(scale, float(g2.abs().max()))
        if diff >= worst:
            worst, worst_key = diff, key
    tolerance = TENSOR_TOLERANCE * max(1.0, scale)
    rows.append(ParityRow(name, f"train gradients, all {len(our_params)} parameter tensors",
                          worst, tolerance, worst <= tolerance,
                          f"release max abs grad {scale:.3g}; worst {worst_key}"))
    for module in (pair.ours, *pair.theirs.values()):
        module.zero_grad(set_to_none=True)
    return rows


# --------------------------------------------------------------------------- refinement
def synthetic_pr_cases(seed: int, frames: int, num_classes: int
                       ) -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Two (T, C) float32 probability triples (RGB, OF, J): sharp random heads, and the same
    with frame 0 built so that the release's t = 0 wrap fires (joint uniform and least
    confident, unimodal heads confident)."""
    gen = torch.Generator().manual_seed(seed + 7)

    def head(scale: float) -> torch.Tensor:
        return torch.softmax(scale * torch.randn(frames, num_classes, generator=gen), dim=1)

    sharp = (head(4.0), head(3.0), head(2.5))
    wrap = tuple(p.clone() for p in sharp)
    wrap[2][0] = 1.0 / num_classes
    for p in wrap[:2]:
        p[0] = torch.softmax(8.0 * F.one_hot(torch.tensor(1), num_classes).float(), dim=0)
    return {"synthetic sharp heads": sharp, "synthetic, t = 0 wrap fires": wrap}


def compare_refinement(release: ReleaseModules, segmenter: str, label: str,
                       heads: Sequence[torch.Tensor]) -> list[ParityRow]:
    """Our ``refine_prediction`` with ``RELEASE_PR_OPTIONS`` vs ``refine_joint_prediction`` on
    the same (T, C) probabilities: refined values and argmax labels."""
    from relate.refine import RELEASE_PR_OPTIONS, refine_prediction

    rgb, flow, joint = (h.float() for h in heads)
    theirs = release.refinement.refine_joint_prediction(rgb, flow, joint, RELEASE_DELTA)
    ours = refine_prediction(rgb, flow, joint, RELEASE_DELTA, **RELEASE_PR_OPTIONS)
    changed = int((theirs.argmax(1) != joint.argmax(1)).sum())
    rows_changed = int((theirs != joint).any(dim=1).sum())
    wrap = bool((theirs[0] != joint[0]).any())
    note = (f"release changed {rows_changed} rows, {changed} labels of T={joint.shape[0]}; "
            f"frame 0 {'replaced' if wrap else 'kept'}")
    return [
        _tensor_row(segmenter, f"PR refined values ({label})", ours, theirs, note),
        _count_row(segmenter, f"PR labels: frames differing ({label})",
                   int((ours.argmax(1) != theirs.argmax(1)).sum())),
    ]


# --------------------------------------------------------------------------- evaluator
@dataclass(frozen=True)
class EvalSplit:
    """A synthetic split: integer label arrays, class names and the background id."""

    layout: str
    predictions: list[np.ndarray]
    ground_truths: list[np.ndarray]
    class_names: list[str]
    background: int | None


def synthetic_split(layout: str, seed: int, num_classes: int = 11) -> EvalSplit:
    """Ground truths and imperfect predictions that exercise the release's evaluator quirks:
    jittered boundaries, short spurious fragments (some of classes absent from the video),
    swapped labels, an exact IoU = 0.5 tie, an all-background prediction and GT (GTEA layout),
    and predictions shorter and longer than their GT (truncation)."""
    n_videos, bg_name = EVALUATOR_SPLITS[layout]
    rng = np.random.default_rng(seed + sum(map(ord, layout)))
    names = [f"action{i}" for i in range(num_classes)]
    background = None
    if bg_name is not None:
        background = 0
        names[0] = bg_name
    actions = np.arange(1 if background is not None else 0, num_classes)
    predictions, truths = [], []
    for v in range(n_videos):
        used = rng.choice(actions, size=min(5, actions.size), replace=False)
        parts: list[np.ndarray] = []
        if layout == "breakfast":
            parts.append(np.full(rng.integers(20, 60), background))
        for _ in range(rng.integers(4, 12)):
            parts.append(np.full(rng.integers(5, 120), rng.choice(used)))
            if layout == "gtea" and rng.random() < 0.5:
                parts.append(np.full(rng.integers(3, 25), background))
        if layout == "breakfast":
            parts.append(np.full(rng.integers(20, 60), background))
        gt = np.concatenate(parts).astype(np.int64)
        pred = gt.copy()
        changes = np.flatnonzero(np.diff(gt)) + 1
        for c in changes:  # boundary jitter
            shift = int(rng.integers(-4, 5))
            lo, hi = sorted((c, c + shift))
            lo, hi = max(lo, 0), min(hi, gt.size)
            pred[lo:hi] = gt[c - 1] if shift > 0 else gt[min(c, gt.size - 1)]
        for _ in range(rng.integers(1, 6)):  # short spurious fragments
            start = int(rng.integers(0, gt.size - 6))
            pred[start:start + int(rng.integers(1, 6))] = rng.choice(actions)
        if rng.random() < 0.5 and changes.size:  # one swapped segment label
            c = int(rng.choice(changes))
            end = changes[changes > c][0] if (changes > c).any() else gt.size
            pred[c:end] = rng.choice(actions)
        truths.append(gt)
        predictions.append(pred)
    a, b = (int(x) for x in actions[:2])
    truths.append(np.array([a] * 10 + [b] * 10))  # exact IoU 0.5 tie for the first segment
    predictions.append(np.array([a] * 5 + [b] * 15))
    predictions[0] = predictions[0][:-20]  # shorter prediction: the release cuts the GT
    predictions[1] = np.concatenate([predictions[1], predictions[1][-5:]])  # longer prediction
    if background is not None and layout == "gtea":
        predictions[2] = np.full_like(truths[2], background)  # all background: F1 = 0
        truths[3] = np.full_like(truths[3], background)  # no GT segment: predictions skipped
    return EvalSplit(layout, predictions, truths, names, background)


def release_scores(release: ReleaseModules, split: EvalSplit) -> dict[str, float]:
    """The split scored with the release's metric functions and ``scripts/evaluate.py``'s
    aggregation (per-video sums in order, cut to the shorter length, F1 x 100 / n)."""
    metrics = release.metrics
    background = split.background if split.background is not None else -1
    f1 = {0.10: 0.0, 0.25: 0.0, 0.50: 0.0}
    edit = acc = 0.0
    for pred, gt in zip(split.predictions, split.ground_truths):
        length = min(pred.size, gt.size)
        p = torch.as_tensor(pred[:length], dtype=torch.long)
        g = torch.as_tensor(gt[:length], dtype=torch.long)
        for k in f1:
            f1[k] += metrics.f_score(g, p, k, background)
        edit += metrics.edit_score(g, p, background)
        acc += metrics.frame_accuracy(p, g, ignore_index=-999)
    n = len(split.predictions)
    return {"f1@10": 100 * f1[0.10] / n, "f1@25": 100 * f1[0.25] / n,
            "f1@50": 100 * f1[0.50] / n, "edit": edit / n, "acc": acc / n}


def release_evaluate_printout(release: ReleaseModules, split: EvalSplit) -> dict[str, str]:
    """Run the release's ``scripts/evaluate.py`` (a subprocess) on ``split`` written in the
    MS-TCN layout; returns its printed values (one decimal) by metric key."""
    with tempfile.TemporaryDirectory(prefix="relate-parity-") as tmp:
        root = Path(tmp) / "data" / split.layout
        (root / "groundTruth").mkdir(parents=True)
        (root / "splits").mkdir()
        pred_dir = Path(tmp) / "pred"
        pred_dir.mkdir()
        (root / "mapping.txt").write_text(
            "".join(f"{i} {n}\n" for i, n in enumerate(split.class_names)))
        videos = [f"video{v:02d}" for v in range(len(split.predictions))]
        (root / "splits" / "test.split1.bundle").write_text("".join(f"{v}.txt\n" for v in videos))
        for vid, pred, gt in zip(videos, split.predictions, split.ground_truths):
            (root / "groundTruth" / f"{vid}.txt").write_text(
                "".join(f"{split.class_names[c]}\n" for c in gt))
            (pred_dir / vid).write_text("### Frame level recognition: ###\n"
                                        + " ".join(split.class_names[c] for c in pred))
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        command = [sys.executable, str(release.path / RELEASE_EVALUATE_SCRIPT), "--data-root",
                   str(Path(tmp) / "data"), "--dataset", split.layout, "--split", "1",
                   "--pred-dir", str(pred_dir)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env,
                              cwd=tmp)
    if done.returncode != 0:
        raise RelateError(f"{release.path / RELEASE_EVALUATE_SCRIPT} failed: "
                          f"{(done.stderr.strip().splitlines() or ['no stderr'])[-1]}")
    printed = {}
    for line in done.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in PRINTED_KEYS:
            printed[PRINTED_KEYS[key.strip()]] = value.strip()
    if set(printed) != set(METRIC_ORDER):
        raise RelateError(f"unexpected output from {RELEASE_EVALUATE_SCRIPT}: {done.stdout!r}")
    return printed


def compare_evaluator(release: ReleaseModules, seed: int, run_script: bool = True
                      ) -> list[ParityRow]:
    """``score_split(..., convention="relate_release")`` vs the release's evaluator on
    synthetic GTEA-, 50Salads- and Breakfast-like splits: exact scores (in-process) and the
    one-decimal printout of ``scripts/evaluate.py``."""
    from relate.metrics import score_split

    rows = []
    for layout in EVALUATOR_SPLITS:
        split = synthetic_split(layout, seed)
        background = [split.background] if split.background is not None else []
        ours = score_split(split.predictions, split.ground_truths, background, "relate_release")
        theirs = release_scores(release, split)
        diff = max(abs(ours[k] - theirs[k]) for k in METRIC_ORDER)
        values = ", ".join(f"{theirs[k]:.4f}" for k in METRIC_ORDER)
        cut = [min(p.size, g.size) for p, g in zip(split.predictions, split.ground_truths)]
        standard = score_split([p[:n] for p, n in zip(split.predictions, cut)],
                               [g[:n] for g, n in zip(split.ground_truths, cut)], background)
        gap = max(abs(standard[k] - theirs[k]) for k in METRIC_ORDER)
        label = f"{layout}-like, {len(split.predictions)} videos"
        rows.append(ParityRow("-", f"evaluator relate_release ({label})", diff, SCORE_TOLERANCE,
                              diff <= SCORE_TOLERANCE,
                              f"release F1@10/25/50, Edit, Acc = {values}; the standard "
                              f"convention differs by up to {gap:.2f}"))
        if run_script:
            printed = release_evaluate_printout(release, split)
            differing = [k for k in METRIC_ORDER if f"{ours[k]:.1f}" != printed[k]]
            rows.append(_count_row(
                "-", f"scripts/evaluate.py printout ({label}): values differing",
                len(differing), "printed " + ", ".join(printed[k] for k in METRIC_ORDER)
                + (f"; differ: {', '.join(differing)}" if differing else "")))
    return rows


# --------------------------------------------------------------------------- driver
def options_for(segmenter: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options of one segmenter: plain keys apply to all, ``<segmenter>:key`` to one.

    Raises:
        RelateError: a prefix that is not a released segmenter.
    """
    chosen: dict[str, Any] = {}
    for key, value in (options or {}).items():
        prefix, sep, rest = key.partition(":")
        if not sep:
            chosen[key] = value
        elif prefix not in RELEASE_BACKBONES:
            raise RelateError(f"option {key!r}: unknown segmenter prefix {prefix!r}; "
                              f"use {', '.join(RELEASE_BACKBONES)}")
        elif prefix == segmenter:
            chosen[rest] = value
    return chosen


def run_parity(
    release_path: str | Path,
    segmenters: Sequence[str] = ("mstcn", "asformer"),
    frames: int = 300,
    seed: int = 0,
    dataset: str = "gtea",
    num_classes: int = 11,
    options: Mapping[str, Any] | None = None,
    train: bool = True,
    evaluator: bool = True,
    dtype: str = "float32",
) -> ParityReport:
    """Compare this suite with the release at ``release_path`` (see the module docstring).

    Args:
        release_path: a checkout of github.com/Hsj303/RELATE.
        segmenters: any of ``mstcn``, ``asformer``.
        frames: T of the random input (B = 1).
        seed: seeds weights, inputs, targets, dropout and the synthetic PR/evaluator data.
        dataset, num_classes: passed to ``RelateSpec.from_options`` (release defaults
            otherwise: 3 stages, 10 layers, d = 64, 1024-d input).
        options: extra ``RelateSpec.from_options`` options for our side (the release always
            runs its defaults); ``asformer:segmenter.channel_mask_rate`` applies to one
            segmenter only (see :func:`options_for`).
        train: add the seeded train-mode rows (dropout on, loss, gradients).
        evaluator: add the evaluator rows (not per segmenter).
        dtype: ``float32`` (as the release runs) or ``float64`` (both sides in double
            precision: what is left is then rounding, not a difference in the computation).

    Raises:
        RelateError: bad ``release_path`` (``DataError``), unknown segmenter, bad options,
            key mapping not a bijection (``KeyMappingError``).
    """
    if frames < 2:
        raise RelateError(f"--frames must be >= 2, got {frames}")
    unknown = [s for s in segmenters if s not in RELEASE_BACKBONES]
    if unknown or not segmenters:
        raise RelateError(f"unknown segmenter(s) {', '.join(unknown) or '(none)'}; the release "
                          f"covers {', '.join(RELEASE_BACKBONES)}")
    if dtype not in DTYPES:
        raise RelateError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    torch_dtype = DTYPES[dtype]
    for segmenter in segmenters:
        options_for(segmenter, options)  # bad prefixes fail before any work
    release = load_release(release_path)
    rows: list[ParityRow] = []
    for number, segmenter in enumerate(segmenters):
        logger.info("parity: %s (T = %d, seed %d)", segmenter, frames, seed)
        pair = build_pair(release, segmenter, dataset, num_classes, seed + number,
                          options_for(segmenter, options),
                          torch_dtype)
        gen = torch.Generator().manual_seed(seed + 1000 + number)
        x_rgb = torch.randn(1, pair.spec.in_dim, frames, generator=gen).to(torch_dtype)
        x_flow = torch.randn(1, pair.spec.in_dim, frames, generator=gen).to(torch_dtype)
        target = torch.randint(0, num_classes, (1, frames), generator=gen)
        eval_rows, probabilities = compare_eval(release, pair, x_rgb, x_flow)
        rows += eval_rows
        rows += compare_refinement(release, segmenter, "model probabilities",
                                   (probabilities["rgb"], probabilities["flow"],
                                    probabilities["joint"]))
        if train:
            rows += compare_train(release, pair, x_rgb, x_flow, target, seed + 2000 + number)
    for label, heads in synthetic_pr_cases(seed, frames, num_classes).items():
        rows += compare_refinement(release, "-", label, heads)
    if evaluator:
        rows += compare_evaluator(release, seed)
    settings = {
        "segmenters": list(segmenters), "frames": frames, "seed": seed, "dataset": dataset,
        "num_classes": num_classes, "options": dict(options or {}), "batch": 1,
        "dtype": dtype, "torch": torch.__version__,
        "tensor_tolerance": f"{TENSOR_TOLERANCE} * max(1, max abs of release)",
        "score_tolerance": SCORE_TOLERANCE,
    }
    return ParityReport(rows, str(release.path), release.commit, settings)
