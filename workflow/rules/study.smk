# The controlled study (config `study`; docs/study_cmkd.md): one generator knob of a synthetic
# stand-in swept over values, the same rows trained at each, one report of gains against it.
# It reuses the data, train, predict and evaluate rules: a swept dataset is a dataset of its
# own (`synthetic_gtea-motion_leak-0.2`, rule synth_sweep_dataset) whose runs use the
# registry row of `synthetic_gtea`.


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
