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
Every random draw comes from `numpy.random.default_rng([seed, crc32(key)])` (clue/draws.py): same inputs and
seed → same numbers, and a task's interval does not depend on which other tasks a run has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from clue.benchmark import Benchmark
from clue.draws import _blas, _times_draws, prefetch_draws
from clue.items import ItemSource, RunItems, clusters_of, codes, column_sums, first_codes
from clue.items import cluster_of as cluster_of  # the resampling unit, where callers and tests look for it
from clue.items import items_of as _items_of
from clue.items import matrix as _matrix
from clue.score_rule import PLAIN

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


def _clusters(ids: Sequence[str]) -> tuple[np.ndarray, int]:
    idx, distinct = codes(ids)
    return idx, len(distinct)


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


def matrix_replicates(values: np.ndarray, clusters: Sequence[str], metrics: Sequence[str], *, replicates: int = DEFAULT_REPLICATES,
                      seed: int = DEFAULT_SEED, key: str = "") -> dict[str, np.ndarray]:
    """`metric_replicates` of items × metrics `values` (NaN: the item has no value for that metric)."""
    idx, n_clusters = _clusters(clusters) if len(values) and metrics else (np.zeros(0, np.int64), 0)
    return _idx_replicates(values, idx, n_clusters, metrics, replicates=replicates, seed=seed, key=key)


def _idx_replicates(values: np.ndarray, idx: np.ndarray, n_clusters: int, metrics: Sequence[str], *, replicates: int, seed: int,
                    key: str) -> dict[str, np.ndarray]:
    """`matrix_replicates` with the clusters already numbered (item i in cluster `idx[i]`, in order of first appearance)."""
    if not len(values) or not metrics:
        return {m: np.full(replicates, np.nan) for m in metrics}
    (means,) = block_replicates(idx, n_clusters, [values], replicates=replicates, seed=seed, key=key)
    return {m: means[:, j] for j, m in enumerate(metrics)}


def block_replicates(idx: np.ndarray, n_clusters: int, blocks: Sequence[np.ndarray], *, replicates: int = DEFAULT_REPLICATES,
                     seed: int = DEFAULT_SEED, key: str = "") -> list[np.ndarray]:
    """Per block (items × k values, NaN: none; item i in cluster `idx[i]`, clusters numbered 0.. in order of first
    appearance) the (replicates × k) bootstrap means of its columns: every block resampled with the one draw of `key`
    (paired), each block one product, as `matrix_replicates` makes it (the same floats). No product batches two
    blocks: BLAS sums a one-column product (gemv) in another order than a wider one (gemm), ~1e-13 apart."""
    if n_clusters == 0:
        return [np.full((replicates, values.shape[1]), np.nan) for values in blocks]
    sums, counts = [], []
    for values in blocks:
        s_, c_ = column_sums(idx, n_clusters, values)
        sums.append(s_)
        counts.append(c_)
    cols = np.concatenate(counts, axis=1)
    same = np.all(cols == cols[:1], axis=0)  # a column of one count c for every cluster: c·n_clusters in every replicate
    needs = [k for k, s_ in enumerate(sums) if s_.any()]  # a block of no values needs no product
    with np.errstate(invalid="ignore", divide="ignore"), _blas().limit(limits=1, user_api="blas"):
        mats = [sums[k] for k in needs] + ([cols[:, ~same]] if not same.all() else [])
        products = _times_draws(n_clusters, replicates, seed, key, mats) if mats else []
        drawn = np.empty((replicates, cols.shape[1]))
        drawn[:, same] = cols[0, same] * float(n_clusters)
        if not same.all():  # sums of integers: exact in any order
            drawn[:, ~same] = products[-1]
        bounds = np.cumsum([0] + [c.shape[1] for c in counts])
        summed = dict(zip(needs, products))
        return [(summed[k] if k in summed else np.zeros((replicates, s_.shape[1]))) / drawn[:, a:b]
                for k, (s_, a, b) in enumerate(zip(sums, bounds[:-1], bounds[1:]))]


def mean_ci(values: Sequence[float], clusters: Sequence[str] | None = None, *, replicates: int = DEFAULT_REPLICATES,
            seed: int = DEFAULT_SEED, key: str = "") -> Interval:
    """Plain mean of `values` with its (clustered) percentile bootstrap CI."""
    if not values:
        return Interval(None)
    ids = list(clusters) if clusters is not None else [str(i) for i in range(len(values))]
    reps = metric_replicates([{"v": v} for v in values], ids, ["v"], replicates=replicates, seed=seed, key=key)["v"]
    low, high = _percentile(reps)
    return Interval(float(np.mean(values)), low, high, len(values), len(set(ids)))


