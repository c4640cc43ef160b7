"""The paired comparisons read column-wise (clue/items.py; issue 25): worked out by hand on small inputs, and the same
`Paired` / `Row` results whether a run's samples come as a list of lines (dicts) or read column-wise from samples.jsonl
(the demo runs, a small ClinicBench grid with a 3-seed few-shot run and failed requests, CLUE runs with LongHealth's
clustered items), and the same as the dict-based pairing before it on the frozen inputs of test_report_equivalence
(paired_expected.json.gz: `as_plain` of PAIRS computed at main 79830ff, before this change). All data invented (ids
SYNTHETIC-…)."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clue import draws, stats
from clue.benchmark import get_benchmark
from clue.compare import compare
from clue.items import RunItems, first_codes
from clue.report.load import load_run
from tests.core.test_report_fixtures import sample, write_run

CLUE = get_benchmark("clue")


def test_an_items_value_is_the_mean_over_its_seeds_lines_that_have_it():
    lines = [sample("t", "SYNTHETIC-1@seed0", {"accuracy": 10.0, "rougeL": 40.0}),
             sample("t", "SYNTHETIC-2@seed0", {"accuracy": 100.0}),
             sample("t", "SYNTHETIC-1@seed1", {"accuracy": 20.0}),
             sample("t", "SYNTHETIC-2@seed1", {}, status="failed"),  # failed: not a value of its item
             sample("t", "SYNTHETIC-1@seed2", {"accuracy": 60.0}),
             sample("t", "SYNTHETIC-2@seed2", {"accuracy": 0.0}),
             sample("other", "SYNTHETIC-1@seed0", {"accuracy": 99.0})]
    t = RunItems(lines).task("t", ["accuracy", "rougeL"])
    assert t.items == ["SYNTHETIC-1", "SYNTHETIC-2"] and t.ids[0] == "SYNTHETIC-1@seed0" and len(t.ids) == 5
    assert t.item_values[0].tolist() == [30.0, 40.0]  # (10 + 20 + 60) / 3; rougeL on one line only
    assert t.item_values[1, 0] == 50.0 and math.isnan(t.item_values[1, 1])  # (100 + 0) / 2, the failed line left out


def test_a_task_read_again_with_more_metrics_keeps_its_columns():
    run = RunItems([sample("t", f"SYNTHETIC-{i}", {"a": float(i), "b": 2.0 * i}) for i in range(3)])
    assert run.task("t", ["a"]).metrics == ["a"]
    wider = run.task("t", ["b"])
    assert wider.metrics == ["a", "b"] and wider.values.tolist() == [[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]
    assert run.task("t", ["b", "a"]) is wider  # already read: the same object


def test_cluster_labels_are_numbered_in_order_of_first_appearance():
    idx, n = first_codes(np.array([7, 3, 7, 5, 3]))
    assert idx.tolist() == [0, 1, 0, 2, 1] and n == 3
    assert first_codes(np.zeros(0, dtype=np.int64))[1] == 0


def test_block_replicates_are_the_weighted_means_of_the_drawn_clusters():
    """Against an explicit loop: a replicate's mean is Σ_c w_c·(sum of c's values) / Σ_c w_c·(c's count)."""
    values = np.array([[10.0, np.nan], [20.0, 1.0], [np.nan, 2.0], [40.0, 3.0], [50.0, np.nan], [60.0, 5.0], [70.0, 7.0]])
    clusters = np.array([0, 0, 1, 2, 2, 3, 1])
    other = np.full((7, 1), np.nan)  # a block with no value at all: no product, NaN replicates
    first, second, empty = stats.block_replicates(clusters, 4, [values, values[:, 1:] * 2, other], replicates=50, seed=3, key="k")
    w = draws._draws(4, 50, 3, "k").astype(np.int64)
    for r in range(50):
        for j in range(2):
            has = [i for i in range(7) if not math.isnan(values[i, j])]
            total = math.fsum(w[r, clusters[i]] * values[i, j] for i in has)
            count = sum(int(w[r, clusters[i]]) for i in has)
            assert first[r, j] == pytest.approx(total / count, rel=1e-12)
        assert second[r, 0] == pytest.approx(2 * first[r, 1], rel=1e-12)
    assert np.isnan(empty).all() and first.shape == (50, 2)
    # the same floats as one product of the whole matrix (what matrix_replicates made before blocks)
    assert np.array_equal(stats.matrix_replicates(values, [f"c{c}" for c in clusters], ["x", "y"], replicates=50, seed=3, key="k")["y"],
                          first[:, 1], equal_nan=True)


@pytest.mark.parametrize("a_only,b_only", [(0, 1), (1, 0), (3, 9), (10, 2), (25, 25), (40, 7), (150, 151), (300, 12)])
def test_mcnemar_tail_is_the_binomial_sum_exactly(a_only, b_only):
    a = [True] * a_only + [False] * b_only + [True] * 5
    b = [False] * a_only + [True] * b_only + [True] * 5
    n, k = a_only + b_only, min(a_only, b_only)
    assert stats.mcnemar(a, b) == (a_only, b_only, min(1.0, 2.0 * (sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)))
    assert stats.mcnemar(np.array(a), np.array(b)) == stats.mcnemar(a, b)


def test_pairing_by_sample_id_takes_a_repeated_ids_last_line():
    scores = {"tasks": {"mednli": {"title": "MedNLI", "metrics": {"accuracy": 1.0}}}}
    a = [sample("mednli", "SYNTHETIC-x", {"accuracy": 0.0}), sample("mednli", "SYNTHETIC-y", {"accuracy": 100.0}),
         sample("mednli", "SYNTHETIC-x", {"accuracy": 100.0}), sample("mednli", "SYNTHETIC-a-only", {"accuracy": 0.0})]
    b = [sample("mednli", "SYNTHETIC-y", {"accuracy": 0.0}), sample("mednli", "SYNTHETIC-x", {"accuracy": 100.0}),
         sample("mednli", "SYNTHETIC-b-only", {"accuracy": 0.0})]
    (p,) = stats.compare_runs(CLUE, scores, a, scores, b, replicates=50)
    assert (p.n, p.mean_a, p.mean_b, p.diff, p.a_only, p.b_only) == (2, 100.0, 50.0, 50.0, 1, 0)  # x: 100 vs 100, y: 100 vs 0


def test_three_seeds_pair_item_by_item_with_a_zero_shot_run():
    """Each item's three seeds score v − 10, v, v + 10: their mean is v exactly, the zero-shot run's value."""
    ids = [f"SYNTHETIC-{i}" for i in range(30)]
    seeded = [sample("meqsum", f"{i}@seed{s}", {"rougeL": float(10 + n + d)}) for s, d in ((0, -10), (1, 0), (2, 10))
              for n, i in enumerate(ids)]
    zero = [sample("meqsum", i, {"rougeL": float(10 + n)}) for n, i in enumerate(ids)]
    scores = {"tasks": {"meqsum": {"title": "MeQSum", "metrics": {"rougeL": 24.5}}}}
    result = compare(CLUE, {"name": "k3", "scores": scores, "samples": seeded}, {"name": "k0", "scores": scores, "samples": zero})
    (row,) = result.rows
    assert (row.n, row.units, row.a, row.b, row.diff, row.low, row.high) == (30, 30, 24.5, 24.5, 0.0, 0.0, 0.0)
    assert row.outcome == "equivalent" and result.unpaired == ()
    assert stats.compare_runs(CLUE, scores, seeded, scores, zero) == []  # the paired table matches sample ids: none shared


def test_a_value_counts_only_where_both_runs_have_it():
    """Item 3 has no rougeL in run A: it leaves both runs' means (B's 3 would otherwise pull B's mean up)."""
    a = [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 10.0} if i != 3 else {"rouge1": 5.0}) for i in range(25)]
    b = [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 20.0 if i != 3 else 95.0, "rouge1": 5.0}) for i in range(25)]
    scores = {"tasks": {"meqsum": {"title": "MeQSum", "metrics": {"rougeL": 1.0, "rouge1": 1.0}}}}
    rows = {r.metric: r for r in compare(CLUE, {"name": "a", "scores": scores, "samples": a},
                                         {"name": "b", "scores": scores, "samples": b}).rows}
    assert (rows["rougeL"].n, rows["rougeL"].a, rows["rougeL"].b, rows["rougeL"].diff) == (24, 10.0, 20.0, -10.0)
    assert (rows["rougeL"].low, rows["rougeL"].high) == (-10.0, -10.0)  # every pair differs by 10: so does every replicate
    assert (rows["rouge1"].n, rows["rouge1"].diff) == (1, 0.0)
    (p,) = [p for p in stats.compare_runs(CLUE, scores, a, scores, b) if p.metric == "rougeL"]
    assert (p.n, p.mean_a, p.mean_b) == (24, 10.0, 20.0)


