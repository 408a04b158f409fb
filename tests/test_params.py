"""Parameter table (relate.tools.params) and `relate params`; counts as in docs/decisions.md."""

from __future__ import annotations

import pandas as pd
import pytest

from relate.blocks.param_budget import (
    baseline_count,
    budget_count,
    match_total_layers,
    relate_counts,
    require_match_total_layers,
    resolve_options,
    spec_with_layers,
)
from relate.cli import main
from relate.tools.params import parameter_table


@pytest.fixture(scope="module")
def mstcn_gtea() -> pd.DataFrame:
    return parameter_table("mstcn", "gtea").set_index("variant")


def test_baselines_match_official_counts(mstcn_gtea: pd.DataFrame) -> None:
    assert mstcn_gtea.loc["rgb", "inference params"] == 731_244
    assert mstcn_gtea.loc["flow", "inference params"] == 731_244
    assert mstcn_gtea.loc["two_stream", "inference params"] == 796_780
    assert mstcn_gtea.loc["rgb", "depth"] == 4
    for v in ("rgb", "flow", "two_stream"):
        assert mstcn_gtea.loc[v, "training params"] == mstcn_gtea.loc[v, "inference params"]
        assert mstcn_gtea.loc[v, "frozen params in training"] == 0
    assert baseline_count("asformer", "gtea", 11) == 1_065_324
    assert baseline_count("mstcn", "breakfast", 48, "two_stream") == 813_504


def test_relate_release_default(mstcn_gtea: pd.DataFrame) -> None:
    row = mstcn_gtea.loc["relate"]
    assert row["inference params"] == 1_698_787
    assert row["training params"] == 1_698_787  # teacher frozen, not trained
    assert row["frozen params in training"] == 564_641  # the teacher
    assert row["ratio to rgb"] == pytest.approx(2.32, abs=0.005)
    assert mstcn_gtea.loc["teacher", "inference params"] == 564_641
    assert mstcn_gtea.loc["teacher", "depth"] == 3
    assert mstcn_gtea.loc["relate (fusion=naive)", "inference params"] == 1_636_579
    assert list(mstcn_gtea.index) == [
        "rgb",
        "flow",
        "two_stream",
        "teacher",
        "relate",
        "relate (fusion=naive)",
        "relate (param_budget=match_total)",
    ]


@pytest.mark.parametrize("segmenter", ["mstcn", "asformer"])
@pytest.mark.parametrize("options", [{}, {"depth": 2}, {"bridge": "pretrained"}])
def test_match_total_is_the_most_layers_within_budget(segmenter: str, options: dict) -> None:
    budget = baseline_count(segmenter, "gtea", 11)
    layers = match_total_layers(segmenter, "gtea", options=options)
    assert layers is not None
    fits = budget_count(spec_with_layers(segmenter, "gtea", 11, layers, options))
    over = budget_count(spec_with_layers(segmenter, "gtea", 11, layers + 1, options))
    assert fits <= budget < over


def test_match_total_known_values(mstcn_gtea: pd.DataFrame) -> None:
    # D1 (docs/decisions.md): at S = 3, L = 3 fits MS-TCN (658,531); L = 4 does not
    assert match_total_layers("mstcn", "gtea", 11) == 3
    assert relate_counts(spec_with_layers("mstcn", "gtea", 11, 3))["inference"] == 658_531
    assert relate_counts(spec_with_layers("mstcn", "gtea", 11, 4))["inference"] > 731_244
    row = mstcn_gtea.loc["relate (param_budget=match_total)"]
    assert row["depth"] == 3 and row["inference params"] == 658_531
    assert resolve_options("mstcn", "gtea", 11, {"param_budget": "match_total"}) == {
        "num_layers": 3
    }
    with pytest.raises(ValueError, match="do not also set num_layers"):
        resolve_options("mstcn", "gtea", 11, {"param_budget": "match_total", "num_layers": 2})


def test_bridge_is_outside_the_budget() -> None:
    plain = spec_with_layers("mstcn", "gtea", 11, 3)
    bridged = spec_with_layers("mstcn", "gtea", 11, 3, {"bridge": "pretrained"})
    assert relate_counts(bridged)["inference"] == relate_counts(plain)["inference"] + 525_568
    assert budget_count(bridged) == budget_count(plain)


def test_fact_counts_and_no_fitting_layer_count() -> None:
    table = parameter_table("fact", "gtea").set_index("variant")
    assert (
        table.loc["relate", "frozen params in training"] == table.loc["teacher", "inference params"]
    )
    assert match_total_layers("fact", "gtea") is None
    assert pd.isna(table.loc["relate (param_budget=match_total)", "inference params"])
    with pytest.raises(ValueError, match="no layer count fits"):
        require_match_total_layers("fact", "gtea")
    big = parameter_table("fact", "breakfast").set_index("variant")
    assert big.loc["rgb", "inference params"] == pytest.approx(119e6, rel=0.01)
    assert big.loc["rgb", "depth"] == 4


def test_pretrained_bridge_is_inference_but_frozen_in_training() -> None:
    table = parameter_table("mstcn", "gtea", options={"bridge": "pretrained"}).set_index("variant")
    row = table.loc["relate"]
    assert row["inference params"] == 1_698_787 + 525_568
    assert row["training params"] == 1_698_787
    assert row["frozen params in training"] == 564_641 + 525_568


def test_cli_writes_markdown_and_csv(tmp_path, capsys) -> None:
    out = tmp_path / "reports" / "params.md"
    assert main(["params", "--dataset", "gtea", "--segmenter", "mstcn", "--out", str(out)]) == 0
    md = out.read_text()
    assert md.startswith("Parameter counts: dataset gtea, segmenter mstcn, 11 classes")
    assert "| relate " in md and "1,698,787" in md and "2.32×" in md
    csv = pd.read_csv(out.with_suffix(".csv"))
    assert csv.loc[csv["variant"] == "relate", "inference params"].item() == 1_698_787
    assert "1,698,787" in capsys.readouterr().out
    assert not list(out.parent.glob(".*.tmp"))


def test_cli_help_and_errors(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["params", "--help"])
    assert exit_info.value.code == 0
    assert "--segmenter" in capsys.readouterr().out
    assert main(["params", "--dataset", "gtea", "--segmenter", "mstcn", "--option", "bogus=1"]) == 2
    assert main(["params", "--dataset", "gtea", "--segmenter", "mstcn", "--option", "nokey"]) == 2
