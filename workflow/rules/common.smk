# Config validation, wildcard constraints and the path/input helpers used by the rules.
from snakemake.utils import validate


validate(config, "../schemas/config.schema.yaml", set_default=True)

RESULTS = config["results_dir"]
SYNTHETIC_DIR = f"{RESULTS}/data/synthetic"


wildcard_constraints:
    split=r"\d+",
    method=r"[a-z_]+",
    rows=r"[a-z]+",
    convention=r"[a-z_]+",
    segmenter=r"[a-z]+",
    variant=r"[a-z_]+",
    seed=r"\d+",


def demo_metrics_paths():
    """Every metrics JSON the demo report needs."""
    return [
        f"{RESULTS}/metrics/synthetic/{convention}/split{split}/{predictor}.json"
        for convention in config["conventions"]
        for split in config["splits"]
        for predictor in config["trivial_predictors"]
    ]


def segmenter_metrics_paths():
    """Metrics JSON of every configured segmenter run."""
    training = config["training"]
    return [
        f"{RESULTS}/metrics/synthetic/{convention}/split{split}/{segmenter}-{variant}/seed{seed}.json"
        for convention in config["conventions"]
        for split in training["splits"]
        for segmenter in training["segmenters"]
        for variant in training["variants"]
        for seed in training["seeds"]
    ]


def epochs_option(wildcards):
    """``--epochs E`` when the config overrides the official number of epochs."""
    epochs = config["training"]["epochs"]
    return "" if epochs is None else f"--epochs {epochs}"


def demo_report_path():
    return config["report"]
