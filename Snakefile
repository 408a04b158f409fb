# RELATE reproduction suite: the workflow entry point (thin: config, includes, targets).
# Every rule calls the `relate` CLI; each step also runs by hand. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/demo.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


rule all:
    input:
        demo_report_path(),
