"""Helpers (no tests): write small run directories in the layout `clue run` produces.

All text here is invented (ids start with SYNTHETIC). Used by test_report*, test_verify, test_stats.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from clue.benchmarks.clue.rule import TASK_METRICS

TASK_NAMES = {"MedNLI": "mednli", "MeQSum": "meqsum", "ProblemSummary": "problemsummary", "MeDiSumQA": "medisumqa",
              "MeDiSumCode": "medisumcode", "LongHealth": "longhealth"}
CLUE_SHOTS = {"mednli": 3, "meqsum": 3, "problemsummary": 3, "medisumqa": 1, "medisumcode": 1, "longhealth": 0}  # CLUE's k (Q26)


def record(model: str, protocol: str = "clue-v3", **extra: Any) -> dict[str, Any]:
    return {"kit_version": "0.1.0", "git_sha": "0" * 40, "python": "3.11.0", "platform": "SYNTHETIC", "packages": {"numpy": "2"},
            "command": ["clue", "run", "--model", model], "engine": {"kind": "tgi", "endpoint": "http://127.0.0.1:1",
                                                                      "describe": {"version": "3.3.7", "model_sha": "abc", "docker_label": "sha-x"}},
            "model": model, "revision": "abc", "protocol": protocol, "protocol_switches": {"name": protocol, "q1_double_count_first": "off"},
            "mode": "instruct-system", "chat_template": None, "temperature": None, "seed": None, "prefill": "x",
            "tasks": [], "prompt_templates": {"meqsum": {"system.j2": "f" * 64}}, "data_dir": "data", "limit": None,
            "concurrency": 4, "retry_policy": {"max_attempts": 6}, "started": 1.7e9, "finished": 1.7e9 + 60,
            "stats": {"requests": 0, "cached": 0, "sent": 0, "completed": 0, "failed": 0, "retries": 0,
                      "retry_causes": {}, "failure_causes": {}}, **extra}


def sample(task: str, sid: str, scores: Mapping[str, float], *, output: str = "SYNTHETIC output", status: str = "ok",
           prompt: Any = "SYNTHETIC prompt", reference: str = "SYNTHETIC reference", usage: Mapping[str, int] | None = None,
           cached: bool = False) -> dict[str, Any]:
    failed = status != "ok"
    return {"task": task, "sample_id": sid, "request_key": "k" + sid, "prompt_hash": "h", "prompt": prompt,
            "raw_output": None if failed else output, "output": None if failed else output, "reference": reference,
            "scores": {} if failed else dict(scores), "status": status, "error": "SYNTHETIC server error" if failed else None,
            "attempts": 1, "cached": cached, "latency_s": 0.1, "usage": dict(usage or {}), "finish_reason": "length"}


def write_run(path: Path, model: str, samples: Sequence[Mapping[str, Any]], *, protocol: str = "clue-v3",
              skipped: Mapping[str, Mapping[str, str]] | None = None, titles: Mapping[str, str] | None = None,
              shots: int | None = None, benchmark: str | None = None) -> Path:
    """A run directory whose scores.json holds the plain means of the samples' scores; each task's `n_shots` is
    `shots`, else CLUE's k for a CLUE task, else 0."""
    path.mkdir(parents=True, exist_ok=True)
    names = {v: k for k, v in TASK_NAMES.items()} | dict(titles or {})
    tasks: dict[str, Any] = {}
    for s in samples:
        tasks.setdefault(s["task"], []).append(s)
    scores: dict[str, Any] = {}
    for name, lines in tasks.items():
        ok = [s for s in lines if s["status"] == "ok"]
        metrics: dict[str, float | None] = {}
        for s in ok:
            for m in s["scores"]:
                metrics.setdefault(m, None)
        for m in metrics:
            vals = [s["scores"][m] for s in ok if m in s["scores"]]
            metrics[m] = sum(vals) / len(vals)
        scores[name] = {"title": names.get(name, name), "metrics": metrics, "skipped": dict((skipped or {}).get(name, {})),
                        "n": len(lines), "n_scored": len(ok), "n_failed": len(lines) - len(ok),
                        "n_shots": shots if shots is not None else CLUE_SHOTS.get(name, 0)}
    doc = {"model": model, "protocol": protocol, "tasks": scores, **({"benchmark": benchmark} if benchmark else {})}
    (path / "scores.json").write_text(json.dumps(doc), encoding="utf-8")
    (path / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
    (path / "run.json").write_text(json.dumps(record(model, protocol)), encoding="utf-8")
    return path


def published_like_run(path: Path, model_name: str, *, n: int = 24, shift: float = 0.0) -> Path:
    """Every task of `model_name` with each sample scoring exactly the published value (+ shift)."""
    from clue.benchmarks.clue.published import PUBLISHED
    from clue.published import PROTOCOL

    table = PUBLISHED.table(PROTOCOL)[model_name]
    samples = []
    for title, name in TASK_NAMES.items():
        if title not in table:
            continue
        for i in range(n):
            if title == "LongHealth":
                for sub in (1, 2, 3):
                    v = table[title][f"task{sub}_acc"].value + shift
                    samples.append(sample(name, f"SYNTHETIC-p{i}/q0/t{sub}/r0", {f"task{sub}_acc": v}))
                continue
            samples.append(sample(name, f"SYNTHETIC-{i}", {m: table[title][m].value + shift for m in TASK_METRICS[title]}))
    return write_run(path, PUBLISHED.models[model_name].hf_id or model_name, samples)


def verified(run_dir: Path, **options: Any) -> list[Any]:
    """`clue verify`'s checks of one run directory (its benchmark as loaded)."""
    from clue.report.load import load_run
    from clue.verify import verify_run

    run = load_run(run_dir)
    return verify_run(run["benchmark"], run, **options)
