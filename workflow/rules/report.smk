# Report stage: the demo summary table.


rule demo_report:
    input:
        demo_metrics_paths(),
        segmenter_metrics_paths(),
    output:
        demo_report_path(),
    log:
        f"{RESULTS}/logs/demo_report.log",
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "relate summarize {input} --out {output}"
        " --title 'Demo: sanity baselines and short segmenter trainings on the synthetic dataset'"
        " > {log} 2>&1"
