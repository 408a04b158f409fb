"""Video decoding, the extractor's resize/crop, TV-L1 flow, the flow cache and `relate flow`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from flow_extraction import video as video_module
from flow_extraction.flow_io import (
    cache_key,
    cache_matches,
    flow_meta,
    read_flow,
    read_flow_meta,
    write_flow,
)
from flow_extraction.tvl1 import (
    TVL1_PARAMS,
    compute_flow,
    create_tvl1,
    iter_flow,
    opencv_threads,
)
from flow_extraction.video import (
    decode_opencv,
    decode_pyav,
    iter_frames,
    read_frames,
    resize_short_side,
    resize_short_side_and_center_crop,
    resized_shape,
    write_video,
)
from relate.cli import main
from relate.errors import DataError


def smooth_texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W) uint8 smooth random texture (good for optical flow)."""
    rng = np.random.default_rng(seed)
    noise = (rng.random((height, width)) * 255).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 2 - 127, 0, 255).astype(np.uint8)


def translated_frames(n: int, height: int, width: int, dx: int, dy: int) -> np.ndarray:
    """(n, H, W, 3) uint8 frames of one texture whose content moves by (dx, dy) per frame."""
    pad = 8 + n * max(abs(dx), abs(dy))
    big = smooth_texture(height + 2 * pad, width + 2 * pad)
    frames = [
        big[pad - t * dy : pad - t * dy + height, pad - t * dx : pad - t * dx + width]
        for t in range(n)
    ]
    return np.repeat(np.stack(frames)[..., None], 3, axis=3)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """(6, 48, 64, 3) uint8 colour frames with some motion."""
    gray = translated_frames(6, 48, 64, dx=1, dy=0)[..., 0]
    colour = np.stack([gray, 255 - gray, np.roll(gray, 5, axis=2)], axis=-1)
    return colour


@pytest.fixture(scope="module")
def video_files(tmp_path_factory, clip) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    paths = {}
    for kind in ("avi", "mp4"):
        paths[kind] = folder / f"clip.{kind}"
        write_video(paths[kind], clip, fps=15)
    return paths


# --- decoding -------------------------------------------------------------------------------


def test_lossless_avi_decodes_exactly_with_opencv(video_files, clip):
    frames = read_frames(video_files["avi"])
    assert frames.dtype == np.uint8 and frames.shape == clip.shape
    np.testing.assert_array_equal(frames, clip)


def test_mp4_decodes_close_and_both_decoders_agree(video_files, clip):
    by_opencv = decode_opencv(video_files["mp4"])
    by_pyav = decode_pyav(video_files["mp4"])
    assert by_opencv is not None
    assert by_opencv.shape == by_pyav.shape == clip.shape
    assert np.abs(by_opencv.astype(int) - by_pyav.astype(int)).max() <= 2
    # lossy H.264 + yuv420p, but the picture is the same one (RGB order included)
    assert np.abs(by_opencv.astype(float) - clip).mean() < 12
    assert np.corrcoef(by_opencv[..., 1].ravel(), clip[..., 1].ravel())[0, 1] > 0.9


def test_pyav_fallback_when_opencv_cannot_open(video_files, clip, monkeypatch):
    class ClosedCapture:
        def __init__(self, *args):
            pass

        def isOpened(self):
            return False

        def release(self):
            pass

    monkeypatch.setattr(video_module.cv2, "VideoCapture", ClosedCapture)
    frames = read_frames(video_files["avi"], max_frames=4)
    np.testing.assert_array_equal(frames, clip[:4])


def test_iter_frames_streams_the_same_frames_and_fails_early(video_files, tmp_path):
    streamed = list(iter_frames(video_files["mp4"]))
    np.testing.assert_array_equal(np.stack(streamed), read_frames(video_files["mp4"]))
    with pytest.raises(DataError):
        iter_frames(tmp_path / "missing.avi")  # raises on the call, before iterating


def test_max_frames(video_files):
    assert read_frames(video_files["mp4"], max_frames=2).shape[0] == 2
    assert read_frames(video_files["avi"], max_frames=100).shape[0] == 6


@pytest.mark.parametrize("content", [b"", b"this is not a video" * 50])
def test_corrupt_file_is_a_data_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_frames(path)
    assert str(path) in str(info.value)


