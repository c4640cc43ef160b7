"""Generic few-shot selection: k exemplars per evaluated item, seeded, never the item itself; every test item is scored.

* With a train/dev pool: one draw of k pool items with `random.Random(seed)` (seed None: the pool's first k, in
  order), shared by every test item; every test item is evaluated (an id in both splits is never evaluated).
* Without one — leave-one-out: each test item gets its own k exemplars drawn from the OTHER test items (never an item
  with its id) with `random.Random(f"{seed}:{item id}")` over the test items in id order, so an item's exemplars depend on
  neither the file's order nor `--limit` (seed None: the k other items that follow it in id order, wrapping round).
  Where the task names a stratum for every item (a small label set, `Task.stratum`), the draw is stratified: each
  label gets floor(k·p) exemplars, p its share of all the test items (never of the others alone, so the item's own
  label cannot shift the mix and leak its answer), the slots left go to labels drawn in proportion to their
  remainders, and the exemplars are shuffled; a label with too few other items leaves its slots to a plain draw.
* Several seeds (`--fewshot-seed 0,1,2`): one draw per seed, every item evaluated once per seed under the id
  `<id>@seed<n>` (`Split.draws` maps it to its seed), so samples.jsonl lines stay distinct per seed; request keys
  differ wherever the exemplars do (a prompt that comes out identical is one key, one answer), and re-running the
  same command rebuilds the same requests, so it resumes from the store.

Zero-shot (k = 0) evaluates every item once and draws nothing. A benchmark with its own historical rule (CLUE's Q26:
the first k test items) overrides `Task.split` and declares `Task.fewshot_choice = False`.
"""

from __future__ import annotations

import random
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable, Hashable, Mapping, Sequence

from clue.errors import DataError
from clue.types import Sample

LEAVE_ONE_OUT = "leave-one-out: each item's exemplars drawn from the other test items"
TRAIN_DEV = "train/dev"


@dataclass(frozen=True)
class Split:
    """The evaluated items and their exemplars. `shots` are shared by every item; where they differ per item
    (leave-one-out, several seeds) `per_item` maps an evaluated id to its own and `shots` is empty."""

    shots: list[Sample]
    evaluated: list[Sample]
    how: dict[str, object] = field(default_factory=dict, compare=False)  # recorded in run.json (task_build)
    per_item: Mapping[str, Sequence[Sample]] | None = field(default=None, compare=False)
    draws: Mapping[str, int | None] | None = field(default=None, compare=False)  # evaluated id → its seed (several seeds)

    def shots_for(self, sample_id: str) -> Sequence[Sample]:
        return self.shots if self.per_item is None else self.per_item[sample_id]

    @property
    def n_shots(self) -> int:
        if self.per_item is None:
            return len(self.shots)
        return max((len(v) for v in self.per_item.values()), default=0)

    def seeds(self) -> list[int | None]:
        """The draws' seeds, in run order (empty: one draw, or none)."""
        return list(dict.fromkeys(self.draws.values())) if self.draws else []

    @property
    def n_items(self) -> int:
        """Distinct test items evaluated (each once per seed)."""
        return len(self.evaluated) // max(len(self.seeds()), 1)

    def limited(self, n: int) -> Split:
        """The first n items of every draw (`--limit`)."""
        if not self.draws:
            return replace(self, evaluated=self.evaluated[:n])
        seen: Counter[int | None] = Counter()
        keep = []
        for s in self.evaluated:
            seen[self.draws[s.id]] += 1
            if seen[self.draws[s.id]] <= n:
                keep.append(s)
        return replace(self, evaluated=keep)


SEEDED_ID = re.compile(r"@seed(?:-?\d+|None)$")


def seeded_id(sample_id: str, seed: int | None) -> str:
    """The evaluated id of an item in one draw of a several-seed run."""
    return f"{sample_id}@seed{seed}"


def item_of(sample_id: str) -> str:
    """The item an evaluated id stands for (a several-seed run's `<id>@seed<n>` → `<id>`)."""
    return SEEDED_ID.sub("", sample_id)


