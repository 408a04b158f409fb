# Data stage: generate the synthetic dataset and validate it.


rule synth_dataset:
    output:
        directory(SYNTHETIC_DIR),
    params:
        seed=config["synthetic"]["seed"],
        videos=config["synthetic"]["videos"],
    log:
        f"{RESULTS}/logs/synth_dataset.log",
    benchmark:
        f"{RESULTS}/benchmarks/synth_dataset.tsv"
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate synth --out {output} --seed {params.seed} --videos {params.videos} > {log} 2>&1"


rule validate_dataset:
    input:
        SYNTHETIC_DIR,
    output:
        f"{RESULTS}/validated/synthetic.txt",
    log:
        f"{RESULTS}/logs/validate_dataset.log",
    benchmark:
        f"{RESULTS}/benchmarks/validate_dataset.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "relate validate {input} > {output} 2> {log}"
