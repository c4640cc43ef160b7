"""A run's status-ok items per task, column-wise: what its CIs (clue/stats.py) and its paired comparisons with
another run (clue.stats.compare_runs, clue/compare.py) read — arrays, never a Python object per line.

* `items_of(samples)`: task, metrics → (sample ids, lines × metrics values; NaN: no value) of the task's status-ok
  lines in file order, from a list of lines (dicts, converted once per task) or an `ItemSource` (clue/report/columns.py
  `SampleLines`: read column-wise).
* `cluster_of(task, sample_id)`: an item's resampling unit (the task's `cluster` hook; several few-shot seeds' lines
  of one item are one unit).
* `RunItems(samples)`: per task, built once however many comparisons read it (`TaskItems`): the lines' sample ids
  and values; their items — lines `<id>@seed<n>` are one item (`clue.tasks.fewshot.item_of`), in order of first
  appearance — and each item's mean per metric over its lines that have it (np.bincount adds in line order: the
  same floats as a left-to-right sum divided by the count); each item's cluster. `lines_in_both` / `items_in_both`
  pair two runs' lines by sample id (a repeated id: its last line, at its first place) / items by item id, in A's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from itertools import repeat
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from clue.tasks.base import Task
from clue.tasks.fewshot import item_of


class ItemSource(Protocol):
    """Samples read column-wise (clue/report/columns.py `SampleLines`): a task's status-ok items without a dict each."""

    def task_items(self, task: str, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]: ...


def cluster_of(task: Any, sample_id: str) -> str:
    """The resampling unit of an item: the task's own `cluster(sample_id)` (a task whose items repeat one
    question groups them); an unknown task's items are their own cluster. The lines of one item in a run of
    several few-shot seeds (`<id>@seed<n>`) are one unit."""
    return clusters_of(task, [sample_id])[0]


def clusters_of(task: Any, sample_ids: Sequence[str]) -> list[str]:
    """`cluster_of` of each of `sample_ids` (the task's hook looked up once; ids of which none names a seed are
    their own items, found by one search of them all)."""
    items = list(map(item_of, sample_ids)) if "@seed" in "\x00".join(sample_ids) else list(sample_ids)
    hook = getattr(task, "cluster", None)
    if not callable(hook) or getattr(type(task), "cluster", None) is Task.cluster:  # the base hook: each item its own
        return items
    return list(map(str, map(hook, items)))


def matrix(per_sample: Sequence[Mapping[str, float]], metrics: Sequence[str]) -> np.ndarray:
    """items × metrics values (NaN where an item has none)."""
    out = np.full((len(per_sample), len(metrics)), np.nan)
    for j, m in enumerate(metrics):
        for i, scores in enumerate(per_sample):
            v = scores.get(m)
            if v is not None:
                out[i, j] = float(v)
    return out


def ok_by_task(samples: Sequence[Mapping[str, Any]]) -> dict[Any, list[Mapping[str, Any]]]:
    """The status-ok samples grouped by task, in file order (one pass instead of one per task)."""
    out: dict[Any, list[Mapping[str, Any]]] = {}
    for s in samples:
        if s.get("status") == "ok":
            out.setdefault(s.get("task"), []).append(s)
    return out


def items_of(samples: Sequence[Mapping[str, Any]] | ItemSource) -> Callable[[str, Sequence[str]], tuple[list[str], np.ndarray]]:
    """task, metrics → (sample ids, items × metrics values) of the task's status-ok items, in file order."""
    if hasattr(samples, "task_items"):
        return samples.task_items
    by_task = ok_by_task(samples)  # type: ignore[arg-type]

    def items(task: str, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]:
        lines = by_task.get(task, [])
        return [str(s.get("sample_id")) for s in lines], matrix([s.get("scores") or {} for s in lines], metrics)

    return items


def first_codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Integer labels renumbered 0, 1, … in order of first appearance (the order clue.stats numbers clusters in)."""
    if labels.size == 0:
        return labels.astype(np.int64), 0
    uniq, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    return rank[inverse.reshape(-1)], int(uniq.size)


def codes(keys: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Each key's number in order of first appearance, and the distinct keys in that order."""
    distinct = list(dict.fromkeys(keys))
    if len(distinct) == len(keys):
        return np.arange(len(keys), dtype=np.int64), distinct
    index = {k: i for i, k in enumerate(distinct)}
    return np.fromiter(map(index.__getitem__, keys), dtype=np.int64, count=len(keys)), distinct


