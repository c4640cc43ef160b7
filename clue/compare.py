"""`clue compare RUN_A RUN_B --equivalence M`: is run A the same as run B, item for item, within ± M points?

Two finished runs of one benchmark — two endpoints, two providers, two dates, or two settings of
one model (zero-shot vs k-shot) — are paired on the items both scored and judged per metric, per
task score and per group of the benchmark's `ScoreRule`:

* Pairing: by item id (`clue.tasks.fewshot.item_of`: the lines `<id>@seed<n>` of a run with several
  few-shot seeds are one item, its value the mean over its seeds); only status-ok lines count, and a
  metric is paired on the items that have it in both runs. Values are plain means over the paired
  items (a profile's scoring quirks, e.g. CLUE's double-counted first item, are not applied). The lines are read
  column-wise (clue/items.py `RunItems`: arrays per task, a run read once for all its comparisons).
* Difference: A − B in percent points (the kit's convention, as in the report's paired table). Its 95 % CI
  is a paired percentile bootstrap: both runs are resampled with the *same* multinomial draws of items
  (or of the clusters a task groups them in, `clue.stats.cluster_of`), so each replicate is a paired
  difference; corpus-level figures (`from_means`) are recomputed per replicate; task scores and group
  averages are the rule's own arithmetic on those replicates (tasks resampled independently).
* Verdict: the one three-outcome rule of `clue verify` (`clue.verdict.judge`) with the difference in place of
  run − published and 0 in place of the published value: `equivalent` (the whole CI within ± M: two
  one-sided tests at 2.5 %), `different` (not equivalent and the CI excludes 0: with direction and size),
  `inconclusive` (otherwise, or fewer than `verdict.MIN_ITEMS` resampling units) with the items a decisive
  comparison needs, from the observed variance (`verdict.items_for`):
      n' = ⌈ n · (h / t)² ⌉,  h = half-width of the 95 % CI of the paired difference (≈ 1.96 · s_d / √n,
      s_d the SD of the per-item differences), t = M − |d| when |d| < M (the CI must fit inside the band)
      else |d| (the CI must exclude 0); so n' ≈ (1.96 · s_d / t)².
* Overall: the task and group rows decide (the metric rows of a multi-metric task are detail; where the task
  score cannot be formed, e.g. a listed metric was not computed, the task's primary metric decides — the first the
  rule lists that both runs have; a benchmark without a rule: every metric row decides): `different` if any is, `equivalent` if all are, else
  `inconclusive`. Exit status: 0 equivalent, 1 different, 4 inconclusive (clue/verdict.py), 2 a usage
  error — runs of different benchmarks, or runs that share no scored item, are refused in one line.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from clue import verdict
from clue.errors import ConfigError, DataError
from clue.score_rule import PLAIN

if TYPE_CHECKING:  # numpy and the bootstrap load when a comparison is made, not when the CLI starts
    import numpy as np

    from clue.benchmark import Benchmark

OUTCOMES = ("equivalent", "different", "inconclusive")
_FROM_VERDICT = {"reproduced": "equivalent", "deviates": "different", "inconclusive": "inconclusive"}
EXIT = {"equivalent": verdict.EXIT_REPRODUCED, "different": verdict.EXIT_DEVIATES, "inconclusive": verdict.EXIT_INCONCLUSIVE}
# run.json fields shown when they differ between the two runs (what changed between them)
SETTING_FIELDS = (("model", ("model",)), ("revision", ("revision",)), ("engine", ("engine", "kind")),
                  ("endpoint", ("engine", "endpoint")), ("served model", ("engine", "describe", "model_id")),
                  ("system_fingerprint", ("engine", "system_fingerprints")), ("protocol", ("protocol",)),
                  ("mode", ("mode",)), ("route", ("route",)), ("temperature", ("temperature",)), ("seed", ("seed",)),
                  ("few-shot seeds", ("fewshot_seeds",)), ("kit", ("git_sha",)))


@dataclass(frozen=True)
class Row:
    """One judged difference A − B: a metric, a task score (`metric` "score") or a group (`metric` "avg")."""

    level: str  # "metric" | "task" | "group" (task: the task's score, or its only listed metric)
    task: str  # task title, or group id
    metric: str
    n: int  # paired items
    units: int  # resampling units (items, or the clusters a task groups them in)
    a: float
    b: float
    diff: float  # A − B, percent points
    low: float | None
    high: float | None
    p_value: float | None
    test: str
    outcome: str  # one of OUTCOMES
    direction: str | None  # "higher" / "lower": A relative to B, when different
    items_needed: int | None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def decides(self) -> bool:
        return self.level != "metric"


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    benchmark: str
    margin: float
    rows: tuple[Row, ...]
    differs: tuple[tuple[str, str, str], ...]  # (field, A's value, B's value) of run settings that differ
    unpaired: tuple[tuple[str, int, int], ...] = ()  # (task, scored items only A has, only B has): not compared
    replicates: int = 1000

    @property
    def outcome(self) -> str:
        return overall([r for r in self.rows if r.decides] or list(self.rows))

    @property
    def exit_status(self) -> int:
        return EXIT[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "benchmark": self.benchmark, "margin": self.margin, "outcome": self.outcome,
                "exit_status": self.exit_status, "differs": [{"field": f, "a": x, "b": y} for f, x, y in self.differs],
                "unpaired": [{"task": t, "only_a": x, "only_b": y} for t, x, y in self.unpaired],
                "rows": [r.as_dict() for r in self.rows], "replicates": self.replicates,
                "rule": rule_text(self.margin, self.replicates)}


def overall(rows: Sequence[Row]) -> str:
    if any(r.outcome == "different" for r in rows):
        return "different"
    return "equivalent" if rows and all(r.outcome == "equivalent" for r in rows) else "inconclusive"


def rule_text(margin: float, replicates: int = 1000) -> str:
    """The paragraph that explains the verdicts (terminal output, --json, the report)."""
    return (f"Comparison rule (the same three-outcome rule as `clue verify`, with the paired difference A − B in place of "
            f"run − published): items are paired by item id (an item run under several few-shot seeds counts once, as its "
            f"mean), and the 95 % CI of the mean difference is a paired bootstrap ({replicates} replicates resampling items, "
            f"or the groups of items a task repeats one question in). Equivalent when the whole CI lies within ± {margin:g} "
            f"percent points (two one-sided tests at 2.5 % each: a real difference smaller than the margin still counts as "
            f"equivalent); different when it does not and the CI excludes 0, with the direction and size; otherwise "
            f"inconclusive, with about how many items a decisive comparison needs, n·(h/t)² from the CI's half-width h and "
            f"t = margin − |difference| (or |difference| when that is the larger). Fewer than {verdict.MIN_ITEMS} paired "
            f"items are always inconclusive. Task scores (or, where one cannot be formed, the task's primary metric) and group "
            f"averages decide the overall outcome. Exit status: "
            f"{EXIT['equivalent']} equivalent, {EXIT['different']} different, {EXIT['inconclusive']} inconclusive, "
            f"2 a usage error.")


def _figures(task_obj: Any, values: np.ndarray, reported: list[str], keys: list[str], reps: np.ndarray,
             key_reps: np.ndarray | None) -> tuple[dict[str, float], dict[str, np.ndarray], set[str]]:
    """(point value, bootstrap replicates, the corpus figures) of each reported metric over paired items (`values`:
    items × reported + keys, NaN where an item lacks one; `reps`, `key_reps`: their replicates); corpus figures from
    the means of their counts."""
    import numpy as np

    cols = {m: values[:, j] for j, m in enumerate([*reported, *keys])}
    point = {m: float(np.mean(v)) for m in reported if (v := cols[m][~np.isnan(cols[m])]).size}
    out = {m: reps[:, j] for j, m in enumerate(reported)}
    corpus: set[str] = set()
    if keys and key_reps is not None:
        for m, arr in task_obj.from_means({k: key_reps[:, j] for j, k in enumerate(keys)}).items():
            if m in reported:
                out[m], corpus = np.asarray(arr, dtype=float), corpus | {m}
        at = {k: np.array([float(np.mean(v if (v := cols[k][~np.isnan(cols[k])]).size else [np.nan]))]) for k in keys}
        for m, arr in task_obj.from_means(at).items():
            if m in reported:
                point[m] = float(np.asarray(arr, dtype=float)[0])
    return point, out, corpus


def _row(level: str, task: str, metric: str, n: int, units: int, a: float, b: float, reps: np.ndarray | None,
         margin: float, p: float | None = None, test: str = "paired bootstrap") -> Row:
    from clue.stats import _percentile, centred_p

    diff = a - b
    low, high = _percentile(reps) if reps is not None else (None, None)
    if p is None and reps is not None and low is not None:
        p = centred_p(reps, diff)
    v = verdict.judge(diff, low, high, 0.0, margin=margin, n=units)
    reason = v.reason
    if v.outcome == "inconclusive" and units >= verdict.MIN_ITEMS and low is not None:  # verify's words name a published value
        reason = f"the 95 % CI holds 0 and leaves ± {margin:g}"
    return Row(level, task, metric, n, units, a, b, diff, low, high, p, test, _FROM_VERDICT[v.outcome], v.direction,
               v.items_needed if v.outcome == "inconclusive" else None, reason)


def compare(bench: Benchmark | None, run_a: Mapping[str, Any], run_b: Mapping[str, Any], *, margin: float = verdict.DEFAULT_MARGIN,
            replicates: int | None = None, seed: int | None = None) -> Comparison:
    """Judge two loaded runs (clue.report.load.load_run) of benchmark `bench` (None: unknown, metrics only);
    `replicates` and `seed` default to clue.stats' (1,000 and 0)."""
    import numpy as np

    from clue.items import RunItems, first_codes
    from clue.stats import DEFAULT_REPLICATES, DEFAULT_SEED, block_replicates, mcnemar

    replicates = DEFAULT_REPLICATES if replicates is None else replicates
    seed = DEFAULT_SEED if seed is None else seed
    rule = bench.score_rule if bench is not None else PLAIN
    items_a, items_b = RunItems.of(run_a["samples"]), RunItems.of(run_b["samples"])
    tasks_a, tasks_b = run_a["scores"]["tasks"], run_b["scores"]["tasks"]
    rows: list[Row] = []
    unpaired: list[tuple[str, int, int]] = []
    score_reps: dict[str, np.ndarray] = {}
    scores: dict[str, tuple[float, float, int, int]] = {}  # task title → (A, B, n, units) of its score
    order = {t: i for i, t in enumerate(rule.task_order)}
    names = sorted((n for n in tasks_a if n in tasks_b), key=lambda n: order.get(tasks_a[n].get("title", n), len(order)))
    for name in names:
        title = tasks_a[name].get("title", name)
        reported = [m for m, v in tasks_a[name].get("metrics", {}).items()
                    if v is not None and tasks_b[name].get("metrics", {}).get(m) is not None]
        task_obj = bench.tasks.get(name) if bench is not None else None
        keys = list(getattr(task_obj, "corpus_keys", ()) or ())
        ta, tb = items_a.task(name, [*reported, *keys]), items_b.task(name, [*reported, *keys])
        at_a, at_b = ta.items_in_both(tb)  # items by item id (several seeds' lines: their mean), in A's order
        if at_a.size < max(len(ta.items), len(tb.items)):  # failed requests, --limit, another data version: said, not hidden
            unpaired.append((title, len(ta.items) - at_a.size, len(tb.items) - at_a.size))
        if not at_a.size or not reported:
            continue
        va = ta.item_values[at_a][:, [ta.metrics.index(m) for m in [*reported, *keys]]]
        vb = tb.item_values[at_b][:, [tb.metrics.index(m) for m in [*reported, *keys]]]
        lacks = np.isnan(va) | np.isnan(vb)  # a value counts where both have it
        va[lacks] = vb[lacks] = np.nan
        clusters = ta.item_clusters(task_obj)[at_a]
        idx, units = first_codes(clusters)
        r = len(reported)
        blocks = [va[:, :r], vb[:, :r]] + ([va[:, r:], vb[:, r:]] if keys else [])  # one draw of the task's clusters: paired
        reps = block_replicates(idx, units, blocks, replicates=replicates, seed=seed, key=name)
        pa, ra, corpus = _figures(task_obj, va, reported, keys, reps[0], reps[2] if keys else None)
        pb, rb, _ = _figures(task_obj, vb, reported, keys, reps[1], reps[3] if keys else None)
        listed = rule.task_metrics.get(title, ())
        diff_reps = {m: ra[m] - rb[m] for m in reported}
        for j, m in enumerate(reported):
            if m not in pa or m not in pb:
                continue
            has = ~np.isnan(va[:, j])
            n, units_m, reps_m = int(at_a.size), units, diff_reps[m]  # a corpus figure: every paired item, the task's draws
            if has.any() and m not in corpus:  # a per-item metric: its own draws over the items that have it (as stats.compare_runs)
                m_idx, units_m = first_codes(clusters[has])
                n = int(has.sum())
                one_a, one_b = block_replicates(m_idx, units_m, [va[has, j:j + 1], vb[has, j:j + 1]], replicates=replicates,
                                                seed=seed, key=f"{name}:{m}")
                reps_m = one_a[:, 0] - one_b[:, 0]
            p, test = None, "paired bootstrap"
            xa, xb = va[has, j], vb[has, j]
            if m in rule.binary_metrics and all(bool(np.all((x == 0.0) | (x == 100.0))) for x in (xa, xb)):
                a_only, b_only, p = mcnemar(xa > 0, xb > 0)
                test = f"McNemar (exact; A only {a_only}, B only {b_only})"
            level = "task" if (len(listed) == 1 and m == listed[0]) or (not rule.task_metrics) else "metric"
            rows.append(_row(level, title, m, n, units_m, pa[m], pb[m], reps_m, margin, p, test))
        sa, sb = rule.task_score(title, pa), rule.task_score(title, pb)
        if sa is None or sb is None:  # no task score (a listed metric missing, e.g. BERTScore not installed)
            # the task's primary metric decides: the first the rule lists that both runs have (else every metric row);
            # letting each of several correlated metrics decide on its own would call "different" too often
            primary = next((m for m in listed if m in pa and m in pb), None)
            rows[-len(reported):] = [replace(r, level="task") if r.task == title and primary in (None, r.metric) else r
                                     for r in rows[-len(reported):]]
            continue
        sreps = rule.task_score(title, ra) - rule.task_score(title, rb)  # type: ignore[operator]
        score_reps[title], scores[title] = sreps, (sa, sb, int(at_a.size), units)
        if len(listed) > 1:
            rows.append(_row("task", title, "score", int(at_a.size), units, sa, sb, sreps, margin))
    for group in rule.groups:
        if not all(t in scores for t in group.members):
            continue
        ga = rule.group_score(group, {t: s[0] for t, s in scores.items()})
        gb = rule.group_score(group, {t: s[1] for t, s in scores.items()})
        greps = rule.group_score(group, score_reps)
        if ga is None or gb is None:
            continue
        n = sum(scores[t][2] for t in group.members)
        units = min(scores[t][3] for t in group.members)  # the smallest task's: it bounds how well the average is known
        rows.append(_row("group", group.id, "avg", n, units, ga, gb, greps, margin))
    return Comparison(str(run_a["name"]), str(run_b["name"]), bench.name if bench is not None else "unknown", margin,
                      tuple(rows), differs(run_a, run_b), tuple(unpaired), replicates)


