"""The report's sample browser: which items each run × task lists (its first ones, its failed requests and
its lowest-scored, worst first) and how much of each text is shown, within budgets that keep big reports light."""

from __future__ import annotations

import functools
import heapq
from typing import Any

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


def samples_per_task(infos: list[dict[str, Any]], max_samples: int) -> int:
    """Items listed per run and task: --max-samples, lowered so the whole browser stays ~SAMPLE_BUDGET rows."""
    combos = sum(len({s.get("task") for s in info["samples"]}) for info in infos) or 1
    return max(MIN_SAMPLES, min(max_samples, SAMPLE_BUDGET // combos))


def sample_rows(infos: list[dict[str, Any]], max_samples: int) -> list[dict[str, Any]]:
    """The browser's rows, worst first per run and task (sets each info's `shown`: listed / all)."""
    rows = []
    picked: list[tuple[dict[str, Any], str, str, list[Any]]] = []
    limit = samples_per_task(infos, max_samples)
    for info in infos:
        titles = {n: t.get("title", n) for n, t in info["scores"]["tasks"].items()}
        by_task: dict[str, list[dict[str, Any]]] = {}
        for s in info["samples"]:
            by_task.setdefault(str(s.get("task")), []).append(s)
        task_metrics = info["rule"].task_metrics  # the run's benchmark's rule (set by aggregate._run_info)
        for task, lines in by_task.items():
            title = titles.get(task, task)
            flagged = []
            primaries: dict[tuple[str, ...], str | None] = {}  # by the item's metric names (one lookup per shape)
            for pos, s in enumerate(lines):
                scores = s.get("scores") or {}
                shape = tuple(scores)
                if shape not in primaries:
                    primaries[shape] = primary_metric(title, scores, task_metrics)
                primary = primaries[shape]
                ok = s.get("status") == "ok"
                value = scores[primary] if primary is not None else None
                wrong = ok and value is not None and float(value) == 0.0
                badness = (1, float(value) if value is not None else float("inf")) if ok else (0, 0.0)
                flagged.append((badness, pos, s, wrong))
            chosen = flagged[:limit]
            # plus its failed requests (up to FAILED_CAP) and the `limit` lowest-scored of the rest: however few
            # items a big report lists, each run × task keeps its failed and worst ones
            chosen += [f for f in flagged[limit:] if f[0][0] == 0][:FAILED_CAP]
            chosen += heapq.nsmallest(limit, (f for f in flagged[limit:] if f[0][0] == 1), key=lambda f: (f[0], f[1]))
            chosen.sort(key=lambda f: f[0])  # worst first: failed, then lowest primary score
            picked.append((info, task, title, chosen))
            info.setdefault("shown", {})[title] = (len(chosen), len(lines))
    n_rows = sum(len(c) for *_, c in picked)
    clip = max(TEXT_FLOOR, min(TEXT_LIMIT, TEXT_BUDGET // max(1, 3 * n_rows)))  # prompt, output, reference
    _clip = functools.partial(clip_text, limit=clip)
    for info, task, title, chosen in picked:
        for _bad, pos, s, wrong in chosen:
            prompt = s.get("prompt")
            if isinstance(prompt, list):
                messages = [{"role": str(m.get("role")), "content": _clip(m.get("content"))} for m in prompt if isinstance(m, dict)]
                prompt_view: dict[str, Any] = {"messages": messages, "text": (None, 0)}
            else:
                prompt_view = {"messages": None, "text": _clip(prompt)}
            rows.append({"run": info["name"], "task": task, "title": title, "id": s.get("sample_id"), "pos": pos,
                         "status": s.get("status"), "wrong": wrong, "prompt": prompt_view,
                         "output": _clip(s.get("output")), "raw_output": _clip(s.get("raw_output")),
                         "reference": _clip(s.get("reference")), "scores": s.get("scores") or {},
                         "error": s.get("error"), "attempts": s.get("attempts"), "cached": s.get("cached"),
                         "latency": s.get("latency_s"), "finish": s.get("finish_reason"), "redacted": bool(s.get("redacted"))})
    return rows