def _longhealth(questions: int, reps: int, correct: Any) -> list[dict[str, Any]]:
    """Question q's repetitions all answered alike (right when correct(q))."""
    if reps == 0:  # one line per question, its id the question itself
        return [sample("longhealth", f"SYNTHETIC-p0/q{q}", {"task1_acc": 100.0 if correct(q) else 0.0}) for q in range(questions)]
    return [sample("longhealth", f"SYNTHETIC-p0/q{q}/t1/r{r}", {"task1_acc": 100.0 if correct(q) else 0.0})
            for q in range(questions) for r in range(reps)]


def test_a_clustered_task_resamples_its_questions():
    """LongHealth's repetitions of one question are one resampling unit: with every repetition answered alike, the
    comparison is that of one line per question (same draws: same key, same number of clusters)."""
    scores = {"tasks": {"longhealth": {"title": "LongHealth", "metrics": {"task1_acc": 1.0}}}}

    def judged(reps: int) -> Any:
        a = {"name": "a", "scores": scores, "samples": _longhealth(40, reps, lambda q: q % 3 != 0)}
        b = {"name": "b", "scores": scores, "samples": _longhealth(40, reps, lambda q: q % 4 != 0)}
        (row,) = compare(CLUE, a, b, margin=5.0).rows
        return row

    one, five = judged(0), judged(5)
    assert (one.n, one.units, five.n, five.units) == (40, 40, 200, 40)
    assert five.diff == pytest.approx(one.diff) == pytest.approx(100 * (26 / 40 - 30 / 40))
    assert (five.low, five.high) == (pytest.approx(one.low, rel=1e-12), pytest.approx(one.high, rel=1e-12))
    assert five.outcome == one.outcome and five.test.startswith("McNemar")


