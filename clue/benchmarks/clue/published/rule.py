"""CLUE v3's aggregate rule, as code (clue_paper.md §3, derived from the published numbers).

Task score = unweighted mean of the metrics the authors list for the task; Level 1 = mean of
MedNLI, MeQSum and ProblemSummary; Level 2 = mean of MeDiSumQA, MeDiSumCode and LongHealth.
The rule reproduces all 25 published Level-1 and 18 Level-2 averages to ±0.01
(tests/benchmarks/clue/test_published.py). Tasks are named by their paper titles, as in the published CSV.
"""

from __future__ import annotations

from typing import Mapping

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "MedNLI": ("accuracy",),
    "MeQSum": ("rougeL", "rouge1", "rouge2", "bertscore_f1"),
    "ProblemSummary": ("rougeL", "rouge1", "rouge2", "bertscore_f1", "umls_f1"),
    "MeDiSumQA": ("rougeL", "rouge1", "rouge2", "bertscore_f1", "umls_f1"),
    "MeDiSumCode": ("icd_em_f1", "icd_ap_f1", "valid_codes"),
    "LongHealth": ("task1_acc", "task2_acc", "task3_acc"),
}
LEVELS: dict[str, tuple[str, ...]] = {
    "Level1": ("MedNLI", "MeQSum", "ProblemSummary"),
    "Level2": ("MeDiSumQA", "MeDiSumCode", "LongHealth"),
}
LEVEL_TITLES = {"Level1": "Level 1", "Level2": "Level 2"}
TASK_ORDER: tuple[str, ...] = tuple(t for level in LEVELS.values() for t in level)
BINARY_METRICS = frozenset({"accuracy", "task1_acc", "task2_acc", "task3_acc"})  # per sample 0 or 100


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def task_score(title: str, metrics: Mapping[str, float | None]) -> float | None:
    """The task score, or None when the task is unknown or any listed metric is missing."""
    listed = TASK_METRICS.get(title)
    if not listed or any(metrics.get(m) is None for m in listed):
        return None
    return _mean([float(metrics[m]) for m in listed])  # type: ignore[arg-type]


def partial_task_score(title: str, metrics: Mapping[str, float | None]) -> tuple[float | None, tuple[str, ...]]:
    """(mean over the listed metrics that are present, the listed metrics that are missing).

    A run without the optional BERTScore/UMLS stacks still gets a score, but it is not comparable
    with the published one; callers must show the missing metrics next to it.
    """
    listed = TASK_METRICS.get(title, ())
    present = [float(metrics[m]) for m in listed if metrics.get(m) is not None]  # type: ignore[arg-type]
    missing = tuple(m for m in listed if metrics.get(m) is None)
    return (_mean(present) if present else None), missing


def level_score(level: str, task_scores: Mapping[str, float | None]) -> float | None:
    """The Level average, or None unless all three of its tasks have a score."""
    tasks = LEVELS[level]
    if any(task_scores.get(t) is None for t in tasks):
        return None
    return _mean([float(task_scores[t]) for t in tasks])  # type: ignore[arg-type]
