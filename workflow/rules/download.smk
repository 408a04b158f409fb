# Downloads: the standard MS-TCN features archive and the pytorch-i3d weights, verified.
# `relate download` checks every file before use (see docs/downloads.md): GTEA and 50Salads
# against pinned sha256s, Breakfast against the checksum its host publishes (Hugging Face LFS
# sha256, else the md5 of Zenodo's data.zip), then the sha256 locked in
# resources/downloads/checksums.lock. Config download.sha256.{dataset} and
# download.allow_unpinned are optional overrides.


rule download_features:
    output:
        directory("data/{dataset}"),
    log:
        "logs/download_features/{dataset}.log",
    benchmark:
        "logs/download_features/{dataset}.benchmark.tsv"
    wildcard_constraints:
        dataset="gtea|50salads|breakfast",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        cache="resources/downloads",
        checksum=download_checksum_flags,
    message:
        "download and verify the MS-TCN features of {wildcards.dataset}"
    shell:
        "relate download --what features --dataset {wildcards.dataset} "
        "--out $(dirname {output}) --cache {params.cache} {params.checksum} > {log} 2>&1"


rule download_i3d_weights:
    output:
        "resources/i3d/{stream}_imagenet.pt",
    log:
        "logs/download_i3d_weights/{stream}.log",
    benchmark:
        "logs/download_i3d_weights/{stream}.benchmark.tsv"
    wildcard_constraints:
        stream="rgb|flow",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    message:
        "download and verify the pytorch-i3d {wildcards.stream} weights"
    shell:
        "relate download --what i3d-weights --stream {wildcards.stream} "
        "--out $(dirname {output}) > {log} 2>&1"
