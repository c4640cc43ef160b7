"""Uncertainty for CLUE scores: seeded bootstrap CIs and paired comparisons of two runs.

* Confidence intervals: percentile bootstrap (default 1,000 replicates, 95 %) resampling items;
  LongHealth resamples whole questions (its 15 prompts per question are not independent), so
  every item belongs to a *cluster* (`cluster_of`). A replicate mean is Σ(weight·sum)/Σ(weight·count)
  over clusters drawn with multinomial weights, which vectorises to two matrix products.
  Task scores and group averages are recomputed inside every replicate by the benchmark's own
  `ScoreRule` (weights included; tasks resampled independently), so their CIs carry the covariance
  of the metrics of one task. The caller passes the run's benchmark once; nothing here looks it up.
* The point estimate stays the run's reported value (with the profile's quirks, e.g. Q1's
  double-counted first item); the interval is that of the plain mean of the scored items.
* Paired comparison of two runs on the same items: paired bootstrap of the mean difference
  (two-sided p = share of centred replicates at least as extreme, +1 smoothing) for continuous
  metrics; exact McNemar (binomial on the discordant pairs) for per-item accuracies.
Every random draw comes from `numpy.random.default_rng([seed, crc32(key)])`: same inputs and
seed → same numbers, and a task's interval does not depend on which other tasks a run has.
"""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping, Protocol, Sequence

import numpy as np

from clue.benchmark import Benchmark
from clue.score_rule import PLAIN
from clue.tasks.fewshot import item_of

DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 0
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A value with its bootstrap CI; `missing` names listed metrics a partial score lacks."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0  # scored items
    clusters: int = 0
    missing: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "clusters": self.clusters,
                "missing": list(self.missing)}


@dataclass(frozen=True)
class Paired:
    """Run A vs run B on the items both scored: diff = mean(A) − mean(B), in percent points."""

    task: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    low: float | None
    high: float | None
    p_value: float
    test: str  # "paired bootstrap" | "McNemar (exact)"
    a_only: int | None = None  # McNemar: items A got right and B wrong
    b_only: int | None = None


@dataclass
class RunIntervals:
    """CIs of one run: per task and metric, per task score, per group of the rule (`levels`: group id → CI)."""

    metrics: dict[str, dict[str, Interval]] = field(default_factory=dict)
    task_scores: dict[str, Interval] = field(default_factory=dict)
    levels: dict[str, Interval] = field(default_factory=dict)


def rng_for(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


def cluster_of(task: Any, sample_id: str) -> str:
    """The resampling unit of an item: the task's own `cluster(sample_id)` (a task whose items repeat one
    question groups them); an unknown task's items are their own cluster. The lines of one item in a run of
    several few-shot seeds (`<id>@seed<n>`) are one unit."""
    sample_id = item_of(sample_id)
    hook = getattr(task, "cluster", None)
    if callable(hook):
        return str(hook(sample_id))
    return sample_id


def _clusters(ids: Sequence[str]) -> tuple[np.ndarray, int]:
    index: dict[str, int] = {}
    return np.array([index.setdefault(c, len(index)) for c in ids], dtype=np.int64), len(index)


_SCRATCH = threading.local()


def _weights(n_clusters: int, replicates: int, seed: int, key: str) -> np.ndarray:
    """(replicates × clusters) multinomial counts as float64: how often each cluster is drawn in a replicate.

    Converted into one scratch buffer per thread, reused from call to call: a fresh 40 MB array per call (5,000
    clusters) costs its page faults every time — 10–40 ms against 2 ms for the copy. The array is valid until the
    thread's next call; callers use it at once (the products below make new arrays)."""
    draws = _draws(n_clusters, replicates, seed, key)
    size = draws.size
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < size:
        buf = _SCRATCH.buf = np.empty(size, dtype=np.float64)
    out = buf[:size].reshape(draws.shape)
    np.copyto(out, draws)
    return out


@lru_cache(maxsize=64)
def _draws(n_clusters: int, replicates: int, seed: int, key: str) -> np.ndarray:
    """The draws depend only on their arguments (the seed is derived from `key`), and a report asks for
    the same ones once per run and per comparison: drawn once, kept compact (read-only uint16 when
    it fits, ≤ 1 MB for 500 clusters × 1,000 replicates) — a 26-run report builds ~10× faster."""
    draws = rng_for(seed, key).multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=replicates)
    draws = draws.astype(np.uint16) if n_clusters < 65536 else draws
    draws.setflags(write=False)
    return draws


