"""Tools around the pipeline: latency measurement, parity with the authors' release,
parameter counts, the workflow's config checks and the cost planner."""