def select(test: Sequence[Sample], k: int, seeds: Sequence[int | None], pool: Sequence[Sample] | None = None,
           title: str = "task", stratum: Callable[[Sample], Hashable | None] | None = None) -> Split:
    """Exemplars for one run: from `pool` (train/dev) when given, else leave-one-out over `test`; one draw per seed."""
    if k < 0:
        raise DataError(f"{title}: --shots {k} is negative", "use 0 or more")
    if k == 0:
        return Split([], list(test), {"shots": 0})
    seeds = list(dict.fromkeys(seeds)) or [None]
    items = list(test)
    if pool:
        if len(pool) < k:
            raise DataError(f"{title} has {len(pool)} train/dev items, fewer than --shots {k}", "use fewer shots")
        how: dict[str, object] = {"shots": k, "pool": TRAIN_DEV, "pool_size": len(pool), "seeds": seeds}
        per_seed: dict[int | None, dict[str, list[Sample]]]
        drawn = {seed: list(pool[:k]) if seed is None else random.Random(seed).sample(list(pool), k) for seed in seeds}
        if len(seeds) == 1:
            shared = drawn[seeds[0]]
            shot_ids = {s.id for s in shared}
            return Split(shared, [s for s in items if s.id not in shot_ids], how)  # an id in both is never evaluated
        per_seed = {seed: {s.id: shots for s in items if s.id not in {x.id for x in shots}} for seed, shots in drawn.items()}
    else:
        if len({s.id for s in items}) <= k:
            raise DataError(f"{title} has {len(items)} items, fewer than --shots {k} + 1 (each item's exemplars are "
                            "other items)", "use fewer shots")
        how = {"shots": k, "pool": LEAVE_ONE_OUT, "pool_size": len(items) - 1, "seeds": seeds}
        draw = _LeaveOneOut(items, stratum)
        if draw.strata is not None:
            how["stratified_by"] = "label (each label's share of the test items)"
        per_seed = {seed: {s.id: draw.exemplars(s, k, seed) for s in items} for seed in seeds}
    if len(seeds) == 1:
        only = per_seed[seeds[0]]
        return Split([], [s for s in items if s.id in only], how, per_item=only)
    evaluated, per_item, draws = [], {}, {}
    for seed, chosen in per_seed.items():
        for s in items:
            if s.id in chosen:
                sid = seeded_id(s.id, seed)
                evaluated.append(Sample(sid, s.fields, s.reference))
                per_item[sid], draws[sid] = chosen[s.id], seed
    return Split([], evaluated, how, per_item=per_item, draws=draws)


class _LeaveOneOut:
    """Draws of k exemplars for an item from the items other than it (and than any item sharing its id). Items are
    taken in id order, so a draw depends on the set of test items, never on the file's order."""

    def __init__(self, items: list[Sample], stratum: Callable[[Sample], Hashable | None] | None):
        self.items = sorted(items, key=lambda s: s.id)
        self.positions: dict[str, list[int]] = {}
        for i, s in enumerate(self.items):
            self.positions.setdefault(s.id, []).append(i)
        labels = [stratum(s) for s in self.items] if stratum is not None else None
        self.strata: dict[Hashable, list[int]] | None = None
        if labels is not None and all(lab is not None for lab in labels) and len(set(labels)) > 1:
            self.strata = {}
            for i, lab in enumerate(labels):
                self.strata.setdefault(lab, []).append(i)

    def exemplars(self, item: Sample, k: int, seed: int | None) -> list[Sample]:
        skip = self.positions[item.id]
        n = len(self.items)
        if seed is None:
            following = [j % n for j in range(skip[-1] + 1, skip[-1] + n) if j % n not in skip]
            return [self.items[j] for j in following[:k]]
        rng = random.Random(f"{seed}:{item.id}")
        if self.strata is None:
            return [self.items[j] for j in _sample_skipping(rng, range(n), skip, k)]
        chosen: list[int] = []
        for lab, m in _allocate(self.strata, n, k, rng).items():
            group = self.strata[lab]
            free = len(group) - sum(1 for p in skip if _contains(group, p))
            chosen += _sample_skipping(rng, group, skip, min(m, free))
        if len(chosen) < k:  # a label had too few other items: the rest from a plain draw of what is left
            taken = set(chosen) | set(skip)
            chosen += rng.sample([j for j in range(n) if j not in taken], k - len(chosen))
        rng.shuffle(chosen)
        return [self.items[j] for j in chosen]


def _allocate(strata: Mapping[Hashable, list[int]], n: int, k: int, rng: random.Random) -> dict[Hashable, int]:
    """Slots per label: floor(k·p); the slots left to labels drawn in proportion to their remainders."""
    labels = sorted(strata, key=str)
    quota = {lab: k * len(strata[lab]) / n for lab in labels}
    alloc = {lab: int(quota[lab]) for lab in labels}
    remainder = {lab: quota[lab] - alloc[lab] for lab in labels}
    for _ in range(k - sum(alloc.values())):
        open_ = [lab for lab in labels if remainder[lab] > 0]
        pick = rng.choices(open_, weights=[remainder[lab] for lab in open_])[0]
        alloc[pick] += 1
        remainder[pick] = 0.0
    return alloc


def _contains(seq: Sequence[int], x: int) -> bool:
    at = bisect_left(seq, x)
    return at < len(seq) and seq[at] == x


def _sample_skipping(rng: random.Random, seq: Sequence[int], skip: Sequence[int], m: int) -> list[int]:
    """m distinct elements of the sorted `seq` other than those in `skip` (rng.sample over the rest, without copying)."""
    at = sorted(bisect_left(seq, x) for x in skip if _contains(seq, x))
    out = []
    for j in rng.sample(range(len(seq) - len(at)), m):
        for p in at:
            if p <= j:
                j += 1
            else:
                break
        out.append(seq[j])
    return out
