"""A run's bootstrap CIs kept beside it, so a report over unchanged runs does not draw them again.

`<run>/report-intervals.json` maps a key to the run's `RunIntervals` (clue.stats.run_intervals). The key is the
sha256 of everything the CIs follow from: samples.jsonl's bytes, scores.json as loaded, the replicates and the seed,
the benchmark's name and scoring rule, and the source files of the code that reads and computes them (clue.stats,
clue.draws, clue.items, the column readers, clue.score_rule, the few-shot item rule and the benchmark's task classes:
their clusters and corpus figures) — any change to one of them is another key, so a kept CI is always the one the
run would get now. The file is written whole (clue.files.write_atomic), owner-only as the run's other kept file
(clue/sample_columns.py); it keeps the last few keys, and a file it cannot read or write is passed over.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from clue.benchmark import Benchmark
from clue.report.kept_file import is_kept, kept_or_computed
from clue.stats import Interval, RunIntervals, prepare_intervals, run_intervals

NAME = "report-intervals.json"
KEEP = 4  # keys kept per run (a few --bootstrap/--seed choices side by side)


_CODE: dict[int, tuple[Benchmark | None, str]] = {}


def _code(bench: Benchmark | None) -> str:
    """sha256 of the source the CIs are computed by, and of the benchmark's rule and task classes (once per benchmark)."""
    seen = _CODE.get(id(bench))
    if seen is None or seen[0] is not bench:
        _CODE[id(bench)] = (bench, _source_digest(bench))
    return _CODE[id(bench)][1]


def _source_digest(bench: Benchmark | None) -> str:
    import clue.draws
    import clue.items
    import clue.report.columns
    import clue.sample_columns
    import clue.score_rule
    import clue.stats
    import clue.tasks.fewshot

    h = hashlib.sha256()
    for module in (clue.stats, clue.draws, clue.items, clue.sample_columns, clue.report.columns, clue.score_rule, clue.tasks.fewshot):
        h.update(_file_bytes(module.__name__))
    if bench is not None:
        h.update(json.dumps(_canonical(bench.score_rule), sort_keys=True).encode("utf-8"))
        for name, task in sorted(bench.tasks.items()):
            h.update(name.encode("utf-8"))
            for cls in type(task).__mro__:
                if cls.__module__.startswith("clue."):
                    h.update(cls.__qualname__.encode("utf-8"))
                    h.update(_file_bytes(cls.__module__))  # the whole file the class is in (a stand-in made at run time: its maker's)
    return h.hexdigest()


@functools.cache
def _file_bytes(module: str) -> bytes:
    """The source file of an imported module, as bytes (b"" where it has none): read once per process — hashing
    files is ~50× cheaper than tokenising classes out of them, and a change anywhere in one is a change."""
    path = getattr(sys.modules.get(module), "__file__", None)
    try:
        return Path(path).read_bytes() if path else b""
    except OSError:
        return b""


def _canonical(obj: Any) -> Any:
    """`obj` as plain JSON data, the same in every process (sets sorted: their order follows string hashing)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in obj.items()}
    if isinstance(obj, (set, frozenset)):
        return sorted((_canonical(x) for x in obj), key=repr)
    if isinstance(obj, (list, tuple)):
        return [_canonical(x) for x in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return getattr(obj, "__qualname__", type(obj).__qualname__)  # a function or other object: its name


def _key(run: dict[str, Any], replicates: int, seed: int) -> str:
    """The kept CIs' key of a loaded run, computed once per run and settings (`start`, then `intervals`, ask)."""
    memo = run.setdefault(_KEYS, {})
    if (replicates, seed) not in memo:
        bench = run.get("benchmark")
        parts = {"samples": run["samples_sha"], "scores": run["scores"], "replicates": replicates, "seed": seed,
                 "benchmark": bench.name if bench is not None else None, "code": _code(bench)}
        memo[(replicates, seed)] = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return memo[(replicates, seed)]  # type: ignore[no-any-return]


_KEYS = "kept_interval_keys"  # a loaded run's entry for `_key`'s results


def _as_json(ivs: RunIntervals) -> dict[str, Any]:
    return {"metrics": {t: {m: iv.as_dict() for m, iv in ms.items()} for t, ms in ivs.metrics.items()},
            "task_scores": {t: iv.as_dict() for t, iv in ivs.task_scores.items()},
            "levels": {g: iv.as_dict() for g, iv in ivs.levels.items()}}


def _interval(d: dict[str, Any]) -> Interval:
    return Interval(d["value"], d["low"], d["high"], d["n"], d["clusters"], tuple(d["missing"]))


def _from_json(doc: dict[str, Any]) -> RunIntervals:
    return RunIntervals(metrics={t: {m: _interval(d) for m, d in ms.items()} for t, ms in doc["metrics"].items()},
                        task_scores={t: _interval(d) for t, d in doc["task_scores"].items()},
                        levels={g: _interval(d) for g, d in doc["levels"].items()})


def start(run: dict[str, Any], *, replicates: int, seed: int) -> bool:
    """Where a loaded run's CIs are not kept: read and cluster its items and start its bootstrap draws now, in the
    background (clue.stats.prepare_intervals), for `intervals` to finish later. True where they were started."""
    if not run.get("samples_sha") or is_kept(Path(run["dir"]) / NAME, _key(run, replicates, seed)):
        return False
    run[PREPARED] = prepare_intervals(run.get("benchmark"), run["scores"], run["samples"], replicates=replicates, seed=seed)
    return True


PREPARED = "prepared_intervals"  # a loaded run's entry for `start`'s work, taken by `intervals`


def intervals(run: dict[str, Any], *, replicates: int, seed: int, private: bool) -> RunIntervals:
    """`run_intervals` of a loaded run, kept in (and read back from) its directory where it was loaded from one."""
    bench, scores, samples = run.get("benchmark"), run["scores"], run["samples"]
    prepared = run.pop(PREPARED, None)
    if not run.get("samples_sha"):  # built in memory: nothing to keep it beside
        return run_intervals(bench, scores, samples, replicates=replicates, seed=seed, prepared=prepared)
    return kept_or_computed(Path(run["dir"]) / NAME, _key(run, replicates, seed),
                            lambda: run_intervals(bench, scores, samples, replicates=replicates, seed=seed, prepared=prepared),
                            dump=_as_json, load=_from_json, keep=KEEP, private=private)
