"""A run directory accumulates: tasks run separately into one `--out` end up side by side.

* Before anything is sent, a new run is checked against the results already there: another model,
  protocol or data kind (synthetic vs real) would make one `scores.json` mix incomparable numbers,
  so it is refused with one line (use another --out).
* A task run again replaces that task's results (scores and samples); other tasks stay. A setting
  that differs per task (--limit) is recorded per task in scores.json (`limit`, `n_available`), and
  run.json keeps each task's own command and times under `task_runs`.
* A real run removes the plan files of an earlier `--dry-run` (requests.jsonl, plan.json): they
  described requests that the results now supersede.
* Tamper evidence: run.json `digests` holds a sha256 of scores.json's run fields and, per task, of its
  scores.json entry and of its samples.jsonl lines (canonical JSON: layout is not content). A task kept from an
  earlier run keeps the digest that run recorded (none, if it recorded none); `files` adds the sha256 of samples.jsonl's
  bytes, so a reader sees an unchanged file without re-hashing each line. `integrity` checks them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from clue.errors import ConfigError
from clue.files import write_atomic
from clue.sample_columns import keep_run
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
    """run.json: this run's record, plus `task_runs` (task → its own command, limit, times) of every task present,
    and the digests (`digests.tasks`) an earlier run recorded for the tasks not run now."""
    try:
        before = json.loads((out / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    tasks = list(tasks)
    earlier = _recorded(before).get("tasks", {}) if isinstance(before, dict) else {}
    record = {**record, "digests": {"tasks": {t: d for t, d in earlier.items() if t not in tasks}}}
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


DIGEST_RULE = ("sha256 of canonical JSON (sorted keys, no spaces, ASCII): `scores` = scores.json without `tasks`; per task, "
               "`scores` = its scores.json entry, `samples` = its samples.jsonl lines in file order, one per line")


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _sha(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part + b"\n")
    return h.hexdigest()


def _task_digest(entry: Any, lines: Iterable[Mapping[str, Any]], task: str) -> dict[str, str]:
    return {"scores": _sha([_canonical(entry)]), "samples": _sha(_canonical(ln) for ln in lines if ln.get("task") == task)}


def sample_digests(lines: Iterable[Mapping[str, Any]]) -> dict[Any, str]:
    """Each task's `samples` digest (as `_task_digest`), in one pass over the lines; a task without lines has none here."""
    hashers: dict[Any, Any] = {}
    for ln in lines:
        task = ln.get("task")
        h = hashers.get(task)
        if h is None:
            h = hashers[task] = hashlib.sha256()
        h.update(_canonical(ln) + b"\n")
    return {t: h.hexdigest() for t, h in hashers.items()}


def _head_digest(doc: Mapping[str, Any]) -> str:
    return _sha([_canonical({k: v for k, v in doc.items() if k != "tasks"})])


def _recorded(record: Any) -> dict[str, Any]:
    digests = record.get("digests") if isinstance(record, dict) else None
    return digests if isinstance(digests, dict) else {}


def seal(doc: dict[str, Any], lines: list[dict[str, Any]], record: dict[str, Any], tasks: Iterable[str]) -> dict[str, Any]:
    """`record` with `digests` of the files about to be written: the tasks run now, the run fields; earlier tasks'
    digests (merge_record) kept as they were recorded."""
    digests = _recorded(record)
    per_task = dict(digests.get("tasks") or {})
    for t in tasks:
        per_task[t] = _task_digest(doc["tasks"][t], lines, t)
    return {**record, "digests": {"rule": DIGEST_RULE, "scores": _head_digest(doc), "tasks": per_task}}


def needs_line_digests(record: Mapping[str, Any], samples_sha: str) -> bool:
    """Whether `integrity` must hash samples.jsonl's lines: a task's lines digest recorded, the file's sha256 not matching."""
    digests = _recorded(record)
    files: dict[str, Any] = digests["files"] if isinstance(digests.get("files"), dict) else {}
    per_task: dict[str, Any] = digests["tasks"] if isinstance(digests.get("tasks"), dict) else {}
    return files.get("samples.jsonl") != samples_sha and any(isinstance(d, dict) and "samples" in d for d in per_task.values())


