"""The parameterless baseline: answers computed in-process from the item itself, no model.

Each task states its rule in its `baseline(sample, shots)` method (a benchmark's rules live with the
benchmark, e.g. clue/benchmarks/clue/baselines.py). A task without a rule cannot be run with
this engine (a clear error says so).
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Protocol, Sequence

from clue.engines.base import Engine
from clue.types import Completion, Request, Sample


class HasBaseline(Protocol):
    """What the engine needs of a task."""

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str: ...


class BaselineEngine(Engine):
    """Answers each request from the sample it was built for; never touches the network."""

    kind = "baseline"

    def __init__(self, tasks: Mapping[str, HasBaseline], samples: Mapping[tuple[str, str], Sample],
                 shots: Mapping[str, Sequence[Sample]]):
        self._tasks = tasks
        self._samples = samples
        self._shots = shots
        first: dict[str, Sample] = {}
        for (task, _), sample in samples.items():
            first.setdefault(task, sample)
        for task, sample in first.items():  # a task without a rule fails here, before the run
            tasks[task].baseline(sample, shots.get(task, ()))

    async def generate(self, request: Request) -> Completion:
        start = time.perf_counter()
        sample = self._samples[(request.task, request.sample_id)]
        text = self._tasks[request.task].baseline(sample, self._shots.get(request.task, ()))
        return Completion(text=text, finish_reason="baseline", latency_s=time.perf_counter() - start)

    async def describe(self) -> dict[str, Any]:
        return {"engine": "baseline", "model_id": "parameterless-baseline",
                "rules": {name: (type(t).baseline.__doc__ or "").strip() for name, t in self._tasks.items()}}

    async def close(self) -> None:
        return None
