"""CLUE v3's aggregate rule, as data for the core's `ScoreRule` (clue_paper.md §3, derived from the published numbers).

Task score = unweighted mean of the metrics the authors list for the task; Level 1 = mean of
MedNLI, MeQSum and ProblemSummary; Level 2 = mean of MeDiSumQA, MeDiSumCode and LongHealth.
The rule reproduces all 25 published Level-1 and 18 Level-2 averages to ±0.01
(tests/benchmarks/clue/test_published.py). Tasks are named by their paper titles, as in the published CSV.
CLUE's scoring quirks (Q1, Q23) live in its task code, never here.
"""

from __future__ import annotations

from clue.score_rule import Group, ScoreRule

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "MedNLI": ("accuracy",),
    "MeQSum": ("rougeL", "rouge1", "rouge2", "bertscore_f1"),
    "ProblemSummary": ("rougeL", "rouge1", "rouge2", "bertscore_f1", "umls_f1"),
    "MeDiSumQA": ("rougeL", "rouge1", "rouge2", "bertscore_f1", "umls_f1"),
    "MeDiSumCode": ("icd_em_f1", "icd_ap_f1", "valid_codes"),
    "LongHealth": ("task1_acc", "task2_acc", "task3_acc"),
}
RULE = ScoreRule(
    task_metrics=TASK_METRICS,
    groups=(Group("Level1", "Level 1", ("MedNLI", "MeQSum", "ProblemSummary")),
            Group("Level2", "Level 2", ("MeDiSumQA", "MeDiSumCode", "LongHealth"))),
    binary_metrics=frozenset({"accuracy", "task1_acc", "task2_acc", "task3_acc"}),  # per sample 0 or 100
)
