# Prediction and evaluation: one .npz of every head per run, one metrics JSON per paper row
# (a row = a run + a head), convention, split and seed.


rule predict:
    input:
        data=data_dir_of,
        model=f"{RESULTS}/runs/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}/model.pt",
    output:
        f"{RESULTS}/predictions/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}.npz",
    log:
        f"{RESULTS}/logs/predict/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/predict/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=GPU_SHARED,
    params:
        run_dir=subpath(input.model, parent=True),
        device=config["device"],
    shell:
        "OMP_NUM_THREADS={threads} relate predict --run {params.run_dir} --data {input.data}"
        " --split {wildcards.split} --out {output} --device {params.device} > {log} 2>&1"


rule evaluate:
    input:
        unpack(evaluate_inputs),
        data=data_dir_of,
    output:
        f"{RESULTS}/metrics/{{dataset}}/{{convention}}/split{{split}}/{{segmenter}}/{{rowslug}}/{{preset}}/seed{{seed}}.json",
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/{{convention}}/split{{split}}/{{segmenter}}/{{rowslug}}/{{preset}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{dataset}}/{{convention}}/split{{split}}/{{segmenter}}/{{rowslug}}/{{preset}}/seed{{seed}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        head=evaluate_head,
        label=evaluate_label,
        dataset=registry_dataset,
    shell:
        "relate evaluate --data {input.data} --dataset {params.dataset}"
        " --split {wildcards.split} --predictions {input.npz} --head {params.head}"
        " --convention {wildcards.convention} --label '{params.label}' --seed {wildcards.seed}"
        " --out {output} > {log} 2>&1"


rule trivial_predict:
    input:
        data=data_dir_of,
        valid=f"{RESULTS}/validated/{{dataset}}.txt",
    output:
        directory(f"{RESULTS}/predictions/{{dataset}}/split{{split}}/trivial/{{method}}-{{rows}}"),
    log:
        f"{RESULTS}/logs/trivial_predict/{{dataset}}/split{{split}}-{{method}}-{{rows}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/trivial_predict/{{dataset}}/split{{split}}-{{method}}-{{rows}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate trivial --data {input.data} --split {wildcards.split}"
        " --method {wildcards.method} --rows {wildcards.rows} --out {output} > {log} 2>&1"


rule trivial_evaluate:
    input:
        data=data_dir_of,
        predictions=f"{RESULTS}/predictions/{{dataset}}/split{{split}}/trivial/{{method}}-{{rows}}",
    output:
        f"{RESULTS}/metrics/{{dataset}}/standard/split{{split}}/trivial/{{method}}-{{rows}}.json",
    log:
        f"{RESULTS}/logs/trivial_evaluate/{{dataset}}/split{{split}}-{{method}}-{{rows}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/trivial_evaluate/{{dataset}}/split{{split}}-{{method}}-{{rows}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        dataset=registry_dataset,
    shell:
        "relate evaluate --data {input.data} --dataset {params.dataset} --split {wildcards.split}"
        " --predictions {input.predictions} --label {wildcards.method}-{wildcards.rows}"
        " --out {output} > {log} 2>&1"
