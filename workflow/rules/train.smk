# Training stage: one job per (dataset, split, segmenter, run, seed). A distilled run's input
# is its teacher's model.pt (and the bridge's), so teachers always train first. Rerunning a
# killed job resumes from the run folder's checkpoint.pt (relate train).


rule train:
    input:
        unpack(train_inputs),
        data=data_dir_of,
    output:
        f"{RESULTS}/runs/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}/model.pt",
    log:
        f"{RESULTS}/logs/train/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{dataset}}/split{{split}}/{{segmenter}}/{{run}}/seed{{seed}}.tsv"
    priority: train_priority
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=600,
        gpu=GPU_SHARED,
    params:
        out=subpath(output[0], parent=True),
        args=train_args,
        device=config["device"],
        dataset=registry_dataset,
    shell:
        "OMP_NUM_THREADS={threads} relate train --data {input.data}"
        " --dataset {params.dataset} --split {wildcards.split}"
        " --segmenter {wildcards.segmenter} --seed {wildcards.seed}"
        " --out {params.out} --device {params.device} {params.args} > {log} 2>&1"


rule train_bridge:
    input:
        data=data_dir_of,
        valid=f"{RESULTS}/validated/{{dataset}}.txt",
    output:
        f"{RESULTS}/runs/{{dataset}}/split{{split}}/bridge/seed{{seed}}/model.pt",
    log:
        f"{RESULTS}/logs/train_bridge/{{dataset}}/split{{split}}/seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_bridge/{{dataset}}/split{{split}}/seed{{seed}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=8000,
        runtime=120,
        gpu=GPU_SHARED,
    params:
        out=subpath(output[0], parent=True),
        epochs=config["bridge_epochs"],
        device=config["device"],
        dataset=registry_dataset,
    shell:
        "OMP_NUM_THREADS={threads} relate train-bridge --data {input.data}"
        " --dataset {params.dataset} --split {wildcards.split} --seed {wildcards.seed}"
        " --out {params.out} --epochs {params.epochs} --device {params.device} > {log} 2>&1"
