"""How a benchmark's numbers combine: the one task-score and group-score rule that stats, verify and the report call.

A benchmark fills in a `ScoreRule` (data only); the core owns the arithmetic:

* task score = the unweighted mean of the metrics `task_metrics[title]` lists, None when the task is
  unknown or any listed metric is missing (`partial_task_score`: the mean of those present, and which lack);
* group score = the mean of its members' task scores, weighted by `Group.weights` when given (lm-eval's
  `weight_by_size` is weights = test-set sizes), None unless every member has a score.

Both work on floats and, unchanged, on numpy arrays of bootstrap replicates, so a CI is the rule's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence, TypeVar, cast

V = TypeVar("V")  # a float, or an array of replicates


@dataclass(frozen=True)
class Group:
    """A named set of tasks (by title) whose scores a benchmark averages, e.g. CLUE's Level 1."""

    id: str
    title: str
    members: tuple[str, ...]
    weights: tuple[float, ...] | None = None  # one per member; None = unweighted mean

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError(f"group {self.id!r} has no members")
        if self.weights is not None and (len(self.weights) != len(self.members) or any(w <= 0 for w in self.weights)):
            raise ValueError(f"group {self.id!r}: one positive weight per member is needed")


def _sum(values: Sequence[Any]) -> Any:
    total = values[0]
    for v in values[1:]:
        total = total + v  # floats or arrays, added in order
    return total


def _mean(values: Sequence[Any]) -> Any:
    return _sum(values) / len(values)


@dataclass(frozen=True)
class ScoreRule:
    """Task metrics, groups and per-sample 0/100 metrics of one benchmark; the one rule that combines them."""

    task_metrics: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # task title -> metrics its score averages
    groups: tuple[Group, ...] = ()
    binary_metrics: frozenset[str] = frozenset()  # per-sample 0/100 metrics (paired: McNemar, not bootstrap)
    task_order: tuple[str, ...] = ()  # report order; default: the groups' members, then the other listed tasks

    def __post_init__(self) -> None:
        ids = [g.id for g in self.groups]
        if len(set(ids)) != len(ids):
            raise ValueError(f"group ids repeat: {ids}")
        if not self.task_order:
            order = [t for g in self.groups for t in g.members]
            order += [t for t in self.task_metrics if t not in order]
            object.__setattr__(self, "task_order", tuple(dict.fromkeys(order)))

    def group(self, group_id: str) -> Group:
        for g in self.groups:
            if g.id == group_id:
                return g
        raise KeyError(group_id)

    @property
    def group_titles(self) -> dict[str, str]:
        return {g.id: g.title for g in self.groups}

    def partial_task_score(self, title: str, metrics: Mapping[str, V | None]) -> tuple[V | None, tuple[str, ...]]:
        """(mean over the listed metrics that are present, the listed metrics that are missing). A score with
        missing metrics is not comparable with a published one; callers show what it lacks."""
        listed = self.task_metrics.get(title, ())
        present = [v for v in (metrics.get(m) for m in listed) if v is not None]
        missing = tuple(m for m in listed if metrics.get(m) is None)
        return (_mean(present) if present else None), missing

    def task_score(self, title: str, metrics: Mapping[str, V | None]) -> V | None:
        """The task score, or None when the task lists no metrics or any listed metric is missing."""
        value, missing = self.partial_task_score(title, metrics)
        return None if missing else value

    def group_score(self, group: Group | str, task_scores: Mapping[str, V | None]) -> V | None:
        """The group's (weighted) mean of its members' task scores, or None unless every member has one."""
        g = group if isinstance(group, Group) else self.group(group)
        scores: list[Any] = [task_scores.get(t) for t in g.members]
        if any(s is None for s in scores):
            return None
        if g.weights is None:
            return cast(V, _mean(scores))
        weighted = [s * w for s, w in zip(scores, g.weights)]
        return cast(V, _sum(weighted) / sum(g.weights))  # Σ w·s / Σ w


PLAIN = ScoreRule()  # a run of an unknown benchmark, or of one without a rule: metrics only, no task scores, no groups
