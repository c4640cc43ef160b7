"""The report's sample browser: which items each run × task lists (its first ones, its failed requests and
its lowest-scored, worst first) and how much of each text is shown, within budgets that keep big reports light.

The row budget (`clue report --samples-budget`, default SAMPLE_BUDGET) is a ceiling: where the items chosen per run ×
task add up to more, each run × task keeps the worst of its own, the same number each (`budget_caps`: as many as the
budget allows for every one, one more for the first ones in report order while rows are left), so a grid of
1,408 run × task pairs still lists the worst item of each; the report says how many rows it lists of how many."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from clue.report.columns import SampleLines

TEXT_LIMIT = 20_000  # characters of one prompt/output shown; the rest is in samples.jsonl
SAMPLE_BUDGET = 1500  # rows in the sample browser across all runs and tasks (keeps big reports light)
MIN_SAMPLES = 2  # per run and task (plus as many worst): hundreds of run × task pairs still list their worst items
TEXT_BUDGET = 8_000_000  # characters of prompts/outputs/references in the whole browser; each text clipped to its share
TEXT_FLOOR = 2_000  # … but never below this
FAILED_CAP = 25  # failed requests listed per run and task (beyond the first items)


def clip_text(text: Any, limit: int = TEXT_LIMIT) -> tuple[str | None, int]:
    if text is None:
        return None, 0
    text = str(text)
    return (text[:limit], len(text) - limit) if len(text) > limit else (text, 0)


def primary_metric(title: str, scores: dict[str, float], task_metrics: Any = None) -> str | None:
    return next((m for m in (task_metrics or {}).get(title, ()) if m in scores), next(iter(scores), None))


def badness(title: str, s: dict[str, Any], task_metrics: Any = None) -> tuple[int, float]:
    if s.get("status") != "ok":
        return (0, 0.0)
    scores = s.get("scores") or {}
    primary = primary_metric(title, scores, task_metrics)
    return (1, float(scores[primary]) if primary is not None and scores[primary] is not None else float("inf"))


def samples_per_task(infos: list[dict[str, Any]], max_samples: int, budget: int = SAMPLE_BUDGET) -> int:
    """Items listed per run and task: --max-samples, lowered so the whole browser stays ~`budget` rows."""
    combos = sum(len(info["samples"].task_names()) for info in infos) or 1
    return max(MIN_SAMPLES, min(max_samples, budget // combos))


def budget_caps(sizes: list[int], budget: int) -> list[int]:
    """Rows kept of each run × task's chosen items (`sizes`, in report order) so that they add up to ≤ `budget`: all of
    them when they fit; else the largest equal share L every one can keep (fewer where it has fewer), and L + 1 for
    the first ones in order that have more, while rows are left."""
    if sum(sizes) <= budget:
        return list(sizes)
    arr = np.asarray(sizes, dtype=np.int64)
    low, high = 0, int(arr.max())  # largest L with sum(min(size, L)) <= budget
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if int(np.minimum(arr, mid).sum()) <= budget else (low, mid - 1)
    caps = np.minimum(arr, low)
    more = np.flatnonzero(arr > low)[: budget - int(caps.sum())]
    caps[more] += 1
    return caps.tolist()


def _badness(title: str, lines: SampleLines, at: np.ndarray, task_metrics: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per line of one task (positions `at`): (kind: 0 failed / 1 ok, primary score: +inf where none, wrong).

    The primary metric is the first the rule lists that the line's scores hold, else the line's first; where the
    columns cannot tell (the first listed metric has no value: absent or null), the line itself is read."""
    cols = lines.cols
    ok = cols.ok[at]
    listed = list((task_metrics or {}).get(title, ()))
    value = np.full(at.size, np.inf)
    first = cols.metrics.get(listed[0]) if listed else None
    known = ok & ~np.isnan(first[at]) if first is not None else np.zeros(at.size, dtype=bool)
    if first is not None:
        value[known] = first[at[known]]
    unsure = np.flatnonzero(ok & ~known)
    primaries: dict[tuple[str, ...], str | None] = {}
    for k, line in zip(unsure.tolist(), lines.lines_at(at[unsure].tolist())):
        scores = line.get("scores") or {}
        shape = tuple(scores)
        if shape not in primaries:
            primaries[shape] = primary_metric(title, scores, task_metrics)
        primary = primaries[shape]
        v = scores[primary] if primary is not None else None
        if v is not None:
            value[k] = float(v)
    wrong = ok & (value == 0.0)
    return ok.astype(np.int8), np.where(ok, value, 0.0), wrong


