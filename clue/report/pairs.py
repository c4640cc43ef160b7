"""The report's paired comparisons: which pairs of runs (all, up to ALL_PAIRS_UP_TO runs; beyond, related ones — same
model, or a published model and its base — or those --compare names), each compared (clue.stats.compare_runs and
forest.py's equivalence view) on the runs' items read column-wise (clue/items.py `RunItems`, built once per run and
shared by its pairs), or read back where kept (clue/report/kept_pairs.py)."""

from __future__ import annotations

import itertools
from typing import Any, Sequence

from clue.errors import ConfigError
from clue.items import RunItems
from clue.report import kept_pairs
from clue.report.forest import equivalence_view
from clue.report.load import credentialed_tasks
from clue.stats import compare_runs

ALL_PAIRS_UP_TO = 6  # runs; beyond that, compare related runs (same model, base model) or --compare
MAX_PAIRS = 30


def _pairs(infos: list[dict[str, Any]], explicit: Sequence[tuple[str, str]]) -> list[tuple[dict, dict]]:
    by_name = {i["name"]: i for i in infos}
    if explicit:
        unknown = [n for pair in explicit for n in pair if n not in by_name]
        if unknown:
            raise ConfigError(f"--compare names unknown run(s): {', '.join(unknown)}", f"use run directory names: {', '.join(by_name)}")
        return [(by_name[a], by_name[b]) for a, b in explicit]
    same = [(a, b) for a, b in itertools.combinations(infos, 2) if a["bench"] is b["bench"]]  # runs of one benchmark
    if len(infos) <= ALL_PAIRS_UP_TO:
        return same
    pairs = []
    for a, b in same:
        same_model = a["model"] == b["model"]
        base = (a["pm"] and b["pm"] and (a["pm"].base_model == b["pm"].name or b["pm"].base_model == a["pm"].name))
        if same_model or base:
            pairs.append((b, a) if b["pm"] and a["pm"] and b["pm"].base_model == a["pm"].name else (a, b))
    return pairs[:MAX_PAIRS]


def comparisons(infos: list[dict[str, Any]], runs: list[dict[str, Any]], opts: Any) -> list[dict[str, Any]]:
    raw = {r["name"]: r for r in runs}
    read: dict[str, dict[str, Any]] = {}  # runs as the comparisons read them: per task, ids and scores as arrays (no text)

    def compared(name: str) -> dict[str, Any]:
        if name not in read:
            read[name] = {**raw[name], "samples": RunItems(raw[name]["samples"])}
        return read[name]

    out: list[dict[str, Any]] = []
    pairs = _pairs(infos, opts.compare)
    last = {name: i for i, (a, b) in enumerate(pairs) for name in (a["name"], b["name"])}
    margin = opts.tolerance if opts.equivalence is None else opts.equivalence
    for i, (a, b) in enumerate(pairs):
        salt = f"cmp{len(out)}"

        def compute(a: dict[str, Any] = a, b: dict[str, Any] = b, salt: str = salt) -> tuple[list[Any], dict[str, Any] | None]:
            ra, rb = compared(a["name"]), compared(b["name"])
            results = compare_runs(a["bench"], a["scores"], ra["samples"], b["scores"], rb["samples"],
                                   replicates=opts.replicates, seed=opts.seed)
            equivalence = equivalence_view(a["bench"], ra, rb, margin=margin, replicates=opts.replicates,
                                           seed=opts.seed, salt=salt) if a["bench"] is b["bench"] else None
            return results, equivalence

        private = bool(credentialed_tasks(raw[a["name"]]["samples"].task_names() | raw[b["name"]]["samples"].task_names()))
        results, equivalence = kept_pairs.compared(raw[a["name"]], raw[b["name"]], salt,
                                                   {"replicates": opts.replicates, "seed": opts.seed, "margin": margin,
                                                    "same_benchmark": a["bench"] is b["bench"]}, private=private, compute=compute)
        for name in [n for n in read if last[n] == i]:  # not needed by a later pair: let it go
            del read[name]
        order = {t: j for j, t in enumerate(a["rule"].task_order)}
        results.sort(key=lambda p: order.get(p.task, len(order)))  # stable: metric order kept within a task
        out.append({"id": salt, "a": a["name"], "b": b["name"], "results": results, "equivalence": equivalence})
    return out