def _percentile(reps: np.ndarray) -> tuple[float | None, float | None]:
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return None, None
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.percentile(reps, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def metric_replicates(per_sample: Sequence[Mapping[str, float]], clusters: Sequence[str], metrics: Sequence[str], *,
                      replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED, key: str = "") -> dict[str, np.ndarray]:
    """Bootstrap replicates (length `replicates`) of each metric's mean over the items that have it."""
    return matrix_replicates(_matrix(per_sample, metrics), clusters, metrics, replicates=replicates, seed=seed, key=key)


def _matrix(per_sample: Sequence[Mapping[str, float]], metrics: Sequence[str]) -> np.ndarray:
    """items × metrics values (NaN where an item has none)."""
    out = np.full((len(per_sample), len(metrics)), np.nan)
    for j, m in enumerate(metrics):
        for i, scores in enumerate(per_sample):
            v = scores.get(m)
            if v is not None:
                out[i, j] = float(v)
    return out


def matrix_replicates(values: np.ndarray, clusters: Sequence[str], metrics: Sequence[str], *, replicates: int = DEFAULT_REPLICATES,
                      seed: int = DEFAULT_SEED, key: str = "") -> dict[str, np.ndarray]:
    """`metric_replicates` of items × metrics `values` (NaN: the item has no value for that metric)."""
    if not len(values) or not metrics:
        return {m: np.full(replicates, np.nan) for m in metrics}
    idx, n_clusters = _clusters(clusters)
    sums = np.zeros((n_clusters, len(metrics)))
    counts = np.zeros((n_clusters, len(metrics)))
    for j in range(len(metrics)):  # per-cluster sums in item order (bincount adds in order: the same floats as a loop)
        has = ~np.isnan(values[:, j])
        sums[:, j] = np.bincount(idx[has], weights=values[has, j], minlength=n_clusters)
        counts[:, j] = np.bincount(idx[has], minlength=n_clusters)
    w = _weights(n_clusters, replicates, seed, key)
    # a column where every cluster counts one item (the usual case) needs no second product: each replicate draws
    # n_clusters clusters, so w @ counts is exactly n_clusters there (integers: the same float either way)
    single = np.all(counts == 1.0, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), _blas().limit(limits=1, user_api="blas"):
        totals = np.full((replicates, len(metrics)), float(n_clusters))
        if not single.all():
            totals[:, ~single] = w @ counts[:, ~single]
        means = (w @ sums) / totals
    return {m: means[:, j] for j, m in enumerate(metrics)}


@lru_cache(maxsize=1)
def _blas() -> Any:
    """The BLAS thread pools (threadpoolctl), found once. The products above run on one thread: OpenBLAS splits a
    product differently across threads, which moves the last bits of a CI with the machine's core count, and its
    threads spin for a core on a busy machine (a 1,000 × 1,500 product: 50 ms there instead of 3)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def mean_ci(values: Sequence[float], clusters: Sequence[str] | None = None, *, replicates: int = DEFAULT_REPLICATES,
            seed: int = DEFAULT_SEED, key: str = "") -> Interval:
    """Plain mean of `values` with its (clustered) percentile bootstrap CI."""
    if not values:
        return Interval(None)
    ids = list(clusters) if clusters is not None else [str(i) for i in range(len(values))]
    reps = metric_replicates([{"v": v} for v in values], ids, ["v"], replicates=replicates, seed=seed, key=key)["v"]
    low, high = _percentile(reps)
    return Interval(float(np.mean(values)), low, high, len(values), len(set(ids)))


def _ok_by_task(samples: Sequence[Mapping[str, Any]]) -> dict[Any, list[Mapping[str, Any]]]:
    """The status-ok samples grouped by task, in file order (one pass instead of one per task)."""
    out: dict[Any, list[Mapping[str, Any]]] = {}
    for s in samples:
        if s.get("status") == "ok":
            out.setdefault(s.get("task"), []).append(s)
    return out


class ItemSource(Protocol):
    """Samples read column-wise (clue/report/columns.py `SampleLines`): a task's status-ok items without a dict each."""

    def task_items(self, task: str, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]: ...


def _items_of(samples: Sequence[Mapping[str, Any]] | ItemSource) -> Callable[[str, Sequence[str]], tuple[list[str], np.ndarray]]:
    """task, metrics → (sample ids, items × metrics values) of the task's status-ok items, in file order."""
    if hasattr(samples, "task_items"):
        return samples.task_items
    ok_by_task = _ok_by_task(samples)  # type: ignore[arg-type]

    def items(task: str, metrics: Sequence[str]) -> tuple[list[str], np.ndarray]:
        lines = ok_by_task.get(task, [])
        return [str(s.get("sample_id")) for s in lines], _matrix([s.get("scores") or {} for s in lines], metrics)

    return items


def _task(bench: Benchmark | None, name: str) -> Any:
    """The task object a run's task name refers to (None when the benchmark is unknown)."""
    return bench.tasks.get(name) if bench is not None else None


def run_intervals(bench: Benchmark | None, scores: Mapping[str, Any], samples: Sequence[Mapping[str, Any]] | ItemSource, *,
                  replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED) -> RunIntervals:
    """CIs for every reported metric, task score and group average of one run of `bench` (None: unknown
    benchmark, metrics only).

    `scores` is scores.json, `samples` the lines of samples.jsonl (or an `ItemSource` of them); only status-ok items count.
    """
    rule = bench.score_rule if bench is not None else PLAIN
    out = RunIntervals()
    score_reps: dict[str, np.ndarray] = {}
    items_of = _items_of(samples)
    for name, task in scores.get("tasks", {}).items():
        title = task.get("title", name)
        reported = {m: v for m, v in task.get("metrics", {}).items() if v is not None}
        task_obj = _task(bench, name)
        corpus_keys = list(getattr(task_obj, "corpus_keys", ()))
        sample_ids, values = items_of(name, list(reported) + corpus_keys)
        ids = [cluster_of(task_obj, sid) for sid in sample_ids]
        reps = matrix_replicates(values[:, :len(reported)], ids, list(reported), replicates=replicates, seed=seed, key=name)
        corpus: set[str] = set()
        if len(ids) and corpus_keys:  # corpus-level figures: recomputed per replicate
            means = matrix_replicates(values[:, len(reported):], ids, corpus_keys, replicates=replicates, seed=seed, key=name)
            for m, arr in task_obj.from_means(means).items():
                if m in reported:
                    reps[m], corpus = np.asarray(arr, dtype=float), corpus | {m}
        n_clusters = len(set(ids))
        out.metrics[title] = {}
        for m, value in reported.items():
            low, high = _percentile(reps[m])
            n = len(ids) if m in corpus else int(np.count_nonzero(~np.isnan(values[:, list(reported).index(m)])))
            out.metrics[title][m] = Interval(float(value), low, high, n, n_clusters)
        value, missing = rule.partial_task_score(title, reported)
        if value is None:
            continue
        sreps, _ = rule.partial_task_score(title, reps)
        if sreps is not None:
            score_reps[title] = sreps
        low, high = _percentile(sreps) if sreps is not None else (None, None)
        out.task_scores[title] = Interval(value, low, high, len(ids), n_clusters, missing)
    for group in rule.groups:
        tasks = group.members
        value = rule.group_score(group, {t: iv.value for t, iv in out.task_scores.items()})
        if value is None:
            continue
        group_reps = rule.group_score(group, score_reps)
        low, high = _percentile(group_reps) if group_reps is not None else (None, None)
        missing = tuple(f"{t}:{m}" for t in tasks for m in out.task_scores[t].missing)
        # clusters: the smallest task's, the unit that bounds how well a group average is known
        out.levels[group.id] = Interval(float(value), low, high, sum(out.task_scores[t].n for t in tasks),
                                        min(out.task_scores[t].clusters for t in tasks), missing)
    return out


def mcnemar(a_correct: Sequence[bool], b_correct: Sequence[bool]) -> tuple[int, int, float]:
    """Exact McNemar test: (A-only correct, B-only correct, two-sided p) from the discordant pairs."""
    a_only = sum(1 for a, b in zip(a_correct, b_correct) if a and not b)
    b_only = sum(1 for a, b in zip(a_correct, b_correct) if b and not a)
    n = a_only + b_only
    if n == 0:
        return a_only, b_only, 1.0
    k = min(a_only, b_only)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n  # exact big-int arithmetic, then one division
    return a_only, b_only, min(1.0, 2.0 * tail)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], clusters: Sequence[str] | None = None, *,
                     replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
                     key: str = "") -> tuple[float, float | None, float | None, float]:
    """(mean difference A − B, CI low, CI high, two-sided p) by resampling paired items (or clusters)."""
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    if not diffs:
        return 0.0, None, None, 1.0
    ids = list(clusters) if clusters is not None else [str(i) for i in range(len(diffs))]
    reps = metric_replicates([{"d": d} for d in diffs], ids, ["d"], replicates=replicates, seed=seed, key=key)["d"]
    observed = float(np.mean(diffs))
    low, high = _percentile(reps)
    return observed, low, high, centred_p(reps, observed)


