# RELATE reproduction suite: the workflow entry point (thin: config, includes, targets).
# Every rule calls the `relate` CLI; each step also runs by hand. See README.md.
#   snakemake --cores 8 reports/table1.md                       # the paper run (real data)
#   snakemake --cores 2 --configfile config/demo.yaml           # every report, synthetic data
import os

from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config/config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        report_files(),
