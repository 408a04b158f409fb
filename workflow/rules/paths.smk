# Paths of the workflow's files: data, runs, predictions and metrics.


def data_dir(dataset):
    name = registry_name(dataset)
    if name in DATASETS and DATASETS[name].synthetic:
        return f"{RESULTS}/data/{dataset}"
    return f"{DATA.get('root', 'data')}/{dataset}"


def validated(dataset):
    return f"{RESULTS}/validated/{dataset}.txt"


def run_dir(dataset, split, segmenter, run, seed):
    return f"{RESULTS}/runs/{dataset}/split{split}/{segmenter}/{run}/seed{seed}"


def bridge_weights(dataset, split, seed):
    return f"{RESULTS}/runs/{dataset}/split{split}/bridge/seed{seed}/model.pt"


def predictions(dataset, split, segmenter, run, seed):
    return f"{RESULTS}/predictions/{dataset}/split{split}/{segmenter}/{run}/seed{seed}.npz"


def metrics_path(dataset, convention, split, segmenter, row, preset, seed):
    return (
        f"{RESULTS}/metrics/{dataset}/{convention}/split{split}/{segmenter}/{slug(row)}/"
        f"{preset}/seed{seed}.json"
    )


def experiment_metrics(experiment, conventions=("standard",), presets=("release",)):
    """Every metrics JSON an experiment's report reads."""
    return [
        metrics_path(dataset, convention, split, segmenter, row, preset, seed)
        for dataset, segmenter in cells(experiment)
        for row in experiment_rows(experiment, segmenter)
        for preset in presets
        for convention in conventions
        for split in splits(dataset)
        for seed in SEEDS
    ]


def table_metrics(wildcards):
    return experiment_metrics(f"table{wildcards.table}")


def synthetic_video_features(wildcards):
    """Feature files of every rendered synthetic video (names known after the checkpoint)."""
    folder = checkpoints.synth_videos.get().output[0]  # defined in features.smk
    names = sorted(os.path.splitext(name)[0] for name in os.listdir(f"{folder}/videos"))
    return [f"{RESULTS}/features/synthetic_videos/{name}.npy" for name in names]