def centred_p(reps: np.ndarray, observed: float) -> float:
    """Two-sided bootstrap p of a difference: the share of centred replicates at least as extreme, +1 smoothing."""
    reps = reps[np.isfinite(reps)]
    extreme = int(np.sum(np.abs(reps - observed) >= abs(observed) - 1e-12))
    return (1 + extreme) / (reps.size + 1)


def compare_runs(bench: Benchmark | None, scores_a: Mapping[str, Any], samples_a: Sequence[Mapping[str, Any]],
                 scores_b: Mapping[str, Any], samples_b: Sequence[Mapping[str, Any]], *, replicates: int = DEFAULT_REPLICATES,
                 seed: int = DEFAULT_SEED) -> list[Paired]:
    """Paired comparison per task and metric on the items both runs (of benchmark `bench`) scored, matched by sample id."""
    out: list[Paired] = []
    rule = bench.score_rule if bench is not None else PLAIN
    tasks_b = scores_b.get("tasks", {})
    ok_a, ok_b = _ok_by_task(samples_a), _ok_by_task(samples_b)
    for name, task in scores_a.get("tasks", {}).items():
        if name not in tasks_b:
            continue
        title = task.get("title", name)
        a_by_id = {str(s["sample_id"]): s.get("scores") or {} for s in ok_a.get(name, [])}
        b_by_id = {str(s["sample_id"]): s.get("scores") or {} for s in ok_b.get(name, [])}
        common = [i for i in a_by_id if i in b_by_id]
        task_obj = _task(bench, name)
        metrics = [m for m in task.get("metrics", {}) if m in tasks_b[name].get("metrics", {})]
        for m in metrics:
            items = [i for i in common if a_by_id[i].get(m) is not None and b_by_id[i].get(m) is not None]
            if not items:
                continue
            xa = [float(a_by_id[i][m]) for i in items]
            xb = [float(b_by_id[i][m]) for i in items]
            clusters = [cluster_of(task_obj, i) for i in items]
            diff, low, high, p = paired_bootstrap(xa, xb, clusters, replicates=replicates, seed=seed, key=f"{name}:{m}")
            a_only = b_only = None
            test = "paired bootstrap"
            if m in rule.binary_metrics:
                a_only, b_only, p = mcnemar([v > 0 for v in xa], [v > 0 for v in xb])
                test = "McNemar (exact)"
            out.append(Paired(title, m, len(items), float(np.mean(xa)), float(np.mean(xb)), diff, low, high, p, test, a_only, b_only))
    return out