def integrity(scores: Mapping[str, Any], samples: Iterable[Mapping[str, Any]], record: Mapping[str, Any], *,
              samples_sha: str | None = None, digests_of_samples: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What of a loaded run differs from the digests its run.json recorded: {"recorded": bool (any digest at all),
    "edited": {task name: [file names]} (a task recorded but gone counts too; "" = scores.json's run fields),
    "unrecorded": [task names without a digest]}.

    `samples_sha` (the sha256 of samples.jsonl's bytes) equal to the one recorded at writing (`files`) shows the lines
    unchanged without hashing each; `digests_of_samples` (`sample_digests` of the lines, kept from an earlier read)
    saves the pass over them."""
    digests = _recorded(record)
    per_task: dict[str, Any] = digests["tasks"] if isinstance(digests.get("tasks"), dict) else {}
    files: dict[str, Any] = digests["files"] if isinstance(digests.get("files"), dict) else {}
    unchanged = samples_sha is not None and files.get("samples.jsonl") == samples_sha
    edited: dict[str, list[str]] = {}
    if isinstance(digests.get("scores"), str) and digests["scores"] != _head_digest(scores):
        edited[""] = ["scores.json"]
    tasks = scores.get("tasks") or {}
    unrecorded = [t for t in tasks if not isinstance(per_task.get(t), dict)]
    got_samples: Mapping[str, str] | None = digests_of_samples
    for t, want in per_task.items():
        if not isinstance(want, dict):
            continue
        if t not in tasks:
            edited[t] = ["scores.json"]
            continue
        files_edited = ["scores.json"] if want.get("scores") != _sha([_canonical(tasks[t])]) else []
        if not unchanged:
            if got_samples is None:
                got_samples = sample_digests(samples)
            if want.get("samples") != got_samples.get(t, _sha([])):
                files_edited.append("samples.jsonl")
        if files_edited:
            edited[t] = files_edited
    return {"recorded": bool(digests), "edited": edited, "unrecorded": unrecorded}


def _titles(run: Mapping[str, Any]) -> dict[str, str]:
    tasks = run["scores"].get("tasks") or {}
    return {n: str(t.get("title", n)) if isinstance(t, dict) else n for n, t in tasks.items()}


def edited_titles(run: Mapping[str, Any]) -> set[str]:
    """The titles of a loaded run's tasks whose results were edited after the run (all, where its run fields were)."""
    edited = (run.get("integrity") or {}).get("edited") or {}
    titles = _titles(run)
    return set(titles.values()) if "" in edited else {titles.get(t, t) for t in edited}


def integrity_label(run: Mapping[str, Any]) -> str:
    """"EDITED after the run: MeQSum (scores.json)" / "no digest recorded …" / "" for one loaded run (see `integrity`)."""
    got = run.get("integrity") or {}
    titles = _titles(run)
    edited = got.get("edited") or {}
    if edited:
        return "EDITED after the run: " + "; ".join(f"{titles.get(t, t) or 'run fields'} ({', '.join(f)})" for t, f in edited.items())
    if not got.get("recorded", True):
        return "no digest recorded (run written before digests: edits cannot be detected)"
    missing = got.get("unrecorded") or []
    return f"no digest recorded for {', '.join(titles.get(t, t) for t in missing)}" if missing else ""


def _reads_back_as_itself(obj: Any) -> bool:
    """Whether `obj`'s canonical JSON is that of its JSON read back: every dict key is a str. (JSON turns other keys
    into strings, which sort differently; tuples, and subclasses of str, int and float, write what they read back as.)
    Checking is a fraction of parsing the line again (~1.5 ms instead of 15 for a 1,000-line MeQSum run, `make bench`)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if type(key) is not str:
                    return False
                if isinstance(value, (dict, list, tuple)):
                    stack.append(value)
        elif isinstance(item, (list, tuple)):
            stack.extend(v for v in item if isinstance(v, (dict, list, tuple)))
    return True


def write(out: Path, lines: list[dict[str, Any]], doc: dict[str, Any], record: dict[str, Any]) -> None:
    """A finished run's files — samples.jsonl, scores.json (`doc`), run.json (`record`, redacted, with the digests of
    the other two) — merged with the tasks an earlier run left in the directory; dry-run plans removed."""
    tasks = doc["tasks"]
    lines = merge_samples(out, lines, tasks)
    doc = merge_scores(out, doc)
    samples_text = [json_line(ln) for ln in lines]
    scores_text = json.dumps(doc, indent=2) + "\n"
    # sealed as they will be read back (JSON turns keys to strings; a line whose keys are all strings reads back as itself)
    read_back = [ln if _reads_back_as_itself(ln) else json.loads(text) for ln, text in zip(lines, samples_text)]
    record = seal(json.loads(scores_text), read_back, merge_record(out, record, tasks), tasks)
    data = "".join(samples_text).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    record["digests"]["files"] = {"samples.jsonl": sha}
    write_atomic(out / "samples.jsonl", data)
    write_atomic(out / "scores.json", scores_text)
    write_atomic(out / "run.json", json.dumps(redact(record), indent=2, default=str) + "\n")
    keep_run(out, read_back, data, sha)  # a large run's columns, for its first report (clue/sample_columns.py)
    remove_plan(out)
