# Data stage: the synthetic stand-ins (or downloaded real features) and their validation.


rule synth_dataset:
    output:
        directory(f"{RESULTS}/data/synthetic_{{paper}}"),
    log:
        f"{RESULTS}/logs/synth_dataset/{{paper}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synth_dataset/{{paper}}.tsv"
    wildcard_constraints:
        paper=r"gtea|50salads|breakfast",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=DATA["synthetic_seed"],
        size=synthetic_size_args,
    shell:
        "relate synth --out {output} --like {wildcards.paper} --seed {params.seed}"
        " {params.size} > {log} 2>&1"


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


rule synth_sweep_dataset:
    output:
        directory(f"{RESULTS}/data/synthetic_{{paper}}-{{knob}}-{{value}}"),
    log:
        f"{RESULTS}/logs/synth_dataset/{{paper}}-{{knob}}-{{value}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/synth_dataset/{{paper}}-{{knob}}-{{value}}.tsv"
    wildcard_constraints:
        paper=r"gtea|50salads|breakfast",
        knob=r"[a-z_]+",
        value=r"[0-9.eE+-]+",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        seed=DATA["synthetic_seed"],
        size=synthetic_size_args,
    shell:
        "relate synth --out {output} --like {wildcards.paper} --seed {params.seed}"
        " {params.size} --set {wildcards.knob}={wildcards.value} > {log} 2>&1"


rule probe_dataset:
    input:
        data=data_dir_of,
        valid=f"{RESULTS}/validated/{{dataset}}.txt",
    output:
        f"{RESULTS}/probes/{{dataset}}/split{{split}}.json",
    log:
        f"{RESULTS}/logs/probe_dataset/{{dataset}}/split{{split}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/probe_dataset/{{dataset}}/split{{split}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    shell:
        "OMP_NUM_THREADS={threads} relate synth --describe {input.data} --split {wildcards.split}"
        " --json {output} > {log} 2>&1"
