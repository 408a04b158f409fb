# Inputs and arguments of the reports, and the list of every report.

from relate.reports.paper_results import parse_row


def params_cells(wildcards):
    """``--cell`` flags: one parameter table per (dataset, segmenter) of Table 1 (paper
    dataset names: the counts depend on the class count only)."""
    pairs = []
    for dataset, segmenter in EXPERIMENTS["table1"]["cells"]:
        if (dataset, segmenter) not in pairs:
            pairs.append((dataset, segmenter))
    return " ".join(f"--cell {d}:{s}" for d, s in pairs)


def latency_args(wildcards):
    lat = config["latency"]
    args = [
        "--setups",
        "rgb,flow,two_stream,relate",
        "--dataset",
        run_dataset("gtea"),
        "--device",
        LATENCY_DEVICE,
        "--repeats",
        str(lat["repeats"]),
        "--warmup",
        str(lat["warmup"]),
    ]
    if lat.get("video"):
        args += ["--video", lat["video"]]
    else:
        args += ["--synthetic-frames", str(lat["frames"]), "--size", f"{lat['size']}x{lat['size']}"]
    if lat.get("sample_windows"):
        args += ["--sample-windows", str(lat["sample_windows"])]
    if lat.get("sample_pairs"):
        args += ["--sample-pairs", str(lat["sample_pairs"])]
    return " ".join(args)


def fig3_latency(wildcards):
    """The latency JSON of Fig. 3's segmenter (its first cell)."""
    _, segmenter = EXPERIMENTS["fig3"]["cells"][0]
    return f"{RESULTS}/latency/{segmenter}.json"


def fig3_setup(row):
    """The latency setup of a Fig. 3 row (rgb, flow, two_stream, relate)."""
    return parse_row(row).variant


def fig3_metrics(wildcards):
    """Metrics JSONs of each Fig. 3 row, keyed by setup."""
    dataset, segmenter = cells("fig3")[0]
    return {
        fig3_setup(row): [
            metrics_path(dataset, "standard", split, segmenter, row, "release", seed)
            for split in splits(dataset)
            for seed in SEEDS
        ]
        for row in EXPERIMENTS["fig3"]["rows"]
    }


def fig3_metrics_flags(wildcards, input):
    return " ".join(
        f"--metrics {setup}={','.join(input[setup])}" for setup in fig3_metrics(wildcards)
    )


def fig4_cell():
    dataset, segmenter = EXPERIMENTS["fig4"]["cells"][0]
    return run_dataset(dataset), segmenter


def fig4_inputs(wildcards):
    dataset, segmenter = fig4_cell()
    split = config["experiments"]["fig4"]["split"]
    seed = SEEDS[0]
    inputs = {"data": data_dir(dataset), "valid": validated(dataset)}
    for row in EXPERIMENTS["fig4"]["rows"]:
        inputs[slug(row)] = predictions(dataset, split, segmenter, run_id(row), seed)
    return inputs


def fig4_args(wildcards, input):
    dataset, segmenter = fig4_cell()
    fig4 = config["experiments"]["fig4"]
    args = [
        "--data",
        input.data,
        "--dataset",
        dataset,
        "--split",
        str(fig4["split"]),
        "--video-index",
        str(fig4["video"]),
    ]
    for row in fig4["rows"]:
        args += ["--predictions", f"'{row}={input[slug(row)]}:{head(row)}'"]
    return " ".join(args)


def all_metrics():
    """Every metrics JSON of every experiment (the scorecard reads them all)."""
    paths = []
    for name in EXPERIMENTS:
        if name == "fig4":
            continue
        conventions = ("standard", "relate_release") if name == "conventions" else ("standard",)
        presets = PRESETS if name == "presets" else ("release",)
        for path in experiment_metrics(name, conventions, presets):
            if path not in paths:
                paths.append(path)
    return paths


def report_files(exclude_index=False):
    """Every report of this config: the paper's (with `experiments`) and the study's."""
    files = study_reports()
    if not EXPERIMENTS:
        return files
    files += [f"{REPORTS}/table{n}.md" for n in range(1, 5)]
    files += [f"{REPORTS}/{name}.md" for name in ("side_conventions", "side_presets", "params")]
    files += [
        f"{REPORTS}/{name}.png" for name in ("fig1_acc_f1", "fig3_latency", "fig4_qualitative")
    ]
    if config["trivial_predictors"] and SYNTHETIC:
        files.append(f"{REPORTS}/sanity.md")
    files.append(f"{REPORTS}/learning_curves.png")
    if config["video_pipeline"].get("enabled"):
        files.append(f"{RESULTS}/data/synthetic_videos_features")
    if not exclude_index:
        files.append(f"{REPORTS}/index.md")
    return files


def stand_in_flag():
    """Each paper dataset's synthetic counterpart stands in for it: the reports say so."""
    if not SYNTHETIC:
        return ""
    return " ".join(
        f"--dataset-from {paper}={run_dataset(paper)}"
        for paper in ("gtea", "50salads", "breakfast")
    )


def learning_curves_caption():
    """Caption naming the data of the learning curves."""
    source = "synthetic stand-ins" if SYNTHETIC else "real features"
    datasets = ", ".join(dict.fromkeys(d for d, _ in cells("table1")))
    return f"Learning curves of the Table 1 runs ({source}: {datasets}; seeds {SEEDS})"


def curve_runs():
    """Run folders (model.pt) of every trained run behind Table 1 (learning curves)."""
    runs = []
    for dataset, segmenter in cells("table1"):
        for row in experiment_rows("table1", segmenter):
            run = run_id(row)
            for split in splits(dataset):
                for seed in SEEDS:
                    path = f"{run_dir(dataset, split, segmenter, run, seed)}/model.pt"
                    if path not in runs:
                        runs.append(path)
    return runs