# --- one implementation, two routes: a list of lines and the column-wise read give the same results ---------------


def _same(got: Any, want: Any) -> None:
    np.testing.assert_equal(dataclasses.asdict(got) if dataclasses.is_dataclass(got) else got,
                            dataclasses.asdict(want) if dataclasses.is_dataclass(want) else want)


def routes_agree(dir_a: Path, dir_b: Path, replicates: int = 200) -> Any:
    """compare() and compare_runs() of two run directories, read column-wise, as lists of lines, and through one
    RunItems per run shared by both (as the report's pairs do): identical results, NaN equal to NaN."""
    a, b = load_run(dir_a), load_run(dir_b)
    bench = a["benchmark"]
    as_lists = [{**r, "samples": list(r["samples"])} for r in (a, b)]  # each line parsed whole: dicts
    shared = [{**r, "samples": RunItems(r["samples"])} for r in (a, b)]
    results = []
    for x, y in ((a, b), as_lists, shared):
        paired = stats.compare_runs(bench, x["scores"], x["samples"], y["scores"], y["samples"], replicates=replicates)
        results.append((paired, compare(bench, x, y, margin=2.0, replicates=replicates)))
    assert isinstance(as_lists[0]["samples"][0], dict)
    for paired, judged in results[1:]:
        assert len(paired) == len(results[0][0])
        for p, q in zip(paired, results[0][0]):
            _same(p, q)
        _same(judged, results[0][1])
    return results[0]


def test_routes_agree_on_the_demo_runs(tmp_path):
    """The frozen inputs of test_report_equivalence: the demo and odd-shaped CLUE runs (chat prompts, failed requests,
    null and unlisted metrics, several seeds) and its small ClinicBench grid (0 / 3-shot, failed requests)."""
    from tests.core.report_equivalence.freeze import unpack

    root = unpack(tmp_path)
    names = ["demo", "odd", "good", "bad", "few"]
    runs = {n: load_run(root / n) for n in names}
    pairs = [(root / x, root / y) for i, x in enumerate(names) for y in names[i + 1:] if runs[x]["benchmark"] is runs[y]["benchmark"]]
    grid = root / "grid"
    pairs += [(grid / "claude__3shot", grid / "claude__0shot"), (grid / "gpt-4__0shot", grid / "claude__0shot"),
              (grid / "llama2-7b-chat__3shot", grid / "gpt-3.5__3shot")]
    judged = [routes_agree(x, y)[1] for x, y in pairs]
    assert sum(1 for c in judged if c.rows) >= 5
    assert any(r.test.startswith("McNemar") for c in judged for r in c.rows)
    assert any(r.test == "paired bootstrap" for c in judged for r in c.rows)


def test_routes_agree_on_a_small_grid_with_seeds_and_failed_requests(tmp_path):
    from clue.perf.grid import write_run as write_grid_run
    from clue.perf.report_scale import clinicbench_datasets

    datasets = clinicbench_datasets(0.005)  # 20 items per dataset (the floor), ddi / gad with corpus keys among them
    zero = write_grid_run(tmp_path / "k0", "SYNTHETIC-m", 0, datasets, skill=0.5, fail_p=0.1, rng_seed=1)
    three = write_grid_run(tmp_path / "k3", "SYNTHETIC-m", 3, datasets, skill=0.6, seeds=3, rng_seed=2)
    one = write_grid_run(tmp_path / "k1", "SYNTHETIC-m", 1, datasets, skill=0.55, fail_p=0.05, rng_seed=3)
    _, seeded = routes_agree(three, zero)
    assert seeded.unpaired and all(only_a >= 1 and only_b == 0 for _, only_a, only_b in seeded.unpaired)  # zero-shot's failures
    paired, judged = routes_agree(one, zero)
    assert paired and judged.rows and len(judged.rows) >= len(datasets)


