"""ClinicBench's scoring rule for the core (`Benchmark.scoring`): groups = the paper's three scenarios.

Task score = the dataset's primary figure (accuracy, F1, example-based F1, entity F1, ROUGE-L); a scenario
average = the unweighted mean of its runnable datasets' scores (kit choice: the paper reports per-dataset
numbers; no scenario average of it is known to the kit). Referral QA is unavailable and in no group.
"""

from __future__ import annotations

from typing import Mapping

from clue.benchmarks.clinicbench.datasets import DATASETS, SCENARIOS

_RUNNABLE = tuple(d for d in DATASETS if d.runnable)
PRIMARY = {d.title: d.answer.metrics[0] for d in _RUNNABLE if d.answer is not None}  # the answer kind's primary figure
TASK_METRICS: dict[str, tuple[str, ...]] = {title: (m,) for title, m in PRIMARY.items()}
LEVELS: dict[str, tuple[str, ...]] = {s: tuple(d.title for d in _RUNNABLE if d.scenario == s) for s in SCENARIOS}
LEVEL_TITLES = {s: s.capitalize() for s in SCENARIOS}
TASK_ORDER: tuple[str, ...] = tuple(t for group in LEVELS.values() for t in group)
BINARY_METRICS = frozenset({"accuracy"})


def task_score(title: str, metrics: Mapping[str, float | None]) -> float | None:
    listed = TASK_METRICS.get(title)
    if not listed or metrics.get(listed[0]) is None:
        return None
    return float(metrics[listed[0]])  # type: ignore[arg-type]


def partial_task_score(title: str, metrics: Mapping[str, float | None]) -> tuple[float | None, tuple[str, ...]]:
    score = task_score(title, metrics)
    return score, (() if score is not None or title not in TASK_METRICS else TASK_METRICS[title])


def level_score(level: str, task_scores: Mapping[str, float | None]) -> float | None:
    """The scenario average, or None unless every runnable dataset of the scenario has a score."""
    titles = LEVELS[level]
    if not titles or any(task_scores.get(t) is None for t in titles):
        return None
    return sum(float(task_scores[t] or 0.0) for t in titles) / len(titles)  # every title has a score (checked above)
