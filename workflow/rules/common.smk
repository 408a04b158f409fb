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


def demo_metrics_paths():
    """Every metrics JSON the demo report needs."""
    return [
        f"{RESULTS}/metrics/synthetic/{convention}/split{split}/{predictor}.json"
        for convention in config["conventions"]
        for split in config["splits"]
        for predictor in config["trivial_predictors"]
    ]


def demo_report_path():
    return config["report"]
