# Raw-video stage: synthetic videos -> TV-L1 flow per video (-> I3D features, below).
# Paths: {RESULTS}/data/synthetic_videos/ (videos/, groundTruth/, splits/, mapping.txt)
#        resources/{dataset}/videos/{video}.*   (real datasets: raw videos, not generated;
#                                                `relate flow --videos` takes either folder)
#        {RESULTS}/flow/{dataset}/{video}.npz   (raw TV-L1 flow; temp: large)
#        {RESULTS}/data/synthetic_videos_features/  (the layout again, with features/: validated)
# Knobs: config["video_pipeline"] {enabled, videos, frames, size} and config["features"]
# (threads: of each flow and features job).

SYNTH_VIDEOS_DIR = f"{RESULTS}/data/synthetic_videos"
SYNTH_VIDEOS = {"seed": DATA["synthetic_seed"], **config["video_pipeline"]}
# Rendering, flow and features jobs go first: they head the real-data pipeline, and a
# multi-thread job left to the end waits for every core to be free at once.
VIDEO_PRIORITY = 10
VIDEO_THREADS = config["features"].get("threads", 2)


# Render the small synthetic video dataset (moving shapes; motion defines the action).
checkpoint synth_videos:
    output:
        directory(SYNTH_VIDEOS_DIR),
    log:
        f"{RESULTS}/logs/synth_videos.log",
    benchmark:
        f"{RESULTS}/benchmarks/synth_videos.tsv"
    priority: VIDEO_PRIORITY
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        seed=SYNTH_VIDEOS["seed"],
        videos=SYNTH_VIDEOS["videos"],
        frames=SYNTH_VIDEOS["frames"],
        size=SYNTH_VIDEOS["size"],
    shell:
        "relate synth-videos --out {output} --seed {params.seed} --videos {params.videos}"
        " --frames {params.frames} --size {params.size} > {log} 2>&1"


# TV-L1 flow of one video (OpenCV, pinned parameters, native resolution).
rule flow:
    input:
        branch(
            evaluate("{dataset} == 'synthetic_videos'"),
            then=SYNTH_VIDEOS_DIR,
            otherwise="resources/{dataset}/videos",
        ),
    output:
        temp(f"{RESULTS}/flow/{{dataset}}/{{video}}.npz"),
    log:
        f"{RESULTS}/logs/flow/{{dataset}}/{{video}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/flow/{{dataset}}/{{video}}.tsv"
    wildcard_constraints:
        dataset=r"[a-z0-9_]+",
        video=r"[A-Za-z0-9_.-]+",
    priority: VIDEO_PRIORITY
    conda:
        CONDA_ENV
    threads: VIDEO_THREADS
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        out=subpath(output[0], parent=True),
    shell:
        "relate flow --videos {input} --out {params.out} --video {wildcards.video}"
        " --threads {threads} --force > {log} 2>&1"


# --- I3D features (rule `features`) --------------------------------------------------------
# Paths: {RESULTS}/features/{dataset}/{video}.npy (2048, T) + {video}.features.json (weights,
# fallback, settings). Knobs: config["features"] {padding, batch_size, bf16, rgb_weights,
# flow_weights, threads}.
FEATURES = config["features"]
FEATURES_FLAGS = " ".join(
    [
        f"--padding {FEATURES.get('padding', 'extractor')}",
        f"--batch-size {FEATURES.get('batch_size', 4)}",
        "--bf16" if FEATURES.get("bf16", False) else "",
        f"--rgb-weights {FEATURES['rgb_weights']}" if FEATURES.get("rgb_weights") else "",
        f"--flow-weights {FEATURES['flow_weights']}" if FEATURES.get("flow_weights") else "",
    ]
).strip()


# Per-frame I3D RGB + flow features of one video (21-frame windows; CPU when no GPU).
rule features:
    input:
        videos=branch(
            evaluate("{dataset} == 'synthetic_videos'"),
            then=SYNTH_VIDEOS_DIR,
            otherwise="resources/{dataset}/videos",
        ),
        flow=f"{RESULTS}/flow/{{dataset}}/{{video}}.npz",
    output:
        npy=f"{RESULTS}/features/{{dataset}}/{{video}}.npy",
        meta=f"{RESULTS}/features/{{dataset}}/{{video}}.features.json",
    log:
        f"{RESULTS}/logs/features/{{dataset}}/{{video}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/features/{{dataset}}/{{video}}.tsv"
    wildcard_constraints:
        dataset=r"[a-z0-9_]+",
        video=r"[A-Za-z0-9_.-]+",
    priority: VIDEO_PRIORITY
    conda:
        CONDA_ENV
    threads: VIDEO_THREADS
    resources:
        gpu=GPU_JOBS,
        mem_mb=8000,
        runtime=240,
    params:
        flow=subpath(input.flow, parent=True),
        out=subpath(output.npy, parent=True),
        flags=FEATURES_FLAGS,
        device=config["device"],
    shell:
        "relate features --videos {input.videos} --flow {params.flow} --out {params.out}"
        " --video {wildcards.video} --device {params.device} --threads {threads} {params.flags}"
        " > {log} 2>&1"


# The rendered videos' features in the MS-TCN layout, validated: video -> flow -> I3D -> check.
rule video_dataset:
    input:
        videos=SYNTH_VIDEOS_DIR,
        features=synthetic_video_features,
    output:
        directory(f"{RESULTS}/data/synthetic_videos_features"),
    log:
        f"{RESULTS}/logs/video_dataset.log",
    benchmark:
        f"{RESULTS}/benchmarks/video_dataset.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "rm -rf {output}.tmp && mkdir -p {output}.tmp/features"
        " && cp {input.features} {output}.tmp/features/"
        " && cp -r {input.videos}/groundTruth {input.videos}/splits {input.videos}/mapping.txt"
        " {input.videos}/info.json {output}.tmp/"
        " && relate validate {output}.tmp > {log} 2>&1 && mv {output}.tmp {output}"