def _task(bench: Benchmark | None, name: str) -> Any:
    """The task object a run's task name refers to (None when the benchmark is unknown)."""
    return bench.tasks.get(name) if bench is not None else None


@dataclass(frozen=True)
class Prepared:
    """One run's tasks read and clustered for `run_intervals`, their draws started (`prepare_intervals`)."""

    tasks: list[tuple[Any, ...]]
    replicates: int
    seed: int

    def draws(self) -> list[tuple[int, int, int, str]]:
        """The bootstrap draws its tasks resample with (clue.draws.prefetch_draws' arguments)."""
        return [(n_clusters, self.replicates, self.seed, name) for name, *_, n_clusters in self.tasks if n_clusters]


def prepare_intervals(bench: Benchmark | None, scores: Mapping[str, Any], samples: Sequence[Mapping[str, Any]] | ItemSource, *,
                      replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED) -> Prepared:
    """The first half of `run_intervals`: each task's items, values and clusters, and every task's bootstrap draws
    started in the background (`prefetch_draws`) — a caller that knows early which runs need CIs (the report, as
    each run is loaded) calls this then, and the draws are made while it goes on."""
    items_of = _items_of(samples)
    prepared = []
    for name, task in scores.get("tasks", {}).items():
        reported = {m: v for m, v in task.get("metrics", {}).items() if v is not None}
        task_obj = _task(bench, name)
        corpus_keys = list(getattr(task_obj, "corpus_keys", ()))
        sample_ids, values = items_of(name, list(reported) + corpus_keys)
        idx, n_clusters = _clusters(clusters_of(task_obj, sample_ids))  # numbers, not a string per item: runs wait here
        prepared.append((name, task, reported, task_obj, corpus_keys, values, idx, n_clusters))
    out = Prepared(prepared, replicates, seed)
    prefetch_draws(out.draws())  # every task's at once
    return out


def run_intervals(bench: Benchmark | None, scores: Mapping[str, Any], samples: Sequence[Mapping[str, Any]] | ItemSource, *,
                  replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED, prepared: Prepared | None = None) -> RunIntervals:
    """CIs for every reported metric, task score and group average of one run of `bench` (None: unknown
    benchmark, metrics only).

    `scores` is scores.json, `samples` the lines of samples.jsonl (or an `ItemSource` of them); only status-ok items count.
    `prepared`: `prepare_intervals` of the same run, replicates and seed, where it was called earlier.
    """
    rule = bench.score_rule if bench is not None else PLAIN
    out = RunIntervals()
    score_reps: dict[str, np.ndarray] = {}
    if prepared is None or (prepared.replicates, prepared.seed) != (replicates, seed):
        prepared = prepare_intervals(bench, scores, samples, replicates=replicates, seed=seed)
    else:  # the ones not started then (too many waiting)
        prefetch_draws(prepared.draws())
    for name, task, reported, task_obj, corpus_keys, values, idx, n_clusters in prepared.tasks:
        title = task.get("title", name)
        reps = _idx_replicates(values[:, :len(reported)], idx, n_clusters, list(reported), replicates=replicates, seed=seed, key=name)
        corpus: set[str] = set()
        if len(idx) and corpus_keys:  # corpus-level figures: recomputed per replicate
            means = _idx_replicates(values[:, len(reported):], idx, n_clusters, corpus_keys, replicates=replicates, seed=seed, key=name)
            for m, arr in task_obj.from_means(means).items():
                if m in reported:
                    reps[m], corpus = np.asarray(arr, dtype=float), corpus | {m}
        out.metrics[title] = {}
        for m, value in reported.items():
            low, high = _percentile(reps[m])
            n = len(idx) if m in corpus else int(np.count_nonzero(~np.isnan(values[:, list(reported).index(m)])))
            out.metrics[title][m] = Interval(float(value), low, high, n, n_clusters)
        value, missing = rule.partial_task_score(title, reported)
        if value is None:
            continue
        sreps, _ = rule.partial_task_score(title, reps)
        if sreps is not None:
            score_reps[title] = sreps
        low, high = _percentile(sreps) if sreps is not None else (None, None)
        out.task_scores[title] = Interval(value, low, high, len(idx), n_clusters, missing)
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
    n_pairs = min(len(a_correct), len(b_correct))
    a = np.asarray(a_correct[:n_pairs], dtype=bool)
    b = np.asarray(b_correct[:n_pairs], dtype=bool)
    a_only, b_only = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(b & ~a))
    n = a_only + b_only
    if n == 0:
        return a_only, b_only, 1.0
    term = total = 1  # Σ_{i ≤ k} C(n, i), exact big-int arithmetic (C(n, i) from C(n, i − 1)), then one division
    for i in range(1, min(a_only, b_only) + 1):
        term = term * (n - i + 1) // i
        total += term
    return a_only, b_only, min(1.0, 2.0 * (total / 2 ** n))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], clusters: Sequence[str] | None = None, *,
                     replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
                     key: str = "") -> tuple[float, float | None, float | None, float]:
    """(mean difference A − B, CI low, CI high, two-sided p) by resampling paired items (or clusters)."""
    n = min(len(a), len(b))
    diffs = np.asarray(a[:n], dtype=np.float64) - np.asarray(b[:n], dtype=np.float64)
    if clusters is None:
        return _paired(diffs, np.arange(n, dtype=np.int64), n, replicates=replicates, seed=seed, key=key)
    return _paired(diffs, *_clusters(list(clusters)[:n]), replicates=replicates, seed=seed, key=key)


