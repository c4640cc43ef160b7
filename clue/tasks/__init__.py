"""Task registry: one module per task."""

from __future__ import annotations

from clue.errors import ConfigError
from clue.tasks.base import BuildContext, Split, Task
from clue.tasks.longhealth import LongHealth
from clue.tasks.mednli import MedNLI
from clue.tasks.medisumcode import MeDiSumCode
from clue.tasks.medisumqa import MeDiSumQA
from clue.tasks.meqsum import MeQSum
from clue.tasks.problemsummary import ProblemSummary

TASKS: dict[str, Task] = {t.name: t for t in (MeQSum(), ProblemSummary(), LongHealth(), MedNLI(), MeDiSumQA(), MeDiSumCode())}


def get_tasks(spec: str) -> list[Task]:
    """Parse a comma-separated task list; `all` = every implemented task."""
    names = list(TASKS) if spec.strip() == "all" else [n.strip().lower() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        raise ConfigError(f"unknown task(s): {', '.join(unknown) or '(none given)'}", f"choose from: {', '.join(TASKS)} or all")
    return [TASKS[n] for n in names]


__all__ = ["TASKS", "Task", "BuildContext", "Split", "get_tasks"]
