"""Which items of which runs go to the raters: task checks from the runs' own records, and the seeded stratified sample.

What a task is comes from the run directories, not from a benchmark's task registry: scores.json's task entry
carries `generation` (free-text outputs worth rating) and `credentialed` (patient data) since clue-kit records them.
Runs written before that lack both: such a task is accepted as rateable (you named it) and treated as credentialed
(safe side: the export then needs --allow-phi-export).

Sampling: the eligible items are those every run answered (status ok, an output), so every rater sees every model's
output for the same item (paired comparisons, agreement). They are stratified by the task's first automatic metric
(mean over the runs; the first metric scores.json lists, e.g. rougeL), cut at quantiles into up to STRATA equal-sized
strata, so the sample spans good and bad outputs; each stratum gets its proportional share (largest remainder) and
items are drawn without replacement from `numpy.random.default_rng([seed, crc32(task)])`: same runs, n and seed →
the same sample.
"""

from __future__ import annotations

import math
import zlib
from typing import Any, Sequence

import numpy as np

from clue.errors import ConfigError
from clue.privacy import credentialed_tasks

STRATA = 4


def task_entry(run: dict[str, Any], task: str) -> dict[str, Any]:
    tasks = run["scores"].get("tasks", {})
    if task not in tasks:
        by_title = {str(t.get("title", n)).lower(): n for n, t in tasks.items()}
        if task.lower() in by_title:
            return tasks[by_title[task.lower()]]
        raise ConfigError(f"run {run['name']} has no task {task!r} (it has: {', '.join(tasks) or 'none'})",
                          "pass --task with a task every run evaluated")
    return tasks[task]


def task_name(run: dict[str, Any], task: str) -> str:
    """The task's name as written in samples.jsonl (accepts the title too)."""
    tasks = run["scores"].get("tasks", {})
    if task in tasks:
        return task
    return next(n for n, t in tasks.items() if str(t.get("title", n)).lower() == task.lower())


def check_task(runs: Sequence[dict[str, Any]], task: str, *, allow_phi: bool) -> tuple[bool, bool]:
    """(credentialed, recorded): raises when the task is not a generation task or is credentialed without the opt-in."""
    entries = [task_entry(r, task) for r in runs]
    not_gen = [r["name"] for r, e in zip(runs, entries) if e.get("generation") is False]
    if not_gen:
        raise ConfigError(f"{task} is not a generation task in run(s) {', '.join(not_gen)} (its outputs are labels, codes or "
                          "choices, scored exactly)", "rate a task whose outputs are free text (e.g. a summarisation task)")
    recorded = all("credentialed" in e for e in entries)
    # what the runs recorded, or the one rule of clue.phi (the report's): the stricter wins
    credentialed = any(e.get("credentialed", True) for e in entries) or bool(credentialed_tasks({task_name(r, task) for r in runs}))
    if credentialed and not allow_phi:
        why = "is credentialed (MIMIC-derived patient text)" if recorded else \
            "may hold patient text (these runs predate the credentialed flag in scores.json)"
        raise ConfigError(f"{task} {why}: its sheets would carry that text to raters",
                          "pass --allow-phi-export if every rater is covered by your data use agreement")
    return credentialed, recorded


def primary_metric(runs: Sequence[dict[str, Any]], task: str) -> str | None:
    metrics = task_entry(runs[0], task).get("metrics") or {}
    return next(iter(metrics), None)


def answered(run: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    """{sample_id: line} of the items a run answered (status ok, an output to show)."""
    return {str(s.get("sample_id")): s for s in run["samples"]
            if s.get("task") == name and s.get("status") == "ok" and s.get("output") is not None}


def eligible(runs: Sequence[dict[str, Any]], task: str) -> tuple[list[str], dict[str, float | None]]:
    """Item ids every run answered (first run's order) and each one's mean first-metric score across runs."""
    per_run = [answered(r, task_name(r, task)) for r in runs]
    ids = [i for i in per_run[0] if all(i in p for p in per_run[1:])]
    metric = primary_metric(runs, task)
    level: dict[str, float | None] = {}
    for i in ids:
        vals = [p[i].get("scores", {}).get(metric) for p in per_run] if metric else []
        vals = [float(v) for v in vals if isinstance(v, (int, float))]
        level[i] = float(np.mean(vals)) if vals else None
    return ids, level


def stratified_sample(ids: Sequence[str], level: dict[str, float | None], n: int, seed: int, key: str) -> list[str]:
    """`n` ids drawn without replacement, proportionally from up to STRATA quantile strata of `level`."""
    if n > len(ids):
        raise ConfigError(f"--n {n} is more than the {len(ids)} item(s) every run answered",
                          f"pass --n {len(ids)} or fewer (or runs that share more answered items)")
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])
    scored = sorted((i for i in ids if level.get(i) is not None), key=lambda i: (level[i], i))  # type: ignore[arg-type,return-value]
    unscored = [i for i in ids if level.get(i) is None]
    k = max(1, min(STRATA, len(scored)))
    strata = [scored[round(j * len(scored) / k):round((j + 1) * len(scored) / k)] for j in range(k)] if scored else []
    if unscored:
        strata.append(unscored)
    strata = [s for s in strata if s]
    total = sum(len(s) for s in strata)
    exact = [n * len(s) / total for s in strata]
    take = [math.floor(x) for x in exact]
    for j in sorted(range(len(strata)), key=lambda j: (-(exact[j] - take[j]), j))[: n - sum(take)]:
        take[j] += 1
    chosen: list[str] = []
    for stratum, m in zip(strata, take):
        picks: np.ndarray | list[int] = rng.choice(len(stratum), size=m, replace=False) if m else []
        chosen += [stratum[int(p)] for p in sorted(picks)]
    return chosen