def _paired(diffs: np.ndarray, idx: np.ndarray, n_clusters: int, *, replicates: int, seed: int,
            key: str) -> tuple[float, float | None, float | None, float]:
    """`paired_bootstrap` of the differences `diffs`, item i in cluster `idx[i]` (numbered in order of first appearance)."""
    if not diffs.size:
        return 0.0, None, None, 1.0
    (reps,) = block_replicates(idx, n_clusters, [diffs.reshape(-1, 1)], replicates=replicates, seed=seed, key=key)
    observed = float(np.mean(diffs))
    low, high = _percentile(reps[:, 0])
    return observed, low, high, centred_p(reps[:, 0], observed)


def centred_p(reps: np.ndarray, observed: float) -> float:
    """Two-sided bootstrap p of a difference: the share of centred replicates at least as extreme, +1 smoothing."""
    reps = reps[np.isfinite(reps)]
    extreme = int(np.sum(np.abs(reps - observed) >= abs(observed) - 1e-12))
    return (1 + extreme) / (reps.size + 1)


def compare_runs(bench: Benchmark | None, scores_a: Mapping[str, Any], samples_a: Sequence[Mapping[str, Any]] | ItemSource | RunItems,
                 scores_b: Mapping[str, Any], samples_b: Sequence[Mapping[str, Any]] | ItemSource | RunItems, *,
                 replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED) -> list[Paired]:
    """Paired comparison per task and metric on the items both runs (of benchmark `bench`) scored, matched by sample id
    (a sample id twice in one task: its last line); values read column-wise (clue/items.py `RunItems`)."""
    out: list[Paired] = []
    rule = bench.score_rule if bench is not None else PLAIN
    tasks_b = scores_b.get("tasks", {})
    run_a, run_b = RunItems.of(samples_a), RunItems.of(samples_b)
    for name, task in scores_a.get("tasks", {}).items():
        if name not in tasks_b:
            continue
        metrics = [m for m in task.get("metrics", {}) if m in tasks_b[name].get("metrics", {})]
        if not metrics:
            continue
        ta, tb = run_a.task(name, metrics), run_b.task(name, metrics)
        rows_a, rows_b = ta.lines_in_both(tb)
        line_clusters = ta.item_clusters(_task(bench, name))[ta.line_item[rows_a]]
        for m in metrics:
            xa, xb = ta.values[rows_a, ta.metrics.index(m)], tb.values[rows_b, tb.metrics.index(m)]
            has = ~np.isnan(xa) & ~np.isnan(xb)
            if not has.any():
                continue
            xa, xb = xa[has], xb[has]
            diff, low, high, p = _paired(xa - xb, *first_codes(line_clusters[has]), replicates=replicates, seed=seed, key=f"{name}:{m}")
            a_only = b_only = None
            test = "paired bootstrap"
            if m in rule.binary_metrics:
                a_only, b_only, p = mcnemar(xa > 0, xb > 0)
                test = "McNemar (exact)"
            out.append(Paired(task.get("title", name), m, int(xa.size), float(np.mean(xa)), float(np.mean(xb)), diff, low, high, p,
                              test, a_only, b_only))
    return out
