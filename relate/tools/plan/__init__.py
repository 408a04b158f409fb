"""``relate plan``: jobs and CPU/GPU-hours of a workflow config, from a per-frame cost model.

* :mod:`relate.tools.plan.calibration`: the per-frame seconds of one machine (read, check);
* :mod:`relate.tools.plan.measure`: measuring them on this machine (torch, OpenCV);
* :mod:`relate.tools.plan.stats`: frames per video and videos per split of the real datasets;
* :mod:`relate.tools.plan.dag`: the jobs of a config, from a Snakemake dry run (a subprocess;
  nothing here imports Snakemake);
* :mod:`relate.tools.plan.model`: the cost of each job and the per-rule table.

See docs/plan.md.
"""
