"""The scoring rule of a run's benchmark (task scores, group averages), for stats, verify and report.

A benchmark declares its rule (`Benchmark.scoring`); runs that name no known benchmark, or a benchmark
without a rule, get `PLAIN`: no task scores beyond the metrics themselves and no groups.
"""

from __future__ import annotations

from typing import Any, Mapping

from clue.benchmark import Benchmark, Scoring, for_run


class _Plain:
    TASK_METRICS: Mapping[str, tuple[str, ...]] = {}
    LEVELS: Mapping[str, tuple[str, ...]] = {}
    LEVEL_TITLES: Mapping[str, str] = {}
    TASK_ORDER: tuple[str, ...] = ()
    BINARY_METRICS: frozenset[str] = frozenset()

    def task_score(self, title: str, metrics: Mapping[str, float | None]) -> float | None:
        return None

    def partial_task_score(self, title: str, metrics: Mapping[str, float | None]) -> tuple[float | None, tuple[str, ...]]:
        return None, ()

    def level_score(self, level: str, task_scores: Mapping[str, float | None]) -> float | None:
        return None


PLAIN: Scoring = _Plain()


def benchmark_of(scores: Mapping[str, Any]) -> Benchmark | None:
    return for_run(scores)


def scoring_for(scores: Mapping[str, Any]) -> Scoring:
    """The rule of the benchmark a run (its scores.json) belongs to."""
    bench = for_run(scores)
    return bench.scoring if bench is not None and bench.scoring is not None else PLAIN


def task_of(scores: Mapping[str, Any], task_name: str) -> Any:
    """The task object a run's task name refers to (None when its benchmark is not installed)."""
    bench = for_run(scores)
    return bench.tasks.get(task_name) if bench is not None else None
