"""Fig. 3 point labels never overlap, checked through matplotlib's renderer."""

from __future__ import annotations

from pathlib import Path

import pytest

from relate.reports.fig3 import Fig3Point, draw_fig3, plot_fig3

LATENCY = {
    "setups": {},
    "hardware": {"cpu_model": "test CPU", "gpu_name": None},
    "video": {"synthetic": True, "frames": 550},
    "config": {"device": "cpu", "repeats": 3, "dataset": "gtea", "segmenter": "mstcn"},
}

CROWDS = {
    # The demo's case: OF-only printed over RGB-only when points nearly coincide.
    "near_identical": [
        ("rgb", 5.0, 60.0),
        ("flow", 5.1, 60.2),
        ("two_stream", 5.2, 60.1),
        ("relate", 5.05, 60.05),
    ],
    "same_time": [
        ("rgb", 5.0, 60.0),
        ("flow", 5.0, 61.0),
        ("two_stream", 5.0, 62.0),
        ("relate", 5.0, 63.0),
    ],
    "same_f1": [
        ("rgb", 5.0, 60.0),
        ("flow", 6.0, 60.0),
        ("two_stream", 7.0, 60.0),
        ("relate", 5.5, 60.0),
    ],
    "spread": [
        ("rgb", 5.0, 40.0),
        ("flow", 900.0, 70.0),
        ("two_stream", 1000.0, 80.0),
        ("relate", 8.0, 75.0),
    ],
}


def _points(spec: list[tuple[str, float, float]]) -> list[Fig3Point]:
    return [Fig3Point(setup, seconds, f1, ("m.json",), True) for setup, seconds, f1 in spec]


def _label_boxes(fig) -> list:
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    return [t.get_window_extent(renderer) for t in ax.texts]


@pytest.mark.parametrize("crowd", sorted(CROWDS))
def test_labels_do_not_overlap(crowd: str) -> None:
    points = _points(CROWDS[crowd])
    fig = draw_fig3(points, LATENCY)
    boxes = _label_boxes(fig)
    assert len(boxes) == len(points)
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), (crowd, first, second)


def test_labels_name_every_setup_and_time(tmp_path: Path) -> None:
    points = _points(CROWDS["near_identical"])
    fig = draw_fig3(points, LATENCY)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == sorted(
        ["RGB-only\n5.00 s", "OF-only\n5.10 s", "Two-stream\n5.20 s", "RELATE\n5.05 s"]
    )
    out = tmp_path / "fig3.png"
    plot_fig3(points, LATENCY, out)
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("crowd", sorted(CROWDS))
def test_time_axis_tick_labels_are_plain_and_do_not_overlap(crowd: str) -> None:
    fig = draw_fig3(_points(CROWDS[crowd]), LATENCY)
    fig.canvas.draw()  # tick labels get their texts when drawn
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    labels = [
        label
        for tick in (*ax.xaxis.get_major_ticks(), *ax.xaxis.get_minor_ticks())
        if left <= tick.get_loc() <= right
        for label in (tick.label1,)
        if label.get_visible() and label.get_text()
    ]
    assert len(labels) >= 2, crowd  # a reader can tell the scale
    boxes = [label.get_window_extent(renderer) for label in labels]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), (crowd, [lab.get_text() for lab in labels])
    assert all("times" not in lab.get_text() and "^" not in lab.get_text() for lab in labels)