def test_truncated_mp4_is_a_data_error(tmp_path, video_files):
    path = tmp_path / "cut.mp4"
    path.write_bytes(video_files["mp4"].read_bytes()[:300])
    with pytest.raises(DataError, match="cut.mp4"):
        read_frames(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_frames(tmp_path / "nope.mp4")


# --- resize + centre crop -------------------------------------------------------------------


def test_resized_shape_follows_the_extractor():
    assert resized_shape(240, 320, 256) == (256, 341)
    assert resized_shape(320, 240, 256) == (341, 256)
    assert resized_shape(1080, 1920, 256) == (256, 455)
    assert resized_shape(112, 112, 256) == (256, 256)


@pytest.mark.parametrize("shape", [(3, 240, 320, 3), (2, 320, 240, 3), (2, 112, 112, 3)])
def test_resize_crop_shapes_uint8(shape):
    frames = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = resize_short_side_and_center_crop(frames)
    assert out.shape == (shape[0], 224, 224, 3) and out.dtype == np.uint8


def test_flow_values_are_not_rescaled():
    flow = np.empty((2, 120, 160, 2), dtype=np.float32)
    flow[..., 0], flow[..., 1] = 7.5, -3.25  # upsampled x2.13: the values must stay
    out = resize_short_side_and_center_crop(flow)
    assert out.shape == (2, 224, 224, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out[..., 0], 7.5, atol=1e-5)
    np.testing.assert_allclose(out[..., 1], -3.25, atol=1e-5)


def test_centre_crop_takes_the_middle():
    frames = np.zeros((1, 256, 400, 1), dtype=np.uint8)  # short side already 256: no resize
    frames[0, :, 200] = 255  # a column at x = 200 = the centre
    out = resize_short_side_and_center_crop(frames)
    assert out.shape == (1, 224, 224, 1)
    assert np.flatnonzero(out[0, 0, :, 0]).tolist() == [200 - (200 - 112)]


def test_resize_short_side_then_crop_equals_crop_of_the_original():
    """Storing flow at short side N loses nothing the N-resize + crop would use."""
    flow = np.random.default_rng(2).standard_normal((3, 48, 64, 2)).astype(np.float32)
    stored = resize_short_side(flow, 32)
    assert stored.shape == (3, 32, 43, 2)
    assert resize_short_side(stored, 32) is stored  # already there: no-op
    np.testing.assert_array_equal(
        resize_short_side_and_center_crop(stored, 32, 24),
        resize_short_side_and_center_crop(flow, 32, 24),
    )


def test_resize_rejects_bad_input():
    with pytest.raises(ValueError):
        resize_short_side_and_center_crop(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        resize_short_side_and_center_crop(np.zeros((1, 8, 8, 3), np.uint8), short_side=100)


# --- TV-L1 ----------------------------------------------------------------------------------


def test_tvl1_params_are_pinned_on_the_solver():
    assert TVL1_PARAMS["tau"] == 0.25 and TVL1_PARAMS["lambda"] == 0.15
    assert TVL1_PARAMS["nscales"] == 5 and TVL1_PARAMS["median_filtering"] == 5
    solver = create_tvl1()
    got = {
        "tau": solver.getTau(),
        "lambda": solver.getLambda(),
        "theta": solver.getTheta(),
        "nscales": solver.getScalesNumber(),
        "warps": solver.getWarpingsNumber(),
        "epsilon": solver.getEpsilon(),
        "inner_iterations": solver.getInnerIterations(),
        "outer_iterations": solver.getOuterIterations(),
        "scale_step": solver.getScaleStep(),
        "gamma": solver.getGamma(),
        "median_filtering": solver.getMedianFiltering(),
    }
    assert got == pytest.approx(dict(TVL1_PARAMS))
    assert solver.getUseInitialFlow() is False


@pytest.mark.parametrize("dx, dy", [(2, -1), (-3, 0)])
def test_tvl1_recovers_a_known_shift(dx, dy):
    frames = translated_frames(3, 64, 64, dx, dy)
    flow = compute_flow(frames, threads=1)
    assert flow.shape == (2, 64, 64, 2) and flow.dtype == np.float32
    interior = flow[:, 12:-12, 12:-12]
    mean = interior.reshape(-1, 2).mean(axis=0)
    assert mean == pytest.approx([dx, dy], abs=0.25)


def test_tvl1_is_bit_identical_across_thread_counts():
    frames = translated_frames(3, 40, 48, 2, 1)
    before = cv2.getNumThreads()
    one = compute_flow(frames, threads=1)
    two = compute_flow(frames, threads=2)
    assert cv2.getNumThreads() == before  # restored
    np.testing.assert_array_equal(one, two)


def test_opencv_threads_restores_on_error():
    before = cv2.getNumThreads()
    with pytest.raises(RuntimeError), opencv_threads(1):
        assert cv2.getNumThreads() == 1
        raise RuntimeError
    assert cv2.getNumThreads() == before


def test_iter_flow_streams_the_same_flow():
    frames = translated_frames(4, 32, 40, 1, 1)
    np.testing.assert_array_equal(np.stack(list(iter_flow(iter(frames)))), compute_flow(frames))
    with pytest.raises(ValueError, match="frame 1"):
        list(iter_flow([frames[0], frames[1, :16]]))


def test_compute_flow_rejects_bad_frames():
    with pytest.raises(ValueError):
        compute_flow(np.zeros((1, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError):
        compute_flow(np.zeros((2, 8, 8, 3), np.float32))


# --- flow cache -----------------------------------------------------------------------------


def test_flow_cache_round_trip(tmp_path, video_files):
    flow = np.random.default_rng(1).standard_normal((5, 6, 7, 2)).astype(np.float32)
    path = tmp_path / "sub" / "clip.npz"
    write_flow(path, flow, flow_meta(video_files["avi"], 6))
    got, meta = read_flow(path)
    np.testing.assert_array_equal(got, flow)
    assert got.dtype == np.float32
    assert meta["tvl1_params"] == dict(TVL1_PARAMS)
    assert meta["opencv_version"] == cv2.__version__
    assert meta["frames"] == 6 and meta["source"] == str(video_files["avi"])
    assert meta["shape"] == [5, 6, 7, 2]
    assert [p.name for p in path.parent.iterdir()] == ["clip.npz"]  # no temp files left
    assert cache_matches(path, cache_key(video_files["avi"]))
    assert not cache_matches(path, cache_key(video_files["mp4"]))  # other source
    assert not cache_matches(path, {**cache_key(video_files["avi"]), "opencv_version": "4.2"})
    assert not cache_matches(tmp_path / "missing.npz", cache_key(video_files["avi"]))


def test_read_flow_rejects_garbage(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"garbage")
    with pytest.raises(DataError, match="bad.npz"):
        read_flow(path)
    assert read_flow_meta(path) is None
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(DataError, match="not a flow cache"):
        read_flow(other)


# --- relate flow ----------------------------------------------------------------------------


def test_flow_cli_computes_skips_when_cached_and_recomputes_stale(tmp_path, video_files, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.avi").write_bytes(video_files["avi"].read_bytes())
    out = tmp_path / "flow"
    args = ["flow", "--videos", str(videos), "--out", str(out), "--threads", "1"]
    args += ["--max-frames", "3"]
    assert main(args) == 0
    assert "1 computed, 0 already cached" in capsys.readouterr().out
    flow, meta = read_flow(out / "a.npz")
    assert flow.shape == (2, 48, 64, 2) and meta["frames"] == 3 and meta["max_frames"] == 3
    first = (out / "a.npz").stat().st_mtime_ns

    assert main(args) == 0
    assert "0 computed, 1 already cached" in capsys.readouterr().out
    assert (out / "a.npz").stat().st_mtime_ns == first

    stale = {**meta, "opencv_version": "0.0-other"}
    write_flow(out / "a.npz", flow, stale)
    assert main(args) == 0
    assert "1 computed, 0 already cached" in capsys.readouterr().out
    assert read_flow(out / "a.npz")[1]["opencv_version"] == cv2.__version__


def test_flow_cli_short_side_storage(tmp_path, video_files, clip):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.avi").write_bytes(video_files["avi"].read_bytes())
    out = tmp_path / "flow"
    args = ["flow", "--videos", str(videos), "--out", str(out), "--short-side", "32"]
    assert main(args) == 0
    stored, meta = read_flow(out / "a.npz")
    assert stored.shape == (5, 32, 43, 2)
    assert meta["stored_short_side"] == 32 and (meta["height"], meta["width"]) == (48, 64)
    native = compute_flow(clip)
    np.testing.assert_array_equal(
        resize_short_side_and_center_crop(stored, 32, 24),
        resize_short_side_and_center_crop(native, 32, 24),
    )
    # a native-resolution request does not reuse the resized cache
    assert main(args[:-2]) == 0
    assert read_flow(out / "a.npz")[0].shape == (5, 48, 64, 2)


def test_flow_cli_unknown_video_and_missing_folder(tmp_path, video_files, capsys):
    videos = tmp_path / "data" / "videos"
    videos.mkdir(parents=True)
    (videos / "a.avi").write_bytes(video_files["avi"].read_bytes())
    out = tmp_path / "flow"
    code = main(["flow", "--videos", str(tmp_path / "data"), "--out", str(out), "--video", "zz"])
    assert code == 2 and "zz" in capsys.readouterr().err
    code = main(["flow", "--videos", str(tmp_path / "none"), "--out", str(out)])
    assert code == 2 and "not found" in capsys.readouterr().err
    assert not out.exists()


def test_flow_cli_corrupt_video_fails_without_output(tmp_path, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "bad.mp4").write_bytes(b"nope" * 100)
    out = tmp_path / "flow"
    assert main(["flow", "--videos", str(videos), "--out", str(out)]) == 2
    assert "bad.mp4" in capsys.readouterr().err
    assert not (out / "bad.npz").exists()


def test_meta_is_json_only(tmp_path):
    """The cache never needs pickle: meta is a JSON string array."""
    path = tmp_path / "f.npz"
    write_flow(path, np.zeros((1, 2, 2, 2), np.float32), {"source": "x", "n": 1})
    with np.load(path, allow_pickle=False) as data:
        assert data["meta"].dtype.kind == "U"
        assert json.loads(str(data["meta"]))["n"] == 1
