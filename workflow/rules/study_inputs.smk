# Inputs of the controlled study's report (config `study`; rules in study.smk).


def study_reports():
    """The study's report files (none without a `study` section)."""
    if not STUDY:
        return []
    return [f"{REPORTS}/{STUDY['name']}.md", f"{REPORTS}/{STUDY['name']}.png"]


def study_rows(segmenter):
    """(row, preset) pairs the study runs with ``segmenter``: its rows under the release
    preset, then (where `presets_with` allows) the rows listed under another preset."""
    rows = STUDY["rows_for"].get(segmenter, STUDY["rows"])
    pairs = [(row, "release") for row in rows]
    if segmenter in STUDY.get("presets_with", list(STUDY["values"])):
        for preset, preset_rows in STUDY["presets"].items():
            pairs += [(row, preset) for row in preset_rows]
    return pairs


def study_metrics():
    """Every metrics JSON the study's report reads."""
    return [
        metrics_path(dataset, "standard", split, segmenter, row, preset, seed)
        for segmenter in STUDY["values"]
        for dataset in study_datasets(segmenter)
        for row, preset in study_rows(segmenter)
        for split in splits(dataset)
        for seed in SEEDS
    ]


def study_probes():
    """One linear-probe JSON per swept dataset (what RGB alone tells apart at each value)."""
    datasets = dict.fromkeys(d for s in STUDY["values"] for d in study_datasets(s))
    return [f"{RESULTS}/probes/{dataset}/split{STUDY['probe_split']}.json" for dataset in datasets]
