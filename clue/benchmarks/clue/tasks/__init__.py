"""CLUE's six tasks: one module per task."""

from __future__ import annotations

from clue.benchmarks.clue.tasks.base import ClueTask
from clue.benchmarks.clue.tasks.longhealth import LongHealth
from clue.benchmarks.clue.tasks.medisumcode import MeDiSumCode
from clue.benchmarks.clue.tasks.medisumqa import MeDiSumQA
from clue.benchmarks.clue.tasks.mednli import MedNLI
from clue.benchmarks.clue.tasks.meqsum import MeQSum
from clue.benchmarks.clue.tasks.problemsummary import ProblemSummary
from clue.errors import ConfigError

TASKS: dict[str, ClueTask] = {t.name: t for t in (MeQSum(), ProblemSummary(), LongHealth(), MedNLI(), MeDiSumQA(), MeDiSumCode())}


def get_tasks(spec: str) -> list[ClueTask]:
    """Parse a comma-separated task list; `all` = every CLUE task."""
    names = list(TASKS) if spec.strip() == "all" else [n.strip().lower() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ConfigError(f"unknown task(s): {', '.join(unknown) or '(none given)'}", f"choose from: {', '.join(TASKS)} or all")
    return [TASKS[n] for n in names]


__all__ = ["TASKS", "ClueTask", "get_tasks"]
