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
    learning_curves,


rule table:
    input:
        table_metrics,
    output:
        md=report(f"{REPORTS}/table{{table}}.md", caption="../report/table.rst", category="Tables"),
        csv=f"{REPORTS}/table{{table}}.csv",
    log:
        f"{RESULTS}/logs/report/table{{table}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/table{{table}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        stand_in=stand_in_flag(),
    shell:
        "relate report table --table {wildcards.table} --metrics {input} {params.stand_in}"
        " --out {output.md} > {log} 2>&1"


rule side_conventions:
    input:
        experiment_metrics("conventions", conventions=("standard", "relate_release")),
    output:
        report(
            f"{REPORTS}/side_conventions.md",
            caption="../report/side_conventions.rst",
            category="Side tables",
        ),
    log:
        f"{RESULTS}/logs/report/side_conventions.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/side_conventions.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate report side --kind conventions --metrics {input} --out {output} > {log} 2>&1"


rule side_presets:
    input:
        experiment_metrics("presets", presets=PRESETS),
    output:
        report(
            f"{REPORTS}/side_presets.md",
            caption="../report/side_presets.rst",
            category="Side tables",
        ),
    log:
        f"{RESULTS}/logs/report/side_presets.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/side_presets.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate report side --kind presets --metrics {input} --out {output} > {log} 2>&1"


rule params_table:
    output:
        report(f"{REPORTS}/params.md", caption="../report/params.rst", category="Tables"),
    log:
        f"{RESULTS}/logs/report/params.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/params.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        cells=params_cells,
    shell:
        "relate params {params.cells} --out {output} > {log} 2>&1"


rule fig1:
    input:
        experiment_metrics("fig1"),
    output:
        report(f"{REPORTS}/fig1_acc_f1.png", caption="../report/fig1.rst", category="Figures"),
    log:
        f"{RESULTS}/logs/report/fig1.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig1.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate report fig1 --metrics {input} --out {output} > {log} 2>&1"


rule latency:
    output:
        f"{RESULTS}/latency/{{segmenter}}.json",
    log:
        f"{RESULTS}/logs/latency/{{segmenter}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/latency/{{segmenter}}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=LATENCY_GPU,
    params:
        args=latency_args,
    shell:
        "relate latency {params.args} --segmenter {wildcards.segmenter} --out {output}"
        " > {log} 2>&1"


rule fig3:
    input:
        unpack(fig3_metrics),
        latency=fig3_latency,
    output:
        report(f"{REPORTS}/fig3_latency.png", caption="../report/fig3.rst", category="Figures"),
    log:
        f"{RESULTS}/logs/report/fig3.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig3.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        metrics=fig3_metrics_flags,
    shell:
        "relate fig3 --latency {input.latency} {params.metrics} --out {output}" " > {log} 2>&1"


rule fig4:
    input:
        unpack(fig4_inputs),
    output:
        report(f"{REPORTS}/fig4_qualitative.png", caption="../report/fig4.rst", category="Figures"),
    log:
        f"{RESULTS}/logs/report/fig4.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/fig4.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        args=fig4_args,
    shell:
        "relate report fig4 {params.args} --out {output} > {log} 2>&1"


rule index:
    input:
        metrics=all_metrics(),
        latency=fig3_latency(None),
        trivial=trivial_metrics(),
        reports=report_files(exclude_index=True),
    output:
        report(f"{REPORTS}/index.md", caption="../report/index.rst", category="Scorecard"),
    log:
        f"{RESULTS}/logs/report/index.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/index.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        stand_in=stand_in_flag(),
        trivial=lambda wildcards, input: (
            f"--trivial {' '.join(input.trivial)}" if input.trivial else ""
        ),
        margins=" ".join(str(m) for m in config["sanity_margins"]),
    shell:
        "relate report scorecard --metrics {input.metrics} --latency {input.latency}"
        " {params.trivial} --sanity-margins {params.margins}"
        " {params.stand_in} --out {output} > {log} 2>&1"


rule sanity:
    input:
        trivial_metrics(),
    output:
        f"{REPORTS}/sanity.md",
    log:
        f"{RESULTS}/logs/report/sanity.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/sanity.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "relate summarize {input} --out {output}"
        " --title 'Sanity baselines (trivial predictors) on the synthetic datasets' > {log} 2>&1"


rule learning_curves:
    input:
        curve_runs(),
    output:
        report(
            f"{REPORTS}/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Figures",
        ),
    log:
        f"{RESULTS}/logs/report/learning_curves.log",
    benchmark:
        f"{RESULTS}/benchmarks/report/learning_curves.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        runs=lambda wildcards, input: " ".join(os.path.dirname(path) for path in input),
        caption=learning_curves_caption(),
    shell:
        "relate report curves --runs {params.runs} --caption '{params.caption}'"
        " --out {output} > {log} 2>&1"
