"""The reproduction scorecard (reports/index.md): which of the paper's claims hold in the runs.

Each claim is a comparison the paper makes in Sec. 4.2-4.4 or in the captions of Figs. 1
and 3. :func:`claims` checks every claim against the runs and returns a :class:`Claim`
with a verdict (**holds**, **does not hold** or **not run**) and the numbers it used;
:func:`scorecard` renders them, followed by "Interpretations in use" (the options each
preset put in force), the data source and links to the tables and figures.

Numbers: per (dataset, segmenter, row) the mean over seeds of each seed's unweighted mean
over splits (:func:`relate.reports.tables.cell_stats`), convention ``standard`` and preset
``release`` unless told otherwise. "Avg" is the mean of the five metrics; "mean F1" the mean
of F1@{10,25,50}.

Modules: ``evidence`` (verdicts, :class:`Claim`, :class:`Runs`), ``run_claims`` (the claims
checked on the runs), ``latency_claims`` (the Fig. 3 timing claims), ``catalogue`` (every
claim and :func:`claims`), ``render`` (:func:`scorecard`).
"""

from __future__ import annotations

from relate.reports.scorecard.catalogue import RUN_CLAIMS, ClaimCheck, claims
from relate.reports.scorecard.evidence import (
    F1,
    FAILS,
    HOLDS,
    MATCH_TOLERANCE,
    NOT_RUN,
    Claim,
    Runs,
    mean_f1,
    value,
)
from relate.reports.scorecard.latency_claims import load_latency_totals
from relate.reports.scorecard.render import DEFAULT_LINKS, interpretations, scorecard

__all__ = [
    "DEFAULT_LINKS",
    "F1",
    "FAILS",
    "HOLDS",
    "MATCH_TOLERANCE",
    "NOT_RUN",
    "RUN_CLAIMS",
    "Claim",
    "ClaimCheck",
    "Runs",
    "claims",
    "interpretations",
    "load_latency_totals",
    "mean_f1",
    "scorecard",
    "value",
]
