"""The generic task layer: `Task` and its kinds, few-shot selection, request building.

Benchmarks declare their tasks (clue/benchmarks/<name>/); the kit finds them through
`clue.benchmark` and never imports a benchmark here.
"""

from __future__ import annotations

from clue.tasks.base import BuildContext, Building, Built, Task
from clue.tasks.fewshot import Split

__all__ = ["Task", "BuildContext", "Building", "Built", "Split"]