def test_routes_agree_on_clue_runs_with_clusters_seeds_and_failures(tmp_path):
    rng = np.random.default_rng(4)

    def lines(skill: float, seeds: tuple[int, ...] | None, failed: set[int]) -> list[dict[str, Any]]:
        out = []
        for s in seeds or (None,):
            tail = "" if s is None else f"@seed{s}"
            for i in range(40):
                status = "failed" if i in failed and s in (None, 0) else "ok"
                out.append(sample("mednli", f"SYNTHETIC-{i}{tail}", {"accuracy": 100.0 * (rng.random() < skill)}, status=status))
                out.append(sample("meqsum", f"SYNTHETIC-{i}{tail}", {m: float(rng.uniform(0, 100)) for m in ("rougeL", "rouge1", "rouge2")}
                                  | ({"bertscore_f1": float(rng.uniform(50, 90))} if i % 7 else {}), status=status))
            for q in range(12):
                for t in (1, 2, 3):
                    for r in range(3):
                        out.append(sample("longhealth", f"SYNTHETIC-p{q % 4}/q{q}/t{t}/r{r}{tail}",
                                          {f"task{t}_acc": 100.0 * (rng.random() < skill)}))
        return out

    a = write_run(tmp_path / "a", "SYNTHETIC-a", lines(0.7, (0, 1, 2), {3, 9}), shots=3)
    b = write_run(tmp_path / "b", "SYNTHETIC-b", lines(0.6, None, {5}), shots=0)
    c = write_run(tmp_path / "c", "SYNTHETIC-c", lines(0.65, (0, 1, 2), set()), shots=3)
    _, seeded_vs_zero = routes_agree(a, b)
    assert {t for t, _, _ in seeded_vs_zero.unpaired} == {"MedNLI", "MeQSum"}
    longhealth = [r for r in seeded_vs_zero.rows if r.task == "LongHealth"]
    assert longhealth and all(r.units == 12 and r.n == 36 for r in longhealth if r.metric != "score")  # 12 questions × 3
    paired, _ = routes_agree(a, c)  # same seeds: the paired table pairs their lines by sample id
    assert {p.task for p in paired} >= {"MedNLI", "MeQSum", "LongHealth"}


PAIRS = [("good", "bad"), ("bad", "few"), ("odd", "good"), ("grid/claude__3shot", "grid/claude__0shot"),
         ("grid/gpt-4__0shot", "grid/claude__0shot"), ("grid/llama2-7b-chat__3shot", "grid/gpt-3.5__3shot")]


def as_plain(root: Path) -> list[dict[str, Any]]:
    """compare() (margin 2, 300 replicates) and compare_runs() of PAIRS under `root`, as plain data (it made the
    expected file at main 79830ff: `PYTHONPATH=<that checkout> python -c` calling it on freeze.unpack's folder)."""
    out = []
    for x, y in PAIRS:
        a, b = load_run(root / x), load_run(root / y)
        judged = compare(a["benchmark"], a, b, margin=2.0, replicates=300)
        paired = stats.compare_runs(a["benchmark"], a["scores"], a["samples"], b["scores"], b["samples"], replicates=300)
        out.append({"a": x, "b": y, "comparison": judged.as_dict(), "paired": [dataclasses.asdict(p) for p in paired]})
    return json.loads(json.dumps(out, sort_keys=True))


def test_the_same_comparisons_as_the_dict_based_pairing_before(tmp_path):
    from tests.core.report_equivalence.freeze import unpack
    from tests.core.test_report_equivalence import same

    expected = json.loads(gzip.decompress((Path(__file__).parent / "paired_expected.json.gz").read_bytes()))
    got = as_plain(unpack(tmp_path))
    assert sum(len(c["comparison"]["rows"]) for c in expected) == 120
    same(_nan_named(got), _nan_named(expected), "comparisons")  # floats to 1e-12; in fact bit for bit here


def _nan_named(x: Any) -> Any:
    """NaN (a corpus figure with no counts in the lines) as a word, so it equals itself."""
    if isinstance(x, float) and math.isnan(x):
        return "NaN"
    if isinstance(x, dict):
        return {k: _nan_named(v) for k, v in x.items()}
    return [_nan_named(v) for v in x] if isinstance(x, list) else x
