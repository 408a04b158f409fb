# Data stage: the synthetic dataset (or downloaded real features) and its validation.


rule synth_dataset:
    output:
        directory(f"{RESULTS}/data/synthetic"),
    log:
        f"{RESULTS}/logs/synth_dataset.log",
    benchmark:
        f"{RESULTS}/benchmarks/synth_dataset.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=DATA["synthetic_seed"],
        videos=DATA["synthetic_videos"],
        frames=DATA["synthetic_frames"],
    shell:
        "relate synth --out {output} --seed {params.seed} --videos {params.videos}"
        " --min-frames {params.frames[0]} --max-frames {params.frames[1]} > {log} 2>&1"


rule validate_dataset:
    input:
        data_dir_of,
    output:
        f"{RESULTS}/validated/{{dataset}}.txt",
    log:
        f"{RESULTS}/logs/validate_dataset/{{dataset}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/validate_dataset/{{dataset}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "relate validate {input} > {output}.tmp 2> {log} && mv {output}.tmp {output}"
