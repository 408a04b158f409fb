# Report stage: Tables 1-4 (paper vs reproduced), side tables, parameter table, figures and
# the scorecard (reports/index.md). Every rule calls `relate report ...` / `relate params`.


localrules:
    table,
    side_conventions,
    side_presets,
    params_table,
    fig1,
    fig3,
    fig4,
    index,
    sanity,


def stand_in_flag():
    """Synthetic data stands in for every paper dataset: the reports must say so."""
    return "--stand-in synthetic" if SYNTHETIC else ""


rule table:
    input:
        table_metrics,
    output:
        md=report(f"{REPORTS}/table{{table}}.md", caption="../report/table.rst",
                  category="Tables"),
        csv=f"{REPORTS}/table{{table}}.csv",
    params:
        stand_in=stand_in_flag(),
    log:
        f"{RESULTS}/logs/report/table{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/table{{table}}.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report table --table {wildcards.table} --metrics {input} {params.stand_in}"
        " --out {output.md} > {log} 2>&1"


rule side_conventions:
    input:
        experiment_metrics("conventions", conventions=("standard", "relate_release")),
    output:
        report(f"{REPORTS}/side_conventions.md", caption="../report/side_conventions.rst",
               category="Side tables"),
    log:
        f"{RESULTS}/logs/report/side_conventions.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/side_conventions.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report side --kind conventions --metrics {input} --out {output} > {log} 2>&1"


rule side_presets:
    input:
        experiment_metrics("presets", presets=PRESETS),
    output:
        report(f"{REPORTS}/side_presets.md", caption="../report/side_presets.rst",
               category="Side tables"),
    log:
        f"{RESULTS}/logs/report/side_presets.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/side_presets.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report side --kind presets --metrics {input} --out {output} > {log} 2>&1"


rule params_table:
    output:
        report(f"{REPORTS}/params.md", caption="../report/params.rst", category="Tables"),
    params:
        cells=params_cells,
    log:
        f"{RESULTS}/logs/report/params.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/params.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} params {params.cells} --out {output} > {log} 2>&1"


rule fig1:
    input:
        experiment_metrics("fig1"),
    output:
        report(f"{REPORTS}/fig1_acc_f1.png", caption="../report/fig1.rst", category="Figures"),
    log:
        f"{RESULTS}/logs/report/fig1.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig1.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report fig1 --metrics {input} --out {output} > {log} 2>&1"


rule latency:
    output:
        f"{RESULTS}/latency/{{segmenter}}.json",
    params:
        args=latency_args,
    log:
        f"{RESULTS}/logs/latency/{{segmenter}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/latency/{{segmenter}}.tsv"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=LATENCY_GPU,
    shell:
        "{RELATE:q} latency {params.args} --segmenter {wildcards.segmenter} --out {output}"
        " > {log} 2>&1"


rule fig3:
    input:
        unpack(fig3_metrics),
        latency=fig3_latency,
    output:
        report(f"{REPORTS}/fig3_latency.png", caption="../report/fig3.rst", category="Figures"),
    params:
        metrics=fig3_metrics_flags,
    log:
        f"{RESULTS}/logs/report/fig3.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig3.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} fig3 --latency {input.latency} {params.metrics} --out {output}"
        " > {log} 2>&1"


rule fig4:
    input:
        unpack(fig4_inputs),
    output:
        report(f"{REPORTS}/fig4_qualitative.png", caption="../report/fig4.rst",
               category="Figures"),
    params:
        args=fig4_args,
    log:
        f"{RESULTS}/logs/report/fig4.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig4.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report fig4 {params.args} --out {output} > {log} 2>&1"


rule index:
    input:
        metrics=all_metrics(),
        latency=fig3_latency(None),
        reports=report_files(exclude_index=True),
    output:
        report(f"{REPORTS}/index.md", caption="../report/index.rst", category="Scorecard"),
    params:
        stand_in=stand_in_flag(),
    log:
        f"{RESULTS}/logs/report/index.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/index.tsv",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{RELATE:q} report scorecard --metrics {input.metrics} --latency {input.latency}"
        " {params.stand_in} --out {output} > {log} 2>&1"


rule sanity:
    input:
        trivial_metrics(),
    output:
        f"{REPORTS}/sanity.md",
    log:
        f"{RESULTS}/logs/report/sanity.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/sanity.tsv",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "{RELATE:q} summarize {input} --out {output}"
        " --title 'Sanity baselines (trivial predictors) on the synthetic dataset' > {log} 2>&1"
