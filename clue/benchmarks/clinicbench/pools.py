"""Exemplar pools for few-shot runs, and the held-out draw for datasets without a train/dev split.

Order never matters: the held-out draw is a seeded sample of the whole file (Drug Interaction's file
is 100 "yes" then 100 "no", so any head-of-file rule would give one-label exemplars), and the
generic few-shot selection (clue/tasks/fewshot.py, through `tasks.ClinicBenchTask.prepare`) draws k
exemplars from the pool with the protocol's seed. The held-out items are removed from the scored items in every setting, so zero-shot and
few-shot figures cover the same items and no scored item can ever be an exemplar.
"""

from __future__ import annotations

import random

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item, Loaded

HELD_OUT_N = 5  # the largest k ClinicBench uses (1, 3, 5)
HELD_OUT_SEED = 0


def held_out(items: tuple[Item, ...], n: int = HELD_OUT_N, seed: int = HELD_OUT_SEED) -> tuple[tuple[Item, ...], tuple[Item, ...]]:
    """(scored, pool): a seeded draw of `n` items becomes the pool, the rest stay scored (order kept)."""
    if len(items) <= n:
        raise ValueError(f"{len(items)} items cannot give up {n} for a held-out exemplar pool")
    picked = set(random.Random(seed).sample(range(len(items)), n))
    pool = tuple(it for i, it in enumerate(items) if i in picked)
    scored = tuple(it for i, it in enumerate(items) if i not in picked)
    return scored, pool


def scored_and_pool(dataset: str, loaded: Loaded) -> tuple[tuple[Item, ...], tuple[Item, ...]]:
    """The items a run scores and the pool its exemplars come from, per the datasets table."""
    if get(dataset).exemplars == "held-out draw" or not loaded.pool:
        return held_out(loaded.items)
    return loaded.items, loaded.pool
