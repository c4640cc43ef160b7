"""A task's results from its completions: post-processing, per-sample scores, extraction failures, counts.

The run (clue/evaluate.py) hands over each task's requests and their completions once they are all in;
what comes back is written to samples.jsonl (the lines) and scores.json (the task's entry).

Few-shot draws (clue/tasks/fewshot.py): a task whose exemplars were drawn gets a `fewshot` entry — the pool
(train/dev or leave-one-out), its size, the seeds. Where exemplars differ per item, each line names its own
(`exemplar_ids`). With several seeds each line names its `fewshot_seed`, the task's `metrics` are the mean over the
seeds' task scores, and `fewshot` adds each seed's scores (`per_seed`) and their sample standard deviation (`sd`, n − 1).
"""

from __future__ import annotations

import statistics
import sys
from typing import Any, Mapping

from clue.protocol import RunProtocol
from clue.tasks import Split, Task
from clue.types import Completion, Request


def score_task(task: Task, split: Split, requests: list[Request], done: dict[str, Completion], profile: RunProtocol,
               model: str, ready: Mapping[tuple[str, str], tuple[str, dict[str, float]]] | None = None
               ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One line per request (failed ones reported, never scored) and the task's scores, counts and notes.

    `ready`: (sample id, completion text) → (output, scores) already computed as the completions landed
    (clue/live_scores.py, for a task whose scores are item by item): used for that same text; the rest is
    post-processed and scored here, the rows of `score_all` over them."""
    by_id = {s.id: s for s in split.evaluated}
    ready = ready or {}
    lines, answered, early = [], [], []
    for req in requests:
        sample, completion = by_id[req.sample_id], done[req.key]
        line: dict[str, Any] = {
            "task": task.name, "sample_id": sample.id, "request_key": req.key, "prompt_hash": req.prompt_hash,
            "prompt": req.prompt if req.prompt is not None else list(req.messages or ()),
            "raw_output": completion.text, "output": None, "reference": sample.reference, "scores": {},
            "status": completion.status, "error": completion.error, "attempts": completion.attempts,
            "cached": completion.cached, "latency_s": round(completion.latency_s, 4), "usage": dict(completion.usage),
            "finish_reason": completion.finish_reason,
        }
        if split.per_item is not None:
            line["exemplar_ids"] = [x.id for x in split.shots_for(sample.id)]
        if split.draws:
            line["fewshot_seed"] = split.draws[sample.id]
        if completion.text is not None:  # failed requests are reported, never scored
            text = completion.text
            hit = ready.get((sample.id, text))
            line["output"] = hit[0] if hit is not None else task.postprocess_sample(text, sample, profile, model)
            answered.append((line, sample))
            early.append(hit[1] if hit is not None else None)
        lines.append(line)
    per_sample = _scores(task, answered, early, profile)
    for (line, _), scores in zip(answered, per_sample):
        line["scores"] = scores
    extraction: dict[str, Any] = {}
    if task.reports_extraction:  # outputs with no extractable answer: flagged per sample, counted per task
        for line, sample in answered:
            reason = task.extraction_failure(line["output"], sample, profile)
            line["extraction_failed"], line["extraction_failure"] = reason is not None, reason
        extraction["extraction_failures"] = sum(1 for line, _ in answered if line["extraction_failure"])
    skipped = task.skipped_metrics(profile)
    for metric, how in skipped.items():
        print(f"clue: note: {task.title} {metric} skipped — {how}", file=sys.stderr)
    failed = sum(1 for ln in lines if ln["status"] == "failed")
    # still scored as the model's answer, never hidden: a reasoning model whose budget went to reasoning
    # answers "" with finish_reason "length"
    empty = sum(1 for ln in lines if ln["raw_output"] is not None and not ln["raw_output"].strip())
    length = sum(1 for ln in lines if ln["raw_output"] is not None and ln["finish_reason"] == "length")
    fewshot = _fewshot(split)
    if split.draws:  # several few-shot seeds: each seed aggregated on its own, the task's figure = their mean
        seeds = split.seeds()
        by_seed = {seed: task.aggregate([sc for (ln, smp), sc in zip(answered, per_sample) if split.draws[smp.id] == seed], profile)
                   for seed in seeds}
        metrics = {m: _mean([by_seed[seed][m] for seed in seeds]) for m in by_seed[seeds[0]]}
        fewshot["per_seed"] = {str(seed): by_seed[seed] for seed in seeds}
        fewshot["sd"] = {m: _sd([by_seed[seed][m] for seed in seeds]) for m in metrics}
    else:
        metrics = task.aggregate(per_sample, profile)
    return lines, {"title": task.title, "metrics": metrics, "skipped": skipped,
                   "generation": task.generation, "credentialed": task.credentialed,
                   "n": len(lines), "n_scored": len(per_sample), "n_failed": failed, "n_shots": split.n_shots,
                   "n_empty": empty, "n_length": length, **extraction, **({"fewshot": fewshot} if fewshot else {})}


def _scores(task: Task, answered: list[tuple[dict[str, Any], Any]], early: list[dict[str, float] | None],
            profile: RunProtocol) -> list[dict[str, float]]:
    """Each answered line's scores: those computed as it landed, `score_all` over the others (all of them, usually)."""
    rest = [i for i, row in enumerate(early) if row is None]
    if not rest:
        return [row for row in early if row is not None]
    rows = task.score_all([answered[i][0]["output"] for i in rest], [answered[i][1] for i in rest], profile)
    if len(rest) == len(early):
        return rows
    out = list(early)
    for i, row in zip(rest, rows):
        out[i] = row
    return [row for row in out if row is not None]


FEWSHOT_KEYS = ("shots", "pool", "pool_size", "pool_origin", "stratified_by", "seeds")


def _fewshot(split: Split) -> dict[str, Any]:
    """How the task's exemplars were drawn (scores.json `fewshot`): only where the core drew them."""
    if not split.n_shots or "pool" not in split.how:
        return {}
    return {k: split.how[k] for k in FEWSHOT_KEYS if k in split.how}


def _mean(values: list[float | None]) -> float | None:
    """The mean over the seeds (None when a seed has no score)."""
    return None if not values or any(v is None for v in values) else statistics.fmean(v for v in values if v is not None)


def _sd(values: list[float | None]) -> float | None:
    """The sample standard deviation over the seeds (n − 1; None below two seeds or when a seed has no score)."""
    return None if len(values) < 2 or any(v is None for v in values) else statistics.stdev(v for v in values if v is not None)
