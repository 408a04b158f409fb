# Prediction and evaluation stage (sanity baselines until the segmenters exist).


rule trivial_predict:
    input:
        data=SYNTHETIC_DIR,
        validated=f"{RESULTS}/validated/synthetic.txt",
    output:
        directory(f"{RESULTS}/predictions/synthetic/split{{split}}/{{method}}-{{rows}}"),
    log:
        f"{RESULTS}/logs/trivial_predict/split{{split}}-{{method}}-{{rows}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/trivial_predict/split{{split}}-{{method}}-{{rows}}.tsv"
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "relate trivial --data {input.data} --split {wildcards.split} --method {wildcards.method}"
        " --rows {wildcards.rows} --out {output} > {log} 2>&1"


rule evaluate_predictions:
    input:
        data=SYNTHETIC_DIR,
        predictions=f"{RESULTS}/predictions/synthetic/split{{split}}/{{method}}-{{rows}}",
    output:
        f"{RESULTS}/metrics/synthetic/{{convention}}/split{{split}}/{{method}}-{{rows}}.json",
    log:
        f"{RESULTS}/logs/evaluate/{{convention}}-split{{split}}-{{method}}-{{rows}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{convention}}-split{{split}}-{{method}}-{{rows}}.tsv"
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "relate evaluate --data {input.data} --dataset synthetic --split {wildcards.split}"
        " --predictions {input.predictions} --convention {wildcards.convention}"
        " --label {wildcards.method}-{wildcards.rows} --out {output} > {log} 2>&1"
