"""The report's few-shot table (Provenance): per task of a run, where its exemplars came from (a train/dev split, or
leave-one-out over the test items), that pool's size and the draw's seeds — and, for a run of several
`--fewshot-seed`s, each metric's mean ± sample sd across the seeds with every seed's value (scores.json `fewshot`,
written by clue/task_scores.py). Zero-shot tasks and tasks whose protocol fixes the shots (CLUE) have no row."""

from __future__ import annotations

from typing import Any, Mapping


def _num(v: Any) -> str:
    return f"{v:.2f}" if isinstance(v, (int, float)) else "—"


def fewshot_rows(scores: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, t in (scores.get("tasks") or {}).items():
        fs = t.get("fewshot") or {}
        if not fs:
            continue
        per_seed, metrics = fs.get("per_seed") or {}, t.get("metrics") or {}
        spread = [f"{m} {_num(metrics.get(m))} ± {_num(sd)} ({', '.join(_num((v or {}).get(m)) for v in per_seed.values())})"
                  for m, sd in (fs.get("sd") or {}).items()]
        rows.append({"task": t.get("title") or name, "shots": fs.get("shots"), "pool": fs.get("pool"),
                     "origin": fs.get("pool_origin"), "pool_size": fs.get("pool_size"),
                     "seeds": ", ".join(str(s) for s in fs.get("seeds") or []), "spread": "; ".join(spread)})
    return rows
