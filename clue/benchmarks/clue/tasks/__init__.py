"""CLUE's six tasks: one module per task (a task list from the command line: `BENCHMARK.get_tasks`, clue/benchmark.py)."""

from __future__ import annotations

from clue.benchmarks.clue.tasks.base import ClueTask
from clue.benchmarks.clue.tasks.longhealth import LongHealth
from clue.benchmarks.clue.tasks.medisumcode import MeDiSumCode
from clue.benchmarks.clue.tasks.medisumqa import MeDiSumQA
from clue.benchmarks.clue.tasks.mednli import MedNLI
from clue.benchmarks.clue.tasks.meqsum import MeQSum
from clue.benchmarks.clue.tasks.problemsummary import ProblemSummary

TASKS: dict[str, ClueTask] = {t.name: t for t in (MeQSum(), ProblemSummary(), LongHealth(), MedNLI(), MeDiSumQA(), MeDiSumCode())}


__all__ = ["TASKS", "ClueTask"]
