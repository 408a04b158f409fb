# Downloads: the standard MS-TCN features archive and the pytorch-i3d weights, verified.
# `relate download` checks every file against its pinned checksum before use (see
# docs/downloads.md). Breakfast has no pinned checksum: set config download.sha256.breakfast
# (or download.allow_unpinned: true, which records the sha256 it saw) or the job stops with
# a one-line error saying so.


rule download_features:
    output:
        directory("data/{dataset}"),
    params:
        cache="resources/downloads",
        checksum=download_checksum_flags,
    log:
        "logs/download_features/{dataset}.log",
    benchmark:
        "logs/download_features/{dataset}.benchmark.tsv"
    wildcard_constraints:
        dataset="gtea|50salads|breakfast",
    message:
        "download and verify the MS-TCN features of {wildcards.dataset}"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
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
    message:
        "download and verify the pytorch-i3d {wildcards.stream} weights"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    shell:
        "relate download --what i3d-weights --stream {wildcards.stream} "
        "--out $(dirname {output}) > {log} 2>&1"
