"""The real stages of one video: decode, TV-L1, I3D, segmenters, the RELATE model and PR.

:mod:`flow_extraction`, torch and the models are imported lazily, inside each stage.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from relate.tools.latency.harness import Part, StageTask, sample_slice, slice_len

logger = logging.getLogger("relate.tools.latency")


@dataclass(frozen=True)
class StageOptions:
    """Settings of the real stages.

    Attributes:
        segmenter: mstcn, asformer or fact (randomly initialised: timing only).
        dataset: selects the segmenter's settings and the class count.
        device: torch device of I3D, segmenters and the RELATE model (decode, TV-L1 and PR
            always run on the CPU).
        sample_windows: time I3D on this many evenly spaced windows and scale linearly.
        sample_pairs: time TV-L1 on this many consecutive frame pairs and scale linearly.
        i3d_batch_size: windows per I3D forward pass.
        threads: OpenCV threads for TV-L1 (None = OpenCV's setting).
        frame_size: (H, W) to resize decoded frames to, inside the timed decode stage.
        seed: seeds model initialisation and the segmenters' random input features.
    """

    segmenter: str = "mstcn"
    dataset: str = "gtea"
    device: str = "cpu"
    sample_windows: int | None = None
    sample_pairs: int | None = None
    i3d_batch_size: int = 8
    threads: int | None = None
    frame_size: tuple[int, int] | None = None
    seed: int = 0


RANDOM_WEIGHTS = "random initialisation (timing only: cost does not depend on weight values)"


class VideoStages:
    """Provider of the real stages for one video file (see the module docstring)."""

    def __init__(self, video: Any, options: StageOptions) -> None:
        self.video = video
        self.options = options

    def __call__(self, key: str, outputs: Mapping[str, Any]) -> StageTask:
        return getattr(self, f"_{key}")(outputs)

    # -- helpers
    def _torch_device(self) -> Any:
        import torch

        return torch.device(self.options.device)

    def _num_classes(self) -> int:
        from relate.data.registry import get_dataset

        return get_dataset(self.options.dataset).n_classes

    def _features(self, rows: int, frames: int) -> Any:
        rng = np.random.default_rng(self.options.seed)
        return rng.standard_normal((rows, frames), dtype=np.float32)  # (D, T)

    # -- stages
    def _decode(self, outputs: Mapping[str, Any]) -> StageTask:
        from flow_extraction.video import read_frames

        size = self.options.frame_size
        info: dict[str, Any] = {
            "video": str(self.video),
            "frame_size": list(size) if size else "native",
        }

        def decode(_: Any) -> np.ndarray:
            frames = read_frames(self.video)  # (T, H, W, 3) uint8
            if size is not None and frames.shape[1:3] != size:
                import cv2

                frames = np.stack(
                    [
                        cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
                        for f in frames
                    ]
                )
            info["decoded_shape"] = list(frames.shape)  # (T, H, W, 3)
            return frames

        return StageTask("decode", "cpu", (Part("read_frames", decode),), info)

    def _tvl1(self, outputs: Mapping[str, Any]) -> StageTask:
        from flow_extraction.tvl1 import TVL1_PARAMS, compute_flow

        frames = outputs["decode"]
        pairs = len(frames) - 1
        if pairs < 1:
            raise ValueError("TV-L1 needs at least 2 frames")
        count = min(self.options.sample_pairs or pairs, pairs)
        start = (pairs - count) // 2
        clip = frames[start : start + count + 1]
        part = Part(
            "tvl1",
            lambda _: compute_flow(clip, threads=self.options.threads),
            count,
            pairs,
            "pairs",
        )
        info = {
            "frames_hw": list(frames.shape[1:3]),
            "params": dict(TVL1_PARAMS),
            "pairs_timed": [start, start + count],
            "threads": self.options.threads,
        }
        return StageTask("tvl1", "cpu", (part,), info)

    def _i3d(self, stream: str, inputs: np.ndarray, frames: int) -> StageTask:
        import torch

        from flow_extraction import features

        model, weights = _load_i3d(stream, self.options.seed)
        model = model.to(self._torch_device()).eval()
        prep = features.preprocess_rgb if stream == "rgb" else features.preprocess_flow
        centres = sample_slice(frames, self.options.sample_windows)

        def network(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return features.stream_features(
                    x,
                    model,
                    kind=stream,
                    device=self.options.device,
                    batch_size=self.options.i3d_batch_size,
                    frames=None if slice_len(centres, frames) == frames else centres,
                )

        parts = (
            Part("preprocess", lambda _: prep(inputs)),
            Part("network", network, slice_len(centres, frames), frames, "windows"),
        )
        info = {
            "weights": weights,
            "batch_size": self.options.i3d_batch_size,
            "window": 21,
            "dtype": "float32",
            "windows_timed": [centres.start, centres.stop, centres.step],
            "input_shape": list(inputs.shape),
        }
        return StageTask(f"i3d_{stream}", self.options.device, parts, info)

    def _i3d_rgb(self, outputs: Mapping[str, Any]) -> StageTask:
        frames = outputs["decode"]
        return self._i3d("rgb", frames, len(frames))

    def _i3d_flow(self, outputs: Mapping[str, Any]) -> StageTask:
        frames, flow = len(outputs["decode"]), outputs["tvl1"]
        task = self._i3d("flow", _tile(flow, frames - 1), frames)
        if len(flow) < frames - 1:
            note = (
                f"input: the {len(flow)} timed TV-L1 pairs repeated to {frames - 1} pairs "
                "(I3D cost does not depend on the values)"
            )
            task = StageTask(task.stage, task.device, task.parts, {**task.info, "note": note})
        return task

    def _segmenter(self, in_dim: int, outputs: Mapping[str, Any]) -> StageTask:
        import torch

        from relate import segmenters
        from relate.blocks.relate_model import count_parameters

        frames = len(outputs["decode"])
        torch.manual_seed(self.options.seed)
        model = (
            segmenters.build(
                self.options.segmenter, in_dim, self._num_classes(), self.options.dataset
            )
            .to(self._torch_device())
            .eval()
        )
        x_np, device = self._features(in_dim, frames), self._torch_device()

        def forward(_: Any) -> np.ndarray:
            with torch.inference_mode():
                x = torch.from_numpy(x_np).unsqueeze(0).to(device)  # (1, D, T)
                mask = torch.ones(1, 1, frames, device=device)
                return model.probabilities(model(x, mask))[0].float().cpu().numpy()  # (C, T)

        info = {
            "segmenter": self.options.segmenter,
            "in_dim": in_dim,
            "frames": frames,
            "num_classes": self._num_classes(),
            "parameters": count_parameters(model),
            "weights": RANDOM_WEIGHTS,
            "input": "seeded random features of shape (D, T)",
        }
        return StageTask("segmenter", self.options.device, (Part("forward", forward),), info)

    def _segmenter_1024(self, outputs: Mapping[str, Any]) -> StageTask:
        return self._segmenter(1024, outputs)

    def _segmenter_2048(self, outputs: Mapping[str, Any]) -> StageTask:
        return self._segmenter(2048, outputs)

    def _relate_model(self, outputs: Mapping[str, Any]) -> StageTask:
        import torch

        from relate.blocks.relate_model import RelateModel, RelateSpec, count_parameters

        frames = len(outputs["decode"])
        torch.manual_seed(self.options.seed)
        spec = RelateSpec(self.options.segmenter, self.options.dataset, self._num_classes())
        model = RelateModel(spec).to(self._torch_device()).eval()
        x_np, device = self._features(spec.in_dim, frames), self._torch_device()

        def forward(_: Any) -> dict[str, np.ndarray]:
            with torch.inference_mode():
                x = torch.from_numpy(x_np).unsqueeze(0).to(device)  # (1, 1024, T)
                mask = torch.ones(1, 1, frames, device=device)
                probs = model.probabilities(model(x, mask))
                return {k: v[0].float().cpu().numpy().T for k, v in probs.items()}  # (T, C)

        info = {
            "segmenter": self.options.segmenter,
            "in_dim": spec.in_dim,
            "frames": frames,
            "num_classes": spec.num_classes,
            "parameters": count_parameters(model),
            "spec": "RelateSpec defaults (the authors' release); RGB rows only at inference",
            "weights": RANDOM_WEIGHTS,
            "input": "seeded random features of shape (1024, T)",
        }
        return StageTask("segmenter", self.options.device, (Part("forward", forward),), info)

    def _pr(self, outputs: Mapping[str, Any]) -> StageTask:
        from relate.blocks.refine import DEFAULT_DELTA, refine_prediction, resolve_pr_options

        probs = outputs["relate_model"]

        def refine(_: Any) -> np.ndarray:
            return refine_prediction(
                probs["rgb"], probs["flow"], probs["joint"], delta=DEFAULT_DELTA
            )  # (T, C)

        info = {
            "delta": DEFAULT_DELTA,
            "options": resolve_pr_options({}),
            "input": "the relate_model stage's (T, C) probabilities",
        }
        return StageTask("pr", "cpu", (Part("refine", refine),), info)


def _tile(flow: np.ndarray, pairs: int) -> np.ndarray:
    """``flow`` (K, H, W, 2) repeated along time to ``pairs`` entries."""
    if len(flow) == pairs:
        return flow
    return flow[np.arange(pairs) % len(flow)]


def _load_i3d(stream: str, seed: int) -> tuple[Any, dict[str, Any]]:
    """The I3D stream via ``load_i3d``; a randomly initialised one if its weights are absent."""
    import dataclasses

    import torch

    from flow_extraction.i3d import InceptionI3d
    from relate.errors import RelateError

    try:
        from flow_extraction.i3d_weights import load_i3d

        model, info = load_i3d(stream)  # type: ignore[arg-type]
        weights = (
            dataclasses.asdict(info) if dataclasses.is_dataclass(info) else {"info": repr(info)}
        )
        return model, {k: str(v) if v is not None else None for k, v in weights.items()}
    except (ImportError, OSError, RelateError) as error:
        logger.warning("I3D %s weights unavailable (%s); timing a random-weight I3D", stream, error)
        torch.manual_seed(seed)
        model = InceptionI3d(3 if stream == "rgb" else 2)
        return model, {"source": RANDOM_WEIGHTS, "reason": str(error)}
