"""A synthetic stand-in runs its paper dataset's recipes, and its class ids fit them."""

from __future__ import annotations

from pathlib import Path

import pytest

from relate.data.layout import read_mapping
from relate.data.registry import DATASETS, recipe_dataset, relate_lr, segmenter_settings
from relate.data.synthetic import generate_dataset
from relate.data.synthetic_shapes import SHAPES, shape_config
from relate.segmenters import SEGMENTERS, asformer, defaults, fact
from relate.tools.workflow_config import configured_epochs

STAND_INS = sorted(name for name, info in DATASETS.items() if info.stands_in_for)


def test_every_shape_has_a_registry_stand_in() -> None:
    assert sorted(f"synthetic_{like}" for like in SHAPES) == STAND_INS


@pytest.mark.parametrize("name", STAND_INS)
def test_stand_in_takes_the_paper_datasets_settings(name: str) -> None:
    paper = DATASETS[name].stands_in_for
    assert recipe_dataset(name) == paper
    for field in ("fps", "sample_rate", "n_splits", "n_classes", "background"):
        assert getattr(DATASETS[name], field) == getattr(DATASETS[paper], field), field
    assert fact.fact_config(name) == fact.fact_config(paper)
    for segmenter in SEGMENTERS:
        assert segmenter_settings(segmenter, name) == segmenter_settings(segmenter, paper)
        assert defaults(segmenter, name) == defaults(segmenter, paper)
    assert asformer.default_channel_mask_rate(name) == asformer.default_channel_mask_rate(paper)
    assert relate_lr(name) == relate_lr(paper)


@pytest.mark.parametrize("name", STAND_INS)
def test_background_ids_are_the_ones_facts_recipe_names(name: str, tmp_path: Path) -> None:
    """FACT weights and drops its recipe's bg_class ids: they must be the stand-in's
    background label (Breakfast: SIL is id 0, GTEA: background is id 10, 50Salads: none)."""
    like = DATASETS[name].stands_in_for
    splits = DATASETS[name].n_splits
    out = tmp_path / name
    generate_dataset(out, shape_config(like, n_videos=2 * splits, mean_frames=240), seed=0)
    mapping = read_mapping(out / "mapping.txt")
    labels = [DATASETS[name].release_background] if DATASETS[name].release_background else []
    assert tuple(sorted(mapping[label] for label in labels)) == fact.fact_config(like).bg_class


@pytest.mark.parametrize(
    ("epochs", "segmenter", "dataset", "expected"),
    [
        (None, "mstcn", "gtea", None),
        (7, "fact", "synthetic_breakfast", 7),
        ({"mstcn": 30}, "asformer", "gtea", None),
        ({"mstcn": 30}, "mstcn", "synthetic_gtea", 30),
        ({"mstcn": {"gtea": 15, "50salads": 1}}, "mstcn", "synthetic_gtea", 15),
        ({"mstcn": {"gtea": 15, "50salads": 1}}, "mstcn", "50salads", 1),
        ({"mstcn": {"gtea": 15}}, "mstcn", "synthetic_breakfast", None),
    ],
)
def test_configured_epochs_per_segmenter_and_paper_dataset(
    epochs: object, segmenter: str, dataset: str, expected: int | None
) -> None:
    assert configured_epochs({"epochs": epochs}, segmenter, dataset) == expected


def test_relate_lr_is_the_releases_per_dataset() -> None:
    expected = {"gtea": 1e-3, "50salads": 5e-4, "breakfast": 1e-4, "synthetic": 1e-3}
    assert {name: relate_lr(name) for name in expected} == expected
    assert relate_lr("synthetic_breakfast") == 1e-4
    with pytest.raises(KeyError, match="unknown dataset"):
        relate_lr("kinetics")