def column_sums(group: np.ndarray, n: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sums, counts), n groups × columns: per group (`group[i]`: line i's, 0 … n − 1) and column, the sum of the
    values that are not NaN and how many there are. np.bincount adds in line order: the same floats as a loop."""
    sums = np.zeros((n, values.shape[1]))
    counts = np.zeros((n, values.shape[1]))
    for j in range(values.shape[1]):
        has = ~np.isnan(values[:, j])
        sums[:, j] = np.bincount(group[has], weights=values[has, j], minlength=n)
        counts[:, j] = np.bincount(group[has], minlength=n)
    return sums, counts


@dataclass
class TaskItems:
    """One task's status-ok lines of one run: `values[i, j]` line i's value of `metrics[j]` (NaN: none)."""

    metrics: list[str]
    ids: list[str]  # sample id per line, file order
    values: np.ndarray
    line_item: np.ndarray = field(init=False)  # line → its item's number
    items: list[str] = field(init=False)  # item ids, in order of first appearance
    item_values: np.ndarray = field(init=False)  # items × metrics: the mean over the item's lines that have the metric
    _clusters: tuple[Any, np.ndarray] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.line_item, self.items = codes(list(map(item_of, self.ids)))
        sums, counts = column_sums(self.line_item, len(self.items), self.values)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.item_values = np.where(counts > 0, sums / counts, np.nan)

    @cached_property
    def row_of_id(self) -> dict[str, int]:
        """sample id → its line (a repeated id: its last line, at its first place)."""
        return {sid: i for i, sid in enumerate(self.ids)}

    @cached_property
    def row_of_item(self) -> dict[str, int]:
        """item id → its number."""
        return {it: i for i, it in enumerate(self.items)}

    def column(self, metric: str) -> int | None:
        return self.metrics.index(metric) if metric in self.metrics else None

    def item_clusters(self, task: Any) -> np.ndarray:
        """Each item's cluster (`cluster_of` under `task`), numbered in order of first appearance."""
        if self._clusters is None or self._clusters[0] is not task:
            self._clusters = (task, codes(clusters_of(task, self.items))[0])
        return self._clusters[1]

    def lines_in_both(self, other: TaskItems) -> tuple[np.ndarray, np.ndarray]:
        """(rows here, rows in `other`) of the sample ids both have, in this run's order."""
        return _in_both(self.row_of_id, other.row_of_id)

    def items_in_both(self, other: TaskItems) -> tuple[np.ndarray, np.ndarray]:
        """(items here, items in `other`) of the item ids both have, in this run's order."""
        return _in_both(self.row_of_item, other.row_of_item)


def _in_both(mine: dict[str, int], theirs: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    there = np.fromiter(map(theirs.get, mine, repeat(-1)), dtype=np.int64, count=len(mine))
    here = np.fromiter(mine.values(), dtype=np.int64, count=len(mine))
    both = there >= 0
    return here[both], there[both]


class RunItems:
    """One run's `TaskItems`, built per task on first use and kept (a report compares one run with several)."""

    def __init__(self, samples: Sequence[Mapping[str, Any]] | ItemSource):
        self._read = items_of(samples)
        self._tasks: dict[str, TaskItems] = {}

    @classmethod
    def of(cls, samples: Sequence[Mapping[str, Any]] | ItemSource | RunItems) -> RunItems:
        return samples if isinstance(samples, RunItems) else cls(samples)

    def task(self, name: str, metrics: Sequence[str]) -> TaskItems:
        """The task's items with (at least) these metrics' columns."""
        kept = self._tasks.get(name)
        if kept is None or not set(metrics) <= set(kept.metrics):
            wanted = list(dict.fromkeys([*(kept.metrics if kept is not None else ()), *metrics]))
            ids, values = self._read(name, wanted)
            kept = self._tasks[name] = TaskItems(wanted, ids, values)
        return kept
