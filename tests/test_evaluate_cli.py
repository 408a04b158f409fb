"""`relate evaluate`, `relate trivial` and `relate summarize` on a tiny dataset."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_SPLITS, TINY_VIDEOS, frames

from relate.cli import main
from relate.evaluation.evaluate import load_split_predictions
from relate.evaluation.metrics import score_split
from relate.evaluation.trivial import PREDICTION_HEADER


def write_predictions(folder: Path, videos: list[str], suffix: str = ".txt", mapping=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for video in videos:
        labels = frames(TINY_VIDEOS[video])
        if suffix == ".txt":
            (folder / f"{video}.txt").write_text(f"{PREDICTION_HEADER}\n{' '.join(labels)}\n")
        else:
            np.save(folder / f"{video}.npy", np.array([mapping[x] for x in labels], dtype=np.int64))
    return folder


def evaluate(tiny: Path, predictions: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "evaluate",
            "--data",
            str(tiny),
            "--dataset",
            "gtea",
            "--split",
            "1",
            "--predictions",
            str(predictions),
            "--out",
            str(out),
            *extra,
        ]
    )


@pytest.mark.parametrize("suffix", [".txt", ".npy"])
def test_perfect_predictions_score_100(tiny_dataset: Path, tmp_path: Path, suffix: str) -> None:
    mapping = {"take": 0, "open": 1, "background": 2}
    preds = write_predictions(tmp_path / "p", TINY_SPLITS[1], suffix, mapping)
    out = tmp_path / "m.json"
    assert evaluate(tiny_dataset, preds, out, "--label", "oracle") == 0
    result = json.loads(out.read_text())
    assert result["metrics"] == {
        "acc": 100.0,
        "edit": 100.0,
        "f1@10": 100.0,
        "f1@25": 100.0,
        "f1@50": 100.0,
    }
    assert result["videos"] == 2 and result["background"] == ["background"]
    assert result["label"] == "oracle" and "packages" in result["provenance"]
    assert set(result["per_video"]) == set(TINY_SPLITS[1])


def test_known_scores(tiny_dataset: Path, tmp_path: Path) -> None:
    # S1_a GT: bg3 take8 open6 bg3 (20); S1_b GT: take10 open9 (19). Predict every frame "take".
    preds = tmp_path / "p"
    preds.mkdir()
    for video in TINY_SPLITS[1]:
        n = len(frames(TINY_VIDEOS[video]))
        (preds / f"{video}.txt").write_text("h\n" + " ".join(["take"] * n) + "\n")
    out = tmp_path / "m.json"
    assert evaluate(tiny_dataset, preds, out) == 0
    m = json.loads(out.read_text())["metrics"]
    # Acc = (8 + 10) / 39. Edit: [take] vs [take, open] twice -> 50. F1: per video one
    # predicted segment; S1_a IoU 8/20 = 0.4, S1_b IoU 10/19 > 0.5 -> TP at every threshold
    # for S1_b, TP for S1_a at 0.10 and 0.25 only. GT segments 4.
    assert m["acc"] == pytest.approx(100 * 18 / 39)
    assert m["edit"] == pytest.approx(50.0)
    f1 = lambda tp, fp, fn: 100 * 2 * tp / (2 * tp + fp + fn)  # noqa: E731
    assert m["f1@10"] == pytest.approx(f1(2, 0, 2))
    assert m["f1@50"] == pytest.approx(f1(1, 1, 3))


@pytest.mark.parametrize(
    "setup,words",
    [
        (lambda p: (p / "S1_a.txt").unlink(), "S1_a.txt: missing prediction file"),
        (
            lambda p: (p / "S1_a.txt").write_text("header only\n"),
            "S1_a.txt: expected a header line",
        ),
        (
            lambda p: (p / "S1_a.txt").write_text("h\ntake flip\n"),
            "S1_a.txt: label(s) not in mapping.txt: ['flip']",
        ),
        (
            lambda p: (p / "S1_a.txt").write_text("h\ntake take\n"),
            "S1_a.txt: prediction has 2 frames, ground truth has 20",
        ),
        (lambda p: np.save(p / "S1_a.npy", np.zeros(20, np.int64)), "S1_a.txt: ambiguous"),
        (
            lambda p: ((p / "S1_a.txt").unlink(), np.save(p / "S1_a.npy", np.full(20, 7))),
            "S1_a.npy: class id(s) not in mapping.txt: [7]",
        ),
        (
            lambda p: ((p / "S1_a.txt").unlink(), np.save(p / "S1_a.npy", np.zeros((2, 10)))),
            "S1_a.npy: expected a 1-D integer array",
        ),
    ],
)
def test_bad_predictions_are_one_line_errors(
    tiny_dataset: Path, tmp_path: Path, capsys, setup, words
) -> None:
    preds = write_predictions(tmp_path / "p", TINY_SPLITS[1])
    setup(preds)
    out = tmp_path / "m.json"
    assert evaluate(tiny_dataset, preds, out) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and words in err[0], err
    assert not out.exists()


def test_invalid_dataset_reuses_validator_message(
    tiny_dataset: Path, tmp_path: Path, capsys
) -> None:
    preds = write_predictions(tmp_path / "p", TINY_SPLITS[1])
    (tiny_dataset / "mapping.txt").write_text("0 take\n1 open\n1 background\n")
    assert evaluate(tiny_dataset, preds, tmp_path / "m.json") == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {tiny_dataset / 'mapping.txt'}: line 3: duplicate class id 1")


def test_trivial_evaluate_summarize_chain(tiny_dataset: Path, tmp_path: Path) -> None:
    outputs = []
    for split in (1, 2):
        for method, rows in (("majority", "all"), ("nearest_mean", "rgb")):
            preds = tmp_path / f"pred{split}-{method}"
            assert (
                main(
                    [
                        "trivial",
                        "--data",
                        str(tiny_dataset),
                        "--split",
                        str(split),
                        "--method",
                        method,
                        "--rows",
                        rows,
                        "--out",
                        str(preds),
                    ]
                )
                == 0
            )
            assert sorted(p.stem for p in preds.iterdir()) == sorted(TINY_SPLITS[split])
            out = tmp_path / f"m{split}-{method}.json"
            assert (
                main(
                    [
                        "evaluate",
                        "--data",
                        str(tiny_dataset),
                        "--dataset",
                        "synthetic",
                        "--split",
                        str(split),
                        "--predictions",
                        str(preds),
                        "--out",
                        str(out),
                        "--label",
                        f"{method}-{rows}",
                    ]
                )
                == 0
            )
            outputs.append(out)
    majority = (tmp_path / "pred1-majority" / "S1_a.txt").read_text().splitlines()[1].split()
    assert set(majority) == {"take"}  # train split 1 = S2_*: take 19 frames > open 14 > bg 6
    report = tmp_path / "report.md"
    assert main(["summarize", *map(str, outputs), "--out", str(report), "--title", "T"]) == 0
    text = report.read_text()
    assert "SYNTHETIC" in text and "| majority-all" in text and "| nearest_mean-rgb" in text
    csv = report.with_suffix(".csv").read_text().splitlines()
    assert csv[0] == (
        "dataset,convention,predictor,splits,seeds,f1@10,f1@25,f1@50,edit,acc,"
        "f1@10 std,f1@25 std,f1@50 std,edit std,acc std"
    )
    assert len(csv) == 3 and '"1,2",1,' in csv[1]


def test_summarize_means_and_stds_over_seeds(tmp_path: Path) -> None:
    # Two seeds x two splits; per seed the split mean, then mean and sample std over seeds.
    accs = {(0, 1): 50.0, (0, 2): 70.0, (1, 1): 80.0, (1, 2): 100.0}  # seed means 60 and 90
    paths = []
    for (seed, split), acc in accs.items():
        path = tmp_path / f"s{seed}-{split}.json"
        metrics = {"acc": acc, "edit": 10.0, "f1@10": 1.0, "f1@25": 1.0, "f1@50": 1.0}
        path.write_text(
            json.dumps(
                {
                    "dataset": "synthetic",
                    "split": split,
                    "convention": "standard",
                    "metrics": metrics,
                    "synthetic": True,
                    "label": "m",
                    "seed": seed,
                }
            )
        )
        paths.append(path)
    from relate.reports.summary import summarize

    row = summarize(paths).iloc[0]
    assert (row["seeds"], row["splits"], row["acc"], row["edit"]) == (2, "1,2", 75.0, 10.0)
    assert row["acc std"] == pytest.approx(np.std([60.0, 90.0], ddof=1))
    assert row["edit std"] == 0.0
    # A seed that covers other splits than the rest is refused.
    paths[-1].write_text(paths[-1].read_text().replace('"split": 2', '"split": 3'))
    with pytest.raises(Exception, match="cover different splits"):
        summarize(paths)


def imperfect_predictions(folder: Path, suffix: str, mapping: dict[str, int]) -> dict:
    """Write shifted, partly wrong predictions for split 1; returns video -> label names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(mapping)
    predicted = {}
    for index, video in enumerate(TINY_SPLITS[1]):
        labels = frames(TINY_VIDEOS[video])
        labels = labels[2:] + [names[index]] * 2  # boundaries shifted by two frames
        labels[5] = names[(mapping[labels[5]] + 1) % len(names)]  # a one-frame fragment
        predicted[video] = labels
        if suffix == ".txt":
            (folder / f"{video}.txt").write_text(f"{PREDICTION_HEADER}\n{' '.join(labels)}\n")
        else:
            np.save(folder / f"{video}.npy", np.array([mapping[x] for x in labels], np.int32))
    return predicted


