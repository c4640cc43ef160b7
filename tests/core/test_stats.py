"""Bootstrap CIs (seeded, clustered for LongHealth) and paired comparisons (bootstrap, McNemar)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clue import draws, stats
from clue.benchmark import get_benchmark
from tests.core.test_report_fixtures import sample

CLUE = get_benchmark("clue")


def test_mean_ci_is_seeded_and_contains_the_mean():
    values = [float(v) for v in np.random.default_rng(1).uniform(0, 100, 200)]
    a = stats.mean_ci(values, seed=3, key="x")
    assert a == stats.mean_ci(values, seed=3, key="x")
    assert a != stats.mean_ci(values, seed=4, key="x")
    assert a.low < a.value < a.high
    sd = float(np.std(values, ddof=1)) / math.sqrt(len(values))
    assert a.high - a.low == pytest.approx(2 * 1.96 * sd, rel=0.2)  # ≈ the normal interval


def test_degenerate_and_empty():
    iv = stats.mean_ci([100.0] * 5)
    assert (iv.value, iv.low, iv.high) == (100.0, 100.0, 100.0)
    assert stats.mean_ci([]).value is None


def test_clusters_widen_the_interval_for_correlated_items():
    rng = np.random.default_rng(0)
    values, clusters = [], []
    for q in range(40):  # 40 questions × 15 repetitions that (almost) agree with each other
        v = float(rng.integers(0, 2) * 100)
        values += [v] * 15
        clusters += [f"q{q}"] * 15
    naive = stats.mean_ci(values)
    clustered = stats.mean_ci(values, clusters)
    assert clustered.clusters == 40 and naive.clusters == 600
    assert (clustered.high - clustered.low) > 2.5 * (naive.high - naive.low)


def test_longhealth_clusters_by_question():
    from clue.benchmarks.clue.tasks import TASKS

    assert stats.cluster_of(TASKS["longhealth"], "SYNTHETIC-patient_01/q3/t2/r4") == "SYNTHETIC-patient_01/q3"
    assert stats.cluster_of(TASKS["longhealth"], "p7/q12/t1/r0") == "p7/q12"
    assert stats.cluster_of(TASKS["meqsum"], "17") == "17"
    assert stats.cluster_of(None, "17") == "17"  # a task no installed benchmark knows


def test_run_intervals_task_score_and_levels():
    samples, tasks = [], {}
    rng = np.random.default_rng(5)
    for name, title, metrics in [("mednli", "MedNLI", ["accuracy"]), ("meqsum", "MeQSum", ["rougeL", "rouge1", "rouge2"]),
                                 ("problemsummary", "ProblemSummary", ["rougeL", "rouge1", "rouge2", "bertscore_f1", "umls_f1"])]:
        lines = [sample(name, f"SYNTHETIC-{i}", {m: float(rng.uniform(0, 100)) for m in metrics}) for i in range(30)]
        samples += lines
        tasks[name] = {"title": title, "metrics": {m: float(np.mean([s["scores"][m] for s in lines])) for m in metrics}}
    out = stats.run_intervals(CLUE, {"tasks": tasks}, samples, replicates=300, seed=1)
    assert set(out.metrics) == {"MedNLI", "MeQSum", "ProblemSummary"}
    acc = out.metrics["MedNLI"]["accuracy"]
    assert acc.low < acc.value < acc.high and acc.n == 30
    assert out.task_scores["MeQSum"].missing == ("bertscore_f1",)  # partial, and says why
    assert not out.task_scores["ProblemSummary"].partial
    lv = out.levels["Level1"]
    assert lv.partial and lv.missing == ("MeQSum:bertscore_f1",)
    expected = np.mean([out.task_scores[t].value for t in ("MedNLI", "MeQSum", "ProblemSummary")])
    assert lv.value == pytest.approx(expected) and lv.low < lv.value < lv.high
    assert "Level2" not in out.levels
    # failed items never count
    samples.append(sample("mednli", "SYNTHETIC-failed", {}, status="failed"))
    assert stats.run_intervals(CLUE, {"tasks": tasks}, samples, replicates=300, seed=1).metrics["MedNLI"]["accuracy"].n == 30


def test_mcnemar_exact():
    a = [True] * 10 + [False] * 2 + [True] * 20
    b = [False] * 10 + [True] * 2 + [True] * 20
    a_only, b_only, p = stats.mcnemar(a, b)
    assert (a_only, b_only) == (10, 2)
    assert p == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert stats.mcnemar([True, False], [True, False]) == (0, 0, 1.0)
    big = stats.mcnemar([True] * 1500 + [False] * 500, [False] * 1500 + [True] * 500)
    assert 0 <= big[2] < 1e-100  # exact big-int arithmetic, no overflow


def test_paired_bootstrap():
    rng = np.random.default_rng(2)
    a = [float(x) for x in rng.uniform(0, 100, 100)]
    diff, low, high, p = stats.paired_bootstrap(a, [x - 5 for x in a], replicates=500)
    assert diff == pytest.approx(5) and low == pytest.approx(5) and high == pytest.approx(5) and p < 0.01
    noise = [float(x) for x in rng.normal(0, 10, 100)]
    diff, low, high, p = stats.paired_bootstrap(a, [x + n for x, n in zip(a, noise)], replicates=500)
    assert low < 0 < high and p > 0.05


def test_compare_runs_uses_common_items_and_picks_the_test():
    sa = [sample("mednli", f"SYNTHETIC-{i}", {"accuracy": 100.0 if i < 30 else 0.0}) for i in range(40)]
    sb = [sample("mednli", f"SYNTHETIC-{i}", {"accuracy": 100.0 if i < 5 else 0.0}) for i in range(40)]
    sa += [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 50.0 + i % 3}) for i in range(20)]
    sb += [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 40.0}) for i in range(20)]
    sb.append(sample("meqsum", "SYNTHETIC-only-b", {"rougeL": 0.0}))
    sb[0] = sample("mednli", "SYNTHETIC-0", {}, status="failed")
    scores = {"tasks": {"mednli": {"title": "MedNLI", "metrics": {"accuracy": 1}}, "meqsum": {"title": "MeQSum", "metrics": {"rougeL": 1}}}}
    res = {r.task: r for r in stats.compare_runs(CLUE, scores, sa, scores, sb, replicates=200)}
    assert res["MedNLI"].test.startswith("McNemar") and res["MedNLI"].n == 39
    assert (res["MedNLI"].a_only, res["MedNLI"].b_only) == (25, 0) and res["MedNLI"].p_value < 1e-6
    assert res["MeQSum"].test == "paired bootstrap" and res["MeQSum"].n == 20
    assert res["MeQSum"].diff == pytest.approx(np.mean([10.0 + i % 3 for i in range(20)]))


def test_replicate_means_are_the_weighted_means_of_their_draws_to_the_last_bit():
    """Σ w·sum / Σ w·count per replicate, worked out here with fresh float arrays and two products per metric: the
    reused scratch buffer and the single-item shortcut must give the very same floats (clustered items, items
    lacking a metric, several metrics, and two calls in a row whose sizes differ)."""
    rng = np.random.default_rng(5)
    for n, per_cluster, holes in ((40, 1, False), (300, 4, False), (257, 1, True), (90, 3, True), (40, 1, False)):
        values = np.round(rng.random((n, 3)) * 100, 3)
        if holes:
            values[rng.random((n, 3)) < 0.2] = np.nan
        clusters = [f"c{i // per_cluster}" for i in range(n)]
        got = stats.matrix_replicates(values, clusters, ["a", "b", "c"], replicates=200, seed=3, key=f"k{n}")
        k = (n + per_cluster - 1) // per_cluster
        w = draws.rng_for(3, f"k{n}").multinomial(k, np.full(k, 1.0 / k), size=200).astype(float)
        assert w.sum(axis=1).tolist() == [float(k)] * 200
        unit = np.arange(n) // per_cluster
        sums, counts = np.zeros((k, 3)), np.zeros((k, 3))
        for j in range(3):
            has = ~np.isnan(values[:, j])
            sums[:, j] = np.bincount(unit[has], weights=values[has, j], minlength=k)
            counts[:, j] = np.bincount(unit[has], minlength=k)
        with np.errstate(invalid="ignore", divide="ignore"):
            want = (w @ sums) / (w @ counts)
        for j, m in enumerate("abc"):
            assert np.array_equal(got[m], want[:, j], equal_nan=True), (n, m)


def test_prefetched_draws_are_the_seeded_multinomials_and_made_once(monkeypatch):
    """A draw started in the background (prefetch_draws) is the seeded multinomial itself, and a caller asking for it
    while it is under way waits for it instead of drawing it a second time."""
    import threading

    made: list[tuple] = []
    started, release = threading.Event(), threading.Event()
    real = draws._draw

    def slow(*args):
        made.append(args)
        started.set()
        assert release.wait(60), "the test never released the draw"
        return real(*args)

    monkeypatch.setattr(draws, "_draw", slow)
    args = (37, 50, 11, "prefetch-test-key")
    draws.prefetch_draws([args, args])  # one key twice: one draw
    assert started.wait(60)
    got: list[np.ndarray] = []
    asker = threading.Thread(target=lambda: got.append(draws._draws(*args)))
    asker.start()
    release.set()
    asker.join(60)
    want = np.random.default_rng([11, __import__("zlib").crc32(b"prefetch-test-key")]).multinomial(37, [1 / 37] * 37, size=50)
    assert made == [args] and len(got) == 1
    assert np.array_equal(got[0], want) and got[0] is draws._draws(*args)


@pytest.mark.parametrize(("n", "replicates"), [(5000, 100), (20000, 30)])
def test_replicate_means_of_many_clusters_are_the_weighted_means_in_blocks_of_rows(n, replicates):
    """Draws too large for one block of rows (5,000 clusters: 24 rows a block; 20,000: the least, 8) are multiplied a
    block at a time: the replicate means are still Σ w·sum / Σ w·count (fresh whole arrays here), to 1e-13 — BLAS
    may add a block's dot products in another order than the whole product's — and the counts exactly."""
    rng = np.random.default_rng(8)
    values = np.round(rng.random((n, 2)) * 100, 3)
    values[rng.random((n, 2)) < 0.1] = np.nan
    got = stats.matrix_replicates(values, [f"c{i}" for i in range(n)], ["a", "b"], replicates=replicates, seed=4, key="many")
    w = draws.rng_for(4, "many").multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(float)
    sums, counts = np.nan_to_num(values), (~np.isnan(values)).astype(float)
    want = (w @ sums) / (w @ counts)
    for j, m in enumerate("ab"):
        np.testing.assert_allclose(got[m], want[:, j], rtol=1e-13, atol=0)


def test_prefetching_many_draws_queues_a_few_and_each_is_made_once(monkeypatch):
    """prefetch_draws queues at most PREFETCHED draws (the rest are made when asked for), a queued draw counts as
    kept at once, and asking for all of them afterwards makes each exactly once (none pushed out unused)."""
    import threading

    made: list[tuple] = []
    release = threading.Event()
    real = draws._draw

    def slow(*args):
        made.append(args)
        assert release.wait(60), "the test never released the draws"
        return real(*args)

    monkeypatch.setattr(draws, "_draw", slow)
    wanted = [(5 + i, 20, 1, "cap-test") for i in range(40)]
    try:
        draws.prefetch_draws(wanted)
        with draws._DRAWN_LOCK:
            queued = [a for a in wanted if a in draws._DRAWN]
        assert queued == wanted[:draws.PREFETCHED]  # in the order asked, no more
        draws.prefetch_draws(wanted)  # asked again while they wait: nothing more queued
        with draws._DRAWN_LOCK:
            assert [a for a in wanted if a in draws._DRAWN] == queued
    finally:
        release.set()
    got = [draws._draws(*a) for a in wanted]
    assert sorted(made) == sorted(wanted)  # each made once, queued or asked
    for a, g in zip(wanted, got):
        assert g.shape == (20, a[0]) and g.sum(axis=1).tolist() == [a[0]] * 20
