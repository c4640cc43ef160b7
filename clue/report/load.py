"""Reading finished run directories (scores.json, samples.jsonl, run.json), grouping them by benchmark, redacting them.

Each run's benchmark is looked up once, when it is loaded (`run["benchmark"]`: its recorded
`benchmark`, else the one owning its tasks, else None); `by_benchmark` groups loaded runs into
`RunSet`s, and everything downstream (stats, verify, the report) takes that benchmark as given.

Tamper evidence: each run's files are checked against the digests its run.json recorded (clue/rundir.py
`integrity`, kept as `run["integrity"]`); `refuse_edited` stops `clue report`/`verify` with one line when they differ,
unless --accept-edited, and then the edited tasks are marked wherever they are shown.

Redaction (`--redact`) drops what could carry credentialed source text — prompts (they hold the
documents), raw and post-processed outputs, references and server error messages — for every task marked
`credentialed` (and for tasks this kit does not know, to be safe); ids, statuses and scores stay.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from clue.benchmark import Benchmark, benchmarks, for_run
from clue.errors import DataError
from clue.privacy import credentialed_tasks
from clue.report.columns import SampleLines
from clue.rundir import integrity, integrity_label, needs_line_digests, sample_digests, scope
from clue.score_rule import PLAIN

REDACTED_FIELDS = ("prompt", "raw_output", "output", "reference", "error")  # servers may echo input in errors


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """{"dir", "name", "scores", "record", "samples", "scope", "benchmark"} of one run directory written by `clue run`;
    "samples" is a `SampleLines` (column-wise; iterating it parses the lines)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"run directory {run_dir} does not exist", "pass a directory written by `clue run` (e.g. runs/<model>__<protocol>)")
    def read(name: str) -> str:
        try:
            return (run_dir / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{run_dir} is not a finished run ({name} missing)", "pass a directory written by `clue run`") from None
        except UnicodeDecodeError:
            raise DataError(f"{run_dir / name} is damaged (not UTF-8)", "re-run `clue run` with the same options to rewrite it") from None

    def parse(name: str, text: str, line_no: int = 0) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:  # a JSONL line is parsed alone: its own number, not the decoder's
            raise DataError(f"{run_dir / name} is damaged (line {line_no or exc.lineno}: {exc.msg})",
                            "re-run `clue run` with the same options to rewrite it") from None

    scores = parse("scores.json", read("scores.json"))
    record = parse("run.json", read("run.json"))
    if not isinstance(record, dict):
        raise DataError(f"{run_dir} holds run.json/samples.jsonl of an unexpected shape", "re-run `clue run` with the same options to rewrite it")
    if not isinstance(scores, dict) or not isinstance(scores.get("tasks"), dict):
        raise DataError(f"{run_dir / 'scores.json'} has no 'tasks' object", "re-run `clue run` with the same options to rewrite it")
    bench = for_run(scores)
    samples, sha, digests = read_samples(run_dir, scores, bench, record)
    # before anything below fills in a default
    checked = integrity(scores, samples, record, samples_sha=sha, digests_of_samples=digests)
    scores.setdefault("model", record.get("model", run_dir.name))
    scores.setdefault("protocol", record.get("protocol", "?"))
    return {"dir": str(run_dir), "name": run_dir.resolve().name or str(run_dir), "scores": scores, "record": record, "samples": samples,
            "scope": scope(scores, record), "benchmark": bench, "integrity": checked, "samples_sha": sha}


def metrics_read(scores: dict[str, Any], bench: Benchmark | None) -> list[str]:
    """The per-sample metrics the report reads of a run: every task's reported metrics, its corpus keys (CIs of
    corpus-level figures) and the metrics its benchmark's rule lists (the sample browser's primary one)."""
    rule = bench.score_rule if bench is not None else PLAIN
    names: dict[str, None] = {}
    for name, task in scores["tasks"].items():
        task = task if isinstance(task, dict) else {}
        names.update(dict.fromkeys(str(m) for m in task.get("metrics") or {}))
        task_obj = bench.tasks.get(name) if bench is not None else None
        names.update(dict.fromkeys(getattr(task_obj, "corpus_keys", ())))
        names.update(dict.fromkeys(rule.task_metrics.get(task.get("title", name), ())))
    return list(names)


def read_samples(run_dir: Path, scores: dict[str, Any], bench: Benchmark | None,
                 record: dict[str, Any]) -> tuple[SampleLines, str, dict[str, str] | None]:
    """samples.jsonl column-wise (clue/report/columns.py; kept by clue/sample_columns.py for the next report), its
    sha256, and its lines' digests where the integrity check needs them."""
    import hashlib

    from clue import sample_columns as cache

    path = run_dir / "samples.jsonl"
    try:
        stamped = cache.stamp(path)  # before the bytes are read: a change while hashing shows next time
        known = cache.known_sha256(run_dir, path)
        if known is not None:  # the kept columns vouch for the file as it is: its bytes are not read
            return _columns(run_dir, path, scores, bench, record, known, known=True, stamped=stamped, data=None)
        with _WHOLE_FILE:  # one whole file in memory at a time (a parse holds a few times its size), whatever the threads
            data = path.read_bytes()  # hashed from the bytes the columns are then read from, if they must be: one read
            return _columns(run_dir, path, scores, bench, record, hashlib.sha256(data).hexdigest(), known=False, stamped=stamped,
                            data=data)
    except FileNotFoundError:
        raise DataError(f"{run_dir} is not a finished run (samples.jsonl missing)", "pass a directory written by `clue run`") from None


_WHOLE_FILE = threading.RLock()


def _columns(run_dir: Path, path: Path, scores: dict[str, Any], bench: Benchmark | None, record: dict[str, Any], sha: str, *,
             known: bool, stamped: list[int], data: bytes | None) -> tuple[SampleLines, str, dict[str, str] | None]:
    """read_samples' columns of samples.jsonl (sha256 `sha`): the kept ones, else read from `data` (or the file)."""
    from clue import sample_columns as cache
    from clue.report.columns import read

    metrics = metrics_read(scores, bench)
    cols = cache.load(run_dir, sha, metrics)
    fresh = cols is None or not known  # kept afresh, or kept again with the file's identity recorded
    if cols is None:
        with _WHOLE_FILE:
            data = path.read_bytes() if data is None else data
            try:  # the whole file, as the json reader would: pyarrow checks only the fields it reads (ASCII is UTF-8: no copy)
                data.isascii() or data.decode("utf-8")
            except UnicodeDecodeError:
                raise DataError(f"{path} is damaged (not UTF-8)", "re-run `clue run` with the same options to rewrite it") from None
            cols = read(path, metrics, data)
    del data
    samples = SampleLines(cols, path)
    if cols.sample_digests is None and needs_line_digests(record, sha):
        cols.sample_digests, fresh = sample_digests(samples), True
    if fresh:
        cache.save(run_dir, sha, metrics, cols, private=bool(credentialed_tasks(samples.task_names())), stamped=stamped)
    return samples, sha, cols.sample_digests


def load_runs(run_dirs: list[str | Path], on_loaded: Callable[[dict[str, Any]], Any] | None = None) -> list[dict[str, Any]]:
    """Load several runs; names stay unique (a repeated directory name gets a numeric suffix).

    Runs are read by a few threads at once: hashing samples.jsonl (its digest is checked against run.json) and
    reading its columns release the GIL, so on a grid of runs the cores share the reading. The runs come back in
    the order given, and a damaged run stops the load with the first (in that order) run's own error.
    `on_loaded(run)` is called as each run is loaded (in the loading thread: work that can start early)."""

    def load(d: str | Path) -> dict[str, Any]:
        run = load_run(d)
        if on_loaded is not None:
            on_loaded(run)
        return run

    workers = min(len(run_dirs), os.cpu_count() or 1, 4)
    if workers > 1:
        benchmarks()  # the installed benchmarks found once, before the threads look them up
        with ThreadPoolExecutor(workers, thread_name_prefix="clue-load") as pool:
            runs = list(pool.map(load, run_dirs))
    else:
        runs = [load(d) for d in run_dirs]
    seen: dict[str, int] = {}
    for run in runs:
        base = run["name"]
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            run["name"] = f"{base} ({seen[base]})"
    return runs


def refused(run: dict[str, Any], accept_edited: bool = False) -> bool:
    """Whether `refuse_edited` stops at this run: its files differ from their recorded digests, and not `accept_edited`."""
    return not accept_edited and bool((run.get("integrity") or {}).get("edited"))


def refuse_edited(runs: Sequence[dict[str, Any]], accept_edited: bool = False) -> None:
    """One line naming the first run whose files differ from their recorded digests, unless `accept_edited`."""
    for run in runs:
        if not refused(run, accept_edited):
            continue
        raise DataError(f"{run['dir']}: {integrity_label(run)} — the files differ from the digests run.json recorded",
                        "re-run `clue run` with the same command to rewrite it, or pass --accept-edited to go on "
                        "with the edited results marked")


@dataclass(frozen=True)
class RunSet:
    """The loaded runs of one benchmark (None: runs no installed benchmark claims), in the order given."""

    benchmark: Benchmark | None
    runs: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return self.benchmark.name if self.benchmark is not None else "unknown"

    @property
    def title(self) -> str:
        return self.benchmark.title if self.benchmark is not None else "Unknown benchmark"


def by_benchmark(runs: Sequence[dict[str, Any]]) -> list[RunSet]:
    """Loaded runs grouped by their benchmark, groups in order of first appearance."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    benches: dict[str | None, Benchmark | None] = {}
    for run in runs:
        bench = run.get("benchmark")
        key = bench.name if bench is not None else None
        groups.setdefault(key, []).append(run)
        benches[key] = bench
    return [RunSet(benches[k], tuple(rs)) for k, rs in groups.items()]


def redact_samples(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `samples` with source text and model outputs of credentialed tasks removed."""
    secret = credentialed_tasks({str(s.get("task")) for s in samples})
    out = []
    for s in samples:
        if s.get("task") in secret:
            s = {**s, **{k: None for k in REDACTED_FIELDS}, "redacted": True}
        out.append(s)
    return out
