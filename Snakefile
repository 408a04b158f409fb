# RELATE reproduction suite: the workflow entry point (thin: config, includes, targets).
# Every rule calls the `relate` CLI (the one installed beside the Python that runs Snakemake;
# see RELATE in workflow/rules/common.smk); each step also runs by hand. See README.md.
#   snakemake --cores 8 reports/table1.md                       # the paper run (real data)
#   snakemake --cores 2 --configfile config/demo.yaml           # every report, synthetic data
import os

from snakemake.utils import min_version

min_version("9.0")

DEFAULT_CONFIG = os.path.join(workflow.basedir, "config", "config.yaml")
"""The paper run's config: used only when no --configfile is given. A --configfile is used
alone, never merged over it (so a config that lacks `epochs` or `device` is refused by the
schema instead of inheriting the paper run's); several --configfile merge in order, as
Snakemake merges them, and --config KEY=VALUE applies on top of whichever config is used.
SLURM jobs get the main process's config files as --configfiles, so they load the same."""

if not workflow.overwrite_configfiles:

    configfile: DEFAULT_CONFIG


include: "workflow/rules/common.smk"
include: "workflow/rules/constraints.smk"
include: "workflow/rules/matrix.smk"
include: "workflow/rules/paths.smk"
include: "workflow/rules/job_args.smk"
include: "workflow/rules/report_inputs.smk"
include: "workflow/rules/study_inputs.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/study.smk"


# The paper's reports need `experiments`; a config with only a `study` has none of them.
if EXPERIMENTS:

    include: "workflow/rules/report.smk"


rule all:
    input:
        report_files(),