def _chosen(kind: np.ndarray, value: np.ndarray, limit: int) -> np.ndarray:
    """Which lines (indices into the task's lines) the browser lists, worst first: the first `limit`, the failed of the
    rest (up to FAILED_CAP), the `limit` lowest-scored of the rest (ties: file order)."""
    n = kind.size
    rest = np.arange(limit, n)
    failed = rest[kind[rest] == 0][:FAILED_CAP]
    scored = rest[kind[rest] == 1]
    lowest = scored[np.lexsort((scored, value[scored]))[:limit]]
    chosen = np.concatenate((np.arange(min(limit, n)), failed, lowest)).astype(np.int64)
    return chosen[np.lexsort((value[chosen], kind[chosen]))]  # stable: worst first, as listed among equals


def sample_rows(infos: list[dict[str, Any]], max_samples: int, redact: bool = False,
                budget: int = SAMPLE_BUDGET) -> tuple[list[dict[str, Any]], int]:
    """The browser's rows, worst first per run and task, at most `budget` in all (`budget_caps`), and how many the
    run × tasks chose before that ceiling; sets each info's `shown` (listed / all). Only the lines listed are read
    whole (`redact`: their credentialed text removed, clue.report.load.redact_samples)."""
    from clue.report.load import redact_samples

    rows = []
    limit = samples_per_task(infos, max_samples, budget)
    combos: list[tuple[dict[str, Any], str, str, np.ndarray, np.ndarray, np.ndarray]] = []
    for info in infos:
        titles = {n: t.get("title", n) for n, t in info["scores"]["tasks"].items()}
        lines: SampleLines = info["samples"]
        task_metrics = info["rule"].task_metrics  # the run's benchmark's rule (set by aggregate._run_info)
        for task in lines.cols.tasks:
            title = titles.get(task, task)
            at = lines.positions(task)
            kind, value, wrong = _badness(title, lines, at, task_metrics)
            combos.append((info, task, title, at, _chosen(kind, value, limit), wrong))
    caps = budget_caps([c[4].size for c in combos], budget)
    picked: list[tuple[dict[str, Any], str, str, list[tuple[int, dict[str, Any], bool]]]] = []
    for (info, task, title, at, chosen, wrong), cap in zip(combos, caps):
        chosen = chosen[:cap]  # worst first: the worst are kept
        shown = info["samples"].lines_at(at[chosen].tolist())
        if redact:
            shown = redact_samples(shown)
        picked.append((info, task, title, [(int(p), s, bool(wrong[p])) for p, s in zip(chosen.tolist(), shown)]))
        info.setdefault("shown", {})[title] = (len(chosen), int(at.size))
    n_rows = sum(len(c) for *_, c in picked)
    clip = max(TEXT_FLOOR, min(TEXT_LIMIT, TEXT_BUDGET // max(1, 3 * n_rows)))  # prompt, output, reference
    _clip = functools.partial(clip_text, limit=clip)
    for info, task, title, chosen_lines in picked:
        for pos, s, wrong_ in chosen_lines:
            prompt = s.get("prompt")
            if isinstance(prompt, list):
                messages = [{"role": str(m.get("role")), "content": _clip(m.get("content"))} for m in prompt if isinstance(m, dict)]
                prompt_view: dict[str, Any] = {"messages": messages, "text": (None, 0)}
            else:
                prompt_view = {"messages": None, "text": _clip(prompt)}
            rows.append({"run": info["name"], "task": task, "title": title, "id": s.get("sample_id"), "pos": pos,
                         "status": s.get("status"), "wrong": wrong_, "prompt": prompt_view,
                         "output": _clip(s.get("output")), "raw_output": _clip(s.get("raw_output")),
                         "reference": _clip(s.get("reference")), "scores": s.get("scores") or {},
                         "error": s.get("error"), "attempts": s.get("attempts"), "cached": s.get("cached"),
                         "latency": s.get("latency_s"), "finish": s.get("finish_reason"), "redacted": bool(s.get("redacted"))})
    return rows, sum(c[4].size for c in combos)
