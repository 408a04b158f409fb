# Segmenter runs: train (one job per dataset/split/segmenter/variant/seed), then predict.


rule train_segmenter:
    input:
        data=SYNTHETIC_DIR,
        validated=f"{RESULTS}/validated/synthetic.txt",
    output:
        f"{RESULTS}/runs/synthetic/split{{split}}/{{segmenter}}/{{variant}}/seed{{seed}}/model.pt",
    params:
        run_dir=subpath(output[0], parent=True),
        epochs=epochs_option,
        device=config["training"]["device"],
    log:
        f"{RESULTS}/logs/train/split{{split}}-{{segmenter}}-{{variant}}-seed{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/split{{split}}-{{segmenter}}-{{variant}}-seed{{seed}}.tsv"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    shell:
        "OMP_NUM_THREADS={threads} relate train --data {input.data} --dataset synthetic"
        " --split {wildcards.split} --segmenter {wildcards.segmenter} --variant {wildcards.variant}"
        " --seed {wildcards.seed} --out {params.run_dir} {params.epochs} --device {params.device}"
        " > {log} 2>&1"


rule predict_segmenter:
    input:
        data=SYNTHETIC_DIR,
        model=f"{RESULTS}/runs/synthetic/split{{split}}/{{segmenter}}/{{variant}}/seed{{seed}}/model.pt",
    output:
        f"{RESULTS}/predictions/synthetic/split{{split}}/{{segmenter}}/{{variant}}/seed{{seed}}.npz",
    params:
        run_dir=subpath(input.model, parent=True),
        device=config["training"]["device"],
    log:
        f"{RESULTS}/logs/predict/split{{split}}-{{segmenter}}-{{variant}}-seed{{seed}}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    shell:
        "OMP_NUM_THREADS={threads} relate predict --run {params.run_dir} --data {input.data}"
        " --split {wildcards.split} --out {output} --device {params.device} > {log} 2>&1"


rule evaluate_segmenter:
    input:
        data=SYNTHETIC_DIR,
        predictions=f"{RESULTS}/predictions/synthetic/split{{split}}/{{segmenter}}/{{variant}}/seed{{seed}}.npz",
    output:
        f"{RESULTS}/metrics/synthetic/{{convention}}/split{{split}}/{{segmenter}}-{{variant}}/seed{{seed}}.json",
    log:
        f"{RESULTS}/logs/evaluate/{{convention}}-split{{split}}-{{segmenter}}-{{variant}}-seed{{seed}}.log",
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "relate evaluate --data {input.data} --dataset synthetic --split {wildcards.split}"
        " --predictions {input.predictions} --convention {wildcards.convention}"
        " --label {wildcards.segmenter}-{wildcards.variant} --seed {wildcards.seed}"
        " --out {output} > {log} 2>&1"