@pytest.mark.parametrize("convention", ["standard", "fact", "relate_release"])
@pytest.mark.parametrize("suffix", [".txt", ".npy"])
def test_ids_end_to_end_score_as_label_names(
    tiny_dataset: Path, tmp_path: Path, suffix: str, convention: str
) -> None:
    # Labels become int8 class ids as they are read; split and per-video scores must be
    # the scores of the label names themselves (one score_split call per video).
    mapping = {"take": 0, "open": 1, "background": 2}
    predicted = imperfect_predictions(tmp_path / "p", suffix, mapping)
    out = tmp_path / "m.json"
    assert evaluate(tiny_dataset, tmp_path / "p", out, "--convention", convention) == 0
    result = json.loads(out.read_text())
    truths = {video: frames(TINY_VIDEOS[video]) for video in TINY_SPLITS[1]}
    background = ["background"]
    videos = TINY_SPLITS[1]
    expected = score_split(
        [predicted[v] for v in videos], [truths[v] for v in videos], background, convention
    )
    assert result["metrics"] == expected and result["background"] == background
    for video in videos:
        alone = score_split([predicted[video]], [truths[video]], background, convention)
        assert result["per_video"][video] == {"frames": len(truths[video]), **alone}


def test_mapping_ids_need_not_be_contiguous(tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    mapping = {"take": 4, "open": 9, "background": 0}
    (tiny_dataset / "mapping.txt").write_text("".join(f"{i} {n}\n" for n, i in mapping.items()))
    predicted = imperfect_predictions(tmp_path / "p", ".npy", mapping)
    out = tmp_path / "m.json"
    assert evaluate(tiny_dataset, tmp_path / "p", out) == 0
    truths = [frames(TINY_VIDEOS[video]) for video in TINY_SPLITS[1]]
    expected = score_split([predicted[v] for v in TINY_SPLITS[1]], truths, ["background"])
    assert json.loads(out.read_text())["metrics"] == expected
    np.save(tmp_path / "p" / "S1_b.npy", np.r_[np.full(18, 4), 3])
    assert evaluate(tiny_dataset, tmp_path / "p", out) == 2
    assert "S1_b.npy: class id(s) not in mapping.txt: [3]" in capsys.readouterr().err


def test_prediction_files_become_narrow_id_arrays(tiny_dataset: Path, tmp_path: Path) -> None:
    mapping = {"take": 0, "open": 1, "background": 2}
    imperfect_predictions(tmp_path / "p", ".npy", mapping)
    loaded = load_split_predictions(tiny_dataset, 1, tmp_path / "p")
    assert loaded.classes.dtype == np.int8
    assert {a.dtype for a in loaded.predictions + loaded.ground_truths} == {np.dtype(np.int8)}
    assert loaded.ground_truths[0][:4].tolist() == [2, 2, 2, 0]


def test_ground_truth_is_read_as_the_validator_reads_it(
    tiny_dataset: Path, tmp_path: Path, capsys
) -> None:
    # Untidy but valid files (CRLF, spaces, trailing blank lines) give the same scores as
    # clean ones; invalid ones fail with the validator's message.
    preds = write_predictions(tmp_path / "p", TINY_SPLITS[1])
    clean, untidy = tmp_path / "clean.json", tmp_path / "untidy.json"
    assert evaluate(tiny_dataset, preds, clean) == 0
    gt = tiny_dataset / "groundTruth" / "S1_a.txt"
    labels = frames(TINY_VIDEOS["S1_a"])
    gt.write_text("".join(f" {x}\r\n" for x in labels) + "\n\n")
    assert evaluate(tiny_dataset, preds, untidy) == 0
    assert json.loads(untidy.read_text())["metrics"] == json.loads(clean.read_text())["metrics"]
    gt.write_text("".join(f"{x}\n" for x in labels[:4]) + "\n" + "".join(f"{x}\n" for x in labels))
    assert evaluate(tiny_dataset, preds, untidy) == 2
    assert "blank line(s) inside the labels, first at line 5" in capsys.readouterr().err


def test_evaluate_imports_no_torch_pandas_scipy_or_matplotlib(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    # Each of these costs every `relate evaluate` call a fixed start-up.
    preds = write_predictions(tmp_path / "p", TINY_SPLITS[1])
    argv = ["evaluate", "--data", str(tiny_dataset), "--dataset", "gtea", "--split", "1"]
    argv += ["--predictions", str(preds), "--out", str(tmp_path / "m.json")]
    probe = (
        "import sys; from relate.cli import main; code = main(sys.argv[1:]); "
        "heavy = ('torch', 'pandas', 'scipy', 'matplotlib'); "
        "print(code, [m for m in heavy if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120
    )
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout + result.stderr
