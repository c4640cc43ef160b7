"""`clue watch`'s subset: per task, the items a series re-runs — power-sized, stratified by gold label, seeded, fixed.

Size. The series asks "did the score move by `detect` points since run 1?", judged on the *same* items (paired), so
the size is that of a paired test of two proportions at two-sided level α with power 1 − β (McNemar's test in the
normal approximation; Connor 1987, Biometrics 43:207–211, p. 209, eq. 3):

    n = ⌈ ( z_{1−α/2} · √ψ + z_{1−β} · √(ψ − δ²) )² / δ² ⌉

δ = detect / 100 is the net change, ψ the discordant share — the items whose score changes at all between two runs
(p10 + p01). ψ ≥ δ (every change in one direction) gives the smallest n; churn both ways raises it. ψ is a stated
assumption (`--discordance`, default 2·detect: as many items flip as the net change again, half of them back —
e.g. 5 points net from 7.5 % going down and 2.5 % going up). Connor's own example (p01 = 0.45, p10 = 0.05, α 0.05,
power 0.8) gives n = 23, checked in tests/core/test_watch_subset.py. For a score in [0, 100] per item (ROUGE, F1
parts) the same n is conservative with ψ read as the mean absolute per-item change: Var(D) = E[D²] − δ² ≤ E|D| − δ².
A task with fewer items takes them all and records the power it has (the same formula solved for 1 − β); fewer
than `verdict.MIN_ITEMS` are never taken where the task has them (a bootstrap CI needs 20). α sizes the subset;
the judge (clue/compare.py) always reads 95 % CIs, so an α below 0.05 only buys more items (more power).

Strata. Items are stratified by their gold label: `task.stratum(sample)` where the task defines one, else the
reference itself when the task's references form a small closed set (at most `MAX_STRATA` distinct values, each
used at least `MIN_PER_STRATUM` times on average) — free text is one stratum. Proportional allocation with
deterministic rounding (largest remainder; ties to the larger stratum, then the label's text order), each stratum
drawn without replacement with `random.Random(f"{seed}/{task}/{label}")` (string seeds hash the same on every
platform), kept in file order. A several-seed run's `<id>@seed<n>` lines are one item.

Fixed. `WatchSubset` is the `RunConfig.subset` hook clue/evaluate.py calls once per task after loading: it chooses,
and against a series' stored `subset.json` refuses (one line) a run whose design (detect, power, α, ψ, seed, tasks)
or chosen ids differ — the same items every run. `record()` is what run.json and the report show.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import asdict, dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from clue.errors import ConfigError
from clue.tasks.fewshot import item_of
from clue.verdict import MIN_ITEMS

if TYPE_CHECKING:
    from clue.tasks import Task
    from clue.tasks.fewshot import Split
    from clue.types import Sample

MAX_STRATA = 20
MIN_PER_STRATUM = 5
DEFAULT_DETECT, DEFAULT_POWER, DEFAULT_ALPHA, DEFAULT_SEED = 5.0, 0.8, 0.05, 0


@dataclass(frozen=True)
class Design:
    """What a series is sized for (points, shares): stored with the series, the same for every run."""

    detect: float  # net change to detect, percent points
    power: float = DEFAULT_POWER
    alpha: float = DEFAULT_ALPHA  # two-sided
    discordance: float | None = None  # ψ in percent points; None: 2 · detect
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not 0 < self.detect < 100:
            raise ConfigError(f"--detect {self.detect:g} is not a change in points between 0 and 100", "e.g. --detect 5")
        if not 0 < self.power < 1 or not 0 < self.alpha < 1:
            raise ConfigError(f"--power {self.power:g} / --alpha {self.alpha:g} must lie strictly between 0 and 1", "e.g. --power 0.8 --alpha 0.05")
        if not self.detect <= self.psi <= 100:
            raise ConfigError(f"--discordance {self.psi:g} must lie between --detect {self.detect:g} and 100 (a net change of d "
                              f"points moves at least d % of the items)", f"e.g. --discordance {min(100.0, 2 * self.detect):g}")

    @property
    def psi(self) -> float:
        return self.discordance if self.discordance is not None else min(100.0, 2 * self.detect)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "discordance": self.psi}


def items_needed(detect: float, power: float = DEFAULT_POWER, alpha: float = DEFAULT_ALPHA, discordance: float | None = None) -> int:
    """Connor's (1987) paired-proportions sample size: items to detect a net change of `detect` points with `power`
    at two-sided `alpha`, when `discordance` % of the items change (default 2 · detect)."""
    d = Design(detect, power, alpha, discordance)
    delta, psi = d.detect / 100, d.psi / 100
    z_a, z_b = NormalDist().inv_cdf(1 - d.alpha / 2), NormalDist().inv_cdf(d.power)
    return math.ceil(round((z_a * math.sqrt(psi) + z_b * math.sqrt(max(0.0, psi - delta ** 2))) ** 2 / delta ** 2, 9))


def power_at(n: int, detect: float, alpha: float = DEFAULT_ALPHA, discordance: float | None = None) -> float:
    """The same formula solved for the power: Φ((δ·√n − z_{1−α/2}·√ψ) / √(ψ − δ²))."""
    d = Design(detect, 0.5, alpha, discordance)
    delta, psi = d.detect / 100, d.psi / 100
    spread = math.sqrt(max(psi - delta ** 2, 1e-12))
    return NormalDist().cdf((delta * math.sqrt(n) - NormalDist().inv_cdf(1 - d.alpha / 2) * math.sqrt(psi)) / spread)


def allocate(sizes: Mapping[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of n items over strata of `sizes`, rounded by largest remainder (ties: the larger
    stratum, then the label's text order); never more than a stratum holds."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    quotas = {k: n * v / total for k, v in sizes.items()}
    out = {k: math.floor(q) for k, q in quotas.items()}
    order = sorted(sizes, key=lambda k: (-(quotas[k] - out[k]), -sizes[k], k))
    for k in order[:n - sum(out.values())]:
        out[k] += 1
    return out


def gold_labels(task: Task, samples: Sequence[Sample]) -> list[str] | None:
    """Each item's stratum (see the module's docstring), or None: one stratum."""
    told = [task.stratum(s) for s in samples]
    if any(t is not None for t in told):
        return [str(t) for t in told]
    refs = [s.reference for s in samples]
    if not all(isinstance(r, str) for r in refs):
        return None
    distinct = len(set(refs))
    return [str(r) for r in refs] if 1 < distinct <= MAX_STRATA and distinct * MIN_PER_STRATUM <= len(refs) else None


def digest(ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()


def choose(task: Task, samples: Sequence[Sample], design: Design) -> dict[str, Any]:
    """The subset of one task's items (one Sample per item, in file order): its ids, sizes, strata and digest."""
    needed = max(items_needed(design.detect, design.power, design.alpha, design.discordance), MIN_ITEMS)
    n = min(needed, len(samples))
    told = gold_labels(task, samples)
    labels = told or [""] * len(samples)
    members: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(label, []).append(i)
    taken = allocate({k: len(v) for k, v in members.items()}, n)
    keep: set[int] = set()
    for label, idx in members.items():
        keep |= set(random.Random(f"{design.seed}/{task.name}/{label}").sample(idx, taken[label]))
    ids = [samples[i].id for i in sorted(keep)]
    return {"task": task.name, "title": task.title, "n": n, "n_needed": needed, "n_available": len(samples),
            "power": round(power_at(n, design.detect, design.alpha, design.discordance), 4),
            "strata": {k: [taken[k], len(members[k])] for k in sorted(members)} if told else None,
            "ids_sha256": digest(ids), "ids": ids}


