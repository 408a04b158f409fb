# Wildcard constraints shared by every rule, and the environment variables jobs rely on.


envvars:
    "PATH",


wildcard_constraints:
    dataset=r"[a-z0-9_]+(-[a-z_]+-[0-9.eE+-]+)?",
    split=r"\d+",
    seed=r"\d+",
    segmenter=r"mstcn|asformer|fact",
    run=r"[A-Za-z0-9_+=.-]+",
    rowslug=r"[A-Za-z0-9_+=.-]+",
    preset=r"release|paper_literal",
    convention=r"standard|fact|relate_release",
    table=r"[1-4]",
    method=r"[a-z_]+",
    rows=r"[a-z]+",
