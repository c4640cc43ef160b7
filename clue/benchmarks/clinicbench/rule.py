"""ClinicBench's scoring rule, as data for the core's `ScoreRule`: groups = the paper's three scenarios.

Task score = the dataset's primary figure (accuracy, F1, example-based F1, entity F1, ROUGE-L); a scenario
average = the unweighted mean of its runnable datasets' scores (kit choice: the paper reports per-dataset
numbers; no scenario average of it is known to the kit). Referral QA is unavailable and in no group.
"""

from __future__ import annotations

from clue.benchmarks.clinicbench.datasets import DATASETS, SCENARIOS
from clue.score_rule import Group, ScoreRule

_RUNNABLE = tuple(d for d in DATASETS if d.runnable)
PRIMARY = {d.title: d.answer.metrics[0] for d in _RUNNABLE if d.answer is not None}  # the answer kind's primary figure
RULE = ScoreRule(
    task_metrics={title: (m,) for title, m in PRIMARY.items()},
    groups=tuple(Group(s, s.capitalize(), tuple(d.title for d in _RUNNABLE if d.scenario == s)) for s in SCENARIOS),
    binary_metrics=frozenset({"accuracy"}),
)
