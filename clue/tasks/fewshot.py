"""Generic few-shot selection: k examples per run, seeded, never an evaluated item.

* With a train/dev pool (the dataset has a split): the shots are `k` items drawn from the pool with
  `random.Random(seed)` (seed None: the pool's first k, in order); every test item is evaluated.
* Without one (a held-out draw, documented in the run): the test items are shuffled with
  `random.Random(seed)`, the first k become the shots and are removed from evaluation.

Either way an item that is a shot is never evaluated (checked by id). A benchmark with its own historical
rule (CLUE's Q26: the first k test items) overrides `Task.split` instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Sequence

from clue.errors import DataError
from clue.types import Sample


@dataclass(frozen=True)
class Split:
    shots: list[Sample]
    evaluated: list[Sample]
    how: dict[str, object] = field(default_factory=dict, compare=False)  # recorded in run.json (task_build)


def select(test: Sequence[Sample], k: int, seed: int | None, pool: Sequence[Sample] | None = None,
           title: str = "task") -> Split:
    """Shots for one run: k from `pool` (train/dev) when given, else a held-out draw from `test`."""
    if k < 0:
        raise DataError(f"{title}: --shots {k} is negative", "use 0 or more")
    if k == 0:
        return Split([], list(test), {"shots": 0})
    if pool:
        if len(pool) < k:
            raise DataError(f"{title} has {len(pool)} train/dev items, fewer than --shots {k}", "use fewer shots")
        chosen = list(pool[:k]) if seed is None else random.Random(seed).sample(list(pool), k)
        shot_ids = {s.id for s in chosen}
        evaluated = [s for s in test if s.id not in shot_ids]  # an id in both splits is never evaluated
        return Split(chosen, evaluated, {"shots": k, "from": "train/dev pool", "seed": seed})
    items = list(test)
    if len(items) <= k:
        raise DataError(f"{title} has {len(items)} items, fewer than --shots {k} + 1", "use fewer shots")
    if seed is not None:
        random.Random(seed).shuffle(items)
    return Split(items[:k], items[k:], {"shots": k, "from": "held-out draw from the test items (no train/dev split)",
                                        "seed": seed})
