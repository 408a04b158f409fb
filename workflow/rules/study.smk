# The controlled study (config `study`; docs/study_cmkd.md): one generator knob of a synthetic
# stand-in swept over values, the same rows trained at each, one report of gains against it.
# It reuses the data, train, predict and evaluate rules: a swept dataset is a dataset of its
# own (`synthetic_gtea-motion_leak-0.2`, rule synth_sweep_dataset) whose runs use the
# registry row of `synthetic_gtea`.


def study_reports():
    """The study's report files (none without a `study` section)."""
    if not STUDY:
        return []
    return [f"{REPORTS}/{STUDY['name']}.md", f"{REPORTS}/{STUDY['name']}.png"]


def study_rows():
    """(row, preset) pairs of the study: every row under the release preset, then the rows
    listed under another preset."""
    pairs = [(row, "release") for row in STUDY["rows"]]
    for preset, rows in STUDY.get("presets", {}).items():
        pairs += [(row, preset) for row in rows]
    return pairs


def study_metrics():
    """Every metrics JSON the study's report reads."""
    return [
        metrics_path(dataset, "standard", split, segmenter, row, preset, seed)
        for segmenter in STUDY["values"]
        for dataset in study_datasets(segmenter)
        for row, preset in study_rows()
        for split in splits(dataset)
        for seed in SEEDS
    ]


def study_probes():
    """One linear-probe JSON per swept dataset (what RGB alone tells apart at each value)."""
    datasets = dict.fromkeys(d for s in STUDY["values"] for d in study_datasets(s))
    return [f"{RESULTS}/probes/{dataset}/split{STUDY['probe_split']}.json" for dataset in datasets]


if STUDY:

    localrules:
        study_report,

    rule study_report:
        input:
            metrics=study_metrics(),
            probes=study_probes(),
        output:
            md=report(
                f"{REPORTS}/{STUDY['name']}.md", caption="../report/study.rst", category="Study"
            ),
            csv=f"{REPORTS}/{STUDY['name']}.csv",
            png=report(
                f"{REPORTS}/{STUDY['name']}.png", caption="../report/study.rst", category="Study"
            ),
        log:
            f"{RESULTS}/logs/report/{STUDY['name']}.log",
        benchmark:
            f"{RESULTS}/benchmarks/report/{STUDY['name']}.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            knob=STUDY["knob"],
            baseline=STUDY["baseline"],
            reference=STUDY["reference"],
        shell:
            "relate report study --metrics {input.metrics} --probes {input.probes}"
            " --knob {params.knob} --baseline {params.baseline} --reference {params.reference}"
            " --out {output.md} > {log} 2>&1"