class WatchSubset:
    """clue/evaluate.py's `RunConfig.subset`: chooses each task's items (refusing a change against `stored`)."""

    def __init__(self, design: Design, stored: Mapping[str, Any] | None = None) -> None:
        self.design, self.stored = design, stored
        self.tasks: dict[str, dict[str, Any]] = {}
        if stored is not None and stored.get("design") != design.as_dict():
            old = stored.get("design") or {}
            what = ", ".join(f"{k} {old.get(k)} → {v}" for k, v in design.as_dict().items() if old.get(k) != v)
            raise ConfigError(f"this series' subset was sized with other settings ({what})",
                              "repeat the series' --detect/--power/--alpha/--discordance/--subset-seed, or start a new --series")

    def __call__(self, task: Task, split: Split) -> Split:
        first: dict[str, Sample] = {}
        for s in split.evaluated:
            first.setdefault(item_of(s.id), replace(s, id=item_of(s.id)))
        chosen = choose(task, list(first.values()), self.design)
        if self.stored is not None:
            old = (self.stored.get("tasks") or {}).get(task.name)
            if old is None:
                raise ConfigError(f"{task.title} is not in this series' subset (tasks: {', '.join(self.stored.get('tasks') or {})})",
                                  "run the series' own --tasks, or start a new --series")
            if old.get("ids_sha256") != chosen["ids_sha256"]:
                raise ConfigError(f"{task.title}'s items differ from this series' subset ({chosen['n']} items, sha256 "
                                  f"{chosen['ids_sha256'][:12]} vs {old.get('n')} items, {str(old.get('ids_sha256'))[:12]}): the data changed",
                                  "run on the series' data (--data-dir), or start a new --series")
        self.tasks[task.name] = chosen
        keep = set(chosen["ids"])
        return replace(split, evaluated=[s for s in split.evaluated if item_of(s.id) in keep])

    def check_tasks(self) -> None:
        """After every task was chosen: a stored series with tasks this run left out is refused too."""
        if self.stored is not None and set(self.stored.get("tasks") or {}) != set(self.tasks):
            raise ConfigError(f"this series watches {', '.join(sorted(self.stored.get('tasks') or {}))}, this run "
                              f"{', '.join(sorted(self.tasks))}", "run the series' own --tasks, or start a new --series")

    def record(self, with_ids: bool = False) -> dict[str, Any]:
        """{"design", "tasks": {task: n, n_needed, n_available, power, strata, ids_sha256 (+ ids)}, "ids_sha256"}."""
        tasks = {k: {f: v for f, v in t.items() if with_ids or f != "ids"} for k, t in self.tasks.items()}
        whole = digest([f"{k}:{i}" for k in sorted(self.tasks) for i in self.tasks[k]["ids"]])
        return {"design": self.design.as_dict(), "formula": "Connor 1987 (paired proportions, McNemar)", "ids_sha256": whole, "tasks": tasks}
