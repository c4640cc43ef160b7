"""The generic run protocol: what every benchmark's protocol says about generation and prompting.

The core (task building, evaluation, run records) reads only the properties below. A benchmark's
protocol type extends `RunProtocol`: CLUE's `ClueProfile` maps its quirk switches (Q1…Q29) onto
them; a new benchmark can use `GenericProtocol`, where every property is a plain field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

Truncation = Literal["off", "keep_last", "cut_document"]


class RunProtocol:
    """Interface of every protocol. `name` goes into each request's cache key; the properties' defaults
    are the plain behaviour (greedy, no truncation, one BOS, no stop strings, no prefill, seeded shots)."""

    name: str
    description: str
    seed: int | None

    @property
    def temperature(self) -> float | None:
        """None = greedy decoding; a number turns sampling on."""
        return None

    @property
    def truncation(self) -> Truncation:
        """Prompts longer than the task's limit T: 'off' (sent as is), 'keep_last' (TGI's `truncate`: the
        server keeps the last T tokens), 'cut_document' (the evaluated document is cut client-side)."""
        return "off"

    @property
    def double_bos(self) -> bool:
        """True sends the rendered chat template with its BOS text (the server adds another)."""
        return False

    @property
    def prefill(self) -> bool:
        """Append the task's `prefix.j2` (answer prefix) right after the rendered generation prompt."""
        return False

    @property
    def shot_seed(self) -> int | None:
        """Seed of the few-shot draw (clue/tasks/fewshot.py); None keeps the pool's order."""
        return self.seed

    def stop_for(self, model: str) -> tuple[str, ...]:
        """Stop strings sent with every request to `model`."""
        return ()

    def run_notes(self, temperature: float | None) -> list[str]:
        """One-line notes printed before a run (e.g. an era that sampled while this run is greedy)."""
        return []

    def switches(self) -> dict[str, object]:
        """Every field and its value, for run records and `clue protocols --show`."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class GenericProtocol(RunProtocol):
    """A protocol declared as plain values (what a new benchmark usually needs)."""

    name: str
    description: str
    seed: int | None = 0
    temperature: float | None = None  # type: ignore[assignment]
    truncation: Truncation = "off"  # type: ignore[assignment]
    double_bos: bool = False  # type: ignore[assignment]
    prefill: bool = False  # type: ignore[assignment]
    stop: tuple[str, ...] = ()

    def stop_for(self, model: str) -> tuple[str, ...]:
        return self.stop