def _get(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _text(value: Any) -> str:
    """A recorded setting as shown: a list (system_fingerprint values) as its items joined, not Python's repr."""
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


def _shots(run: Mapping[str, Any]) -> str:
    tasks = run["scores"].get("tasks", {})
    return ", ".join(f"{t.get('title', n)} {t.get('n_shots')}-shot" for n, t in tasks.items() if t.get("n_shots") is not None)


def differs(run_a: Mapping[str, Any], run_b: Mapping[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """The recorded settings and server provenance that differ between two runs: what the comparison is across."""
    out = []
    for label, path in SETTING_FIELDS:
        x, y = _get(run_a.get("record") or {}, path), _get(run_b.get("record") or {}, path)
        if x != y:
            out.append((label, _text(x), _text(y)))
    if _shots(run_a) != _shots(run_b):
        out.append(("shots", _shots(run_a), _shots(run_b)))
    files_a, files_b = _data_hashes(run_a), _data_hashes(run_b)
    changed = sorted(f for f in files_a.keys() & files_b.keys() if files_a[f] != files_b[f])
    if changed:  # the same ids may then name other items: worth knowing before reading a difference
        out.append(("data files", ", ".join(f"{f} {files_a[f][:12]}" for f in changed), ", ".join(f"{f} {files_b[f][:12]}" for f in changed)))
    return tuple(out)


def _data_hashes(run: Mapping[str, Any]) -> dict[str, str]:
    files = _get(run.get("record") or {}, ("data_files", "files"))
    return {str(k): str(v.get("sha256")) for k, v in files.items() if isinstance(v, Mapping)} if isinstance(files, Mapping) else {}


def check_pair(run_a: Mapping[str, Any], run_b: Mapping[str, Any]) -> Benchmark | None:
    """The benchmark both runs are of; a ConfigError (one line) when they are of different benchmarks."""
    ba, bb = run_a.get("benchmark"), run_b.get("benchmark")
    if ba is not bb:
        what = lambda b: b.title if b is not None else "an unknown benchmark"  # noqa: E731
        raise ConfigError(f"{run_a['name']} is a run of {what(ba)} and {run_b['name']} of {what(bb)}: nothing to pair",
                          "compare two runs of one benchmark")
    return ba  # type: ignore[no-any-return]


def compare_runs_checked(run_a: Mapping[str, Any], run_b: Mapping[str, Any], **kw: Any) -> Comparison:
    """`compare` after the refusals a user can cause: different benchmarks, no shared scored item."""
    result = compare(check_pair(run_a, run_b), run_a, run_b, **kw)
    if not result.rows:
        raise DataError(f"{run_a['name']} and {run_b['name']} share no scored item (no task with items and metrics in both)",
                        "compare runs of the same tasks; see each run's samples.jsonl")
    return result
