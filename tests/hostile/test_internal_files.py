"""Corrupt `relate predict` .npz files and `relate evaluate` JSON files: one clean line."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_SPLITS

from tests.hostile.conftest import assert_clean_error, snapshot

CLASSES = {"0": "take", "1": "open", "2": "background"}


def _arrays(tiny: Path) -> dict[str, np.ndarray]:
    meta = json.dumps({"classes": CLASSES, "heads": ["final"], "split": 1})
    arrays = {"__meta__": np.array(meta)}
    for video in TINY_SPLITS[1]:
        n = len((tiny / "groundTruth" / f"{video}.txt").read_text().split())
        arrays[f"{video}/final"] = np.full((3, n), 1 / 3, dtype=np.float32)
    return arrays


def _save(path: Path, arrays: dict, **kwargs) -> Path:
    np.savez(path, allow_pickle=kwargs.pop("allow_pickle", False), **arrays)
    return path


def object_member(tiny, path):
    arrays = _arrays(tiny)
    arrays[f"{TINY_SPLITS[1][0]}/final"] = np.array([{"x": 1}, None], dtype=object)
    return _save(path, arrays, allow_pickle=True)


def object_meta(tiny, path):
    return _save(
        path,
        {**_arrays(tiny), "__meta__": np.array([{"classes": 1}], dtype=object)},
        allow_pickle=True,
    )


def meta_not_json(tiny, path):
    return _save(path, {**_arrays(tiny), "__meta__": np.array("{not json")})


def meta_list(tiny, path):
    return _save(path, {**_arrays(tiny), "__meta__": np.array("[1, 2]")})


def meta_array(tiny, path):
    return _save(path, {**_arrays(tiny), "__meta__": np.arange(3)})


def crc_error(tiny, path):
    _save(path, _arrays(tiny))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(f"{TINY_SPLITS[1][0]}/final.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def crc_error_meta(tiny, path):
    _save(path, _arrays(tiny))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("__meta__.npy")
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + 130] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def truncated(tiny, path):
    _save(path, _arrays(tiny))
    path.write_bytes(path.read_bytes()[:-300])
    return path


def truncated_half(tiny, path):
    _save(path, _arrays(tiny))
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    return path


def empty(tiny, path):
    path.write_bytes(b"")
    return path


def not_zip(tiny, path):
    path.write_bytes(b"PK\x03\x04garbage" * 10)
    return path


@pytest.mark.parametrize(
    "make",
    [
        object_member,
        object_meta,
        meta_not_json,
        meta_list,
        meta_array,
        crc_error,
        crc_error_meta,
        truncated,
        truncated_half,
        empty,
        not_zip,
    ],
)
def test_corrupt_npz(tiny_dataset: Path, tmp_path: Path, run_cli, make) -> None:
    preds = make(tiny_dataset, tmp_path / "p.npz")
    out = tmp_path / "out" / "m.json"
    result = run_cli(
        "evaluate",
        "--data",
        tiny_dataset,
        "--dataset",
        "gtea",
        "--split",
        "1",
        "--predictions",
        preds,
        "--out",
        out,
    )
    assert_clean_error(result, preds)
    assert snapshot(tmp_path / "out") == {}


GOOD = {
    "dataset": "gtea",
    "split": 1,
    "convention": "standard",
    "synthetic": True,
    "metrics": {"acc": 1, "edit": 1, "f1@10": 1, "f1@25": 1, "f1@50": 1},
}


@pytest.mark.parametrize(
    "content",
    [
        b"[1, 2, 3]",
        b'"text"',
        b"null",
        b"42",
        '{"dataset": "gt\u00e9a"}'.encode("latin-1"),
        b"\xff\xfe{}",
        b"{not json",
        b"",
        json.dumps({k: v for k, v in GOOD.items() if k != "metrics"}).encode(),
        json.dumps({**GOOD, "metrics": [1, 2]}).encode(),
        json.dumps({**GOOD, "metrics": {"acc": 1}}).encode(),
        json.dumps({**GOOD, "metrics": {**GOOD["metrics"], "acc": "high"}}).encode(),
    ],
)
def test_bad_metrics_json(tmp_path: Path, run_cli, content: bytes) -> None:
    metrics = tmp_path / "m.json"
    metrics.write_bytes(content)
    result = run_cli("summarize", metrics, "--out", tmp_path / "out" / "s.md")
    assert_clean_error(result, metrics)
    assert snapshot(tmp_path / "out") == {}
