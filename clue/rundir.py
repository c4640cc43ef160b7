"""A run directory accumulates: tasks run separately into one `--out` end up side by side.

* Before anything is sent, a new run is checked against the results already there: another model,
  protocol or data kind (synthetic vs real) would make one `scores.json` mix incomparable numbers,
  so it is refused with one line (use another --out).
* A task run again replaces that task's results (scores and samples); other tasks stay. A setting
  that differs per task (--limit) is recorded per task in scores.json (`limit`, `n_available`), and
  run.json keeps each task's own command and times under `task_runs`.
* A real run removes the plan files of an earlier `--dry-run` (requests.jsonl, plan.json): they
  described requests that the results now supersede.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from clue.errors import ConfigError
from clue.files import write_atomic
from clue.secrets import redact

PLAN_FILES = ("requests.jsonl", "plan.json")


def _existing_scores(out: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # none yet, or damaged: the new run rewrites it
    return doc if isinstance(doc, dict) and isinstance(doc.get("tasks"), dict) else None


def check_compatible(out: Path, *, model: str, protocol: str, synthetic: bool, shots: int | str | None = None) -> None:
    """Refuse (one line) a run whose results could not sit beside those already in `out`."""
    doc = _existing_scores(out)
    if doc is None or not doc["tasks"]:
        return
    before = {"model": doc.get("model"), "protocol": doc.get("protocol"), "synthetic": bool(doc.get("synthetic", False)),
              "shots": doc.get("shots")}
    now = {"model": model, "protocol": protocol, "synthetic": synthetic, "shots": shots}
    for key in ("model", "protocol", "synthetic", "shots"):
        if key == "shots" and now[key] is None:
            continue
        if before[key] is not None and before[key] != now[key]:
            shown = {"synthetic": lambda v: "synthetic data" if v else "the real data"}.get(key, repr)
            raise ConfigError(f"{out} holds results for {key} {shown(before[key])}, not {shown(now[key])}; "
                              f"they would be mixed in one scores.json",
                              "pass another --out (or delete the old run directory)")


def merge_samples(out: Path, new_lines: list[dict[str, Any]], tasks: Iterable[str]) -> list[dict[str, Any]]:
    """The earlier samples.jsonl lines of tasks not run now, then the new lines."""
    replaced = set(tasks)
    kept: list[dict[str, Any]] = []
    try:
        text = (out / "samples.jsonl").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return new_lines
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a damaged line of an earlier run is dropped, not carried on
        if isinstance(row, dict) and row.get("task") not in replaced:
            kept.append(row)
    return kept + new_lines


def merge_scores(out: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` (this run's scores.json) with the earlier tasks not run now kept, in their order."""
    before = _existing_scores(out)
    if before is None:
        return doc
    tasks = {k: v for k, v in before["tasks"].items() if k not in doc["tasks"]}
    tasks.update(doc["tasks"])
    merged = {**doc, "tasks": tasks}
    limits = {t.get("limit") for t in tasks.values()}
    merged["limit"] = limits.pop() if len(limits) == 1 else "per task"
    return merged


def merge_record(out: Path, record: dict[str, Any], tasks: Iterable[str]) -> dict[str, Any]:
    """run.json: this run's record, plus `task_runs` (task → its own command, limit, times) of every task present."""
    try:
        before = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    task_runs: dict[str, Any] = dict(before.get("task_runs") or {}) if isinstance(before, dict) else {}
    if not task_runs and isinstance(before, dict):  # a run directory from before task_runs existed
        for t in before.get("tasks") or ():
            task_runs[t] = _task_run(before)
    for t in tasks:
        task_runs[t] = _task_run(record)
    return {**record, "task_runs": task_runs}


def _task_run(record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record.get(k) for k in ("command", "limit", "started", "finished", "revision", "kit_version")}


def remove_plan(out: Path) -> None:
    for name in PLAN_FILES:
        (out / name).unlink(missing_ok=True)


def scope(scores: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """What a run's data was: {"synthetic": bool, "limit": N | None, "subset": {task title: [n, n_available]},
    "data": {task title: "synthetic" | "public sample" | None}}.

    scores.json says it (`synthetic`, `limit`, per task `n_available`); runs written before it did are
    read from run.json (the --synthetic data folder, --limit). A task run with --limit counts as a subset
    unless it is known that the limit covered every item. `data` is the mark a benchmark's bundled data
    carries per dataset (run.json task_build → data: real public samples or invented items); None = unmarked."""
    synthetic = bool(scores.get("synthetic")) or str(record.get("data_dir", "")).rstrip("/").endswith("synthetic-data")
    limit = scores.get("limit", record.get("limit"))
    subset: dict[str, list[int | None]] = {}
    for name, task in scores.get("tasks", {}).items():
        n, available = task.get("n"), task.get("n_available")
        lim = task.get("limit", limit)
        if lim is not None and (available is None or (n or 0) < available):
            subset[str(task.get("title", name))] = [n, available]
    builds = record.get("task_build") or {}
    data = {str(task.get("title", name)): _data_mark(builds.get(name)) for name, task in scores.get("tasks", {}).items()}
    return {"synthetic": synthetic, "limit": limit, "subset": subset, "data": data}


def _data_mark(build: Any) -> str | None:
    mark = build.get("data") if isinstance(build, dict) else None
    return mark if isinstance(mark, str) else None


def scope_of(run: Mapping[str, Any]) -> dict[str, Any]:
    """The scope of one loaded run (clue.report.load.load_run records it; computed for runs built otherwise)."""
    return run.get("scope") or scope(run["scores"], run.get("record") or {})


def json_line(obj: Any) -> str:
    """One JSON line; model text with lone surrogates (invalid UTF-8) keeps them as \\u escapes, exactly."""
    line = json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(obj)
    return line + "\n"


def write(out: Path, lines: list[dict[str, Any]], doc: dict[str, Any], record: dict[str, Any]) -> None:
    """A finished run's files — samples.jsonl, scores.json (`doc`), run.json (`record`, redacted) — merged with the
    tasks an earlier run left in the directory; dry-run plans removed."""
    tasks = doc["tasks"]
    lines = merge_samples(out, lines, tasks)
    doc = merge_scores(out, doc)
    record = merge_record(out, record, tasks)
    write_atomic(out / "samples.jsonl", "".join(json_line(ln) for ln in lines))
    write_atomic(out / "scores.json", json.dumps(doc, indent=2) + "\n")
    write_atomic(out / "run.json", json.dumps(redact(record), indent=2, default=str) + "\n")
    remove_plan(out)
