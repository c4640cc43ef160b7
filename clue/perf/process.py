"""Whole-process figures: `clue run` as a user runs it — start-up imports, saturation, resume.

Each measurement is a fresh `python -m clue run …` process against a loopback bench server, timed
from outside (wall) with its CPU from `RUSAGE_CHILDREN` (the process and any scoring workers). The
MeQSum file is the real one from ../shared/data when present, else invented samples written in the
same xlsx layout. A first `--dry-run` fills the parsed-xlsx copy beside the store, as any earlier
run of the same data would have; its own time is reported too.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from clue.perf.server import MODEL_ID, BenchServer, ServerConfig
from clue.perf.serving import LLAMA3, meqsum_samples

REAL_MEQSUM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "meqsum" / "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx"
_IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$")  # top level only: cumulative µs, no indent


def meqsum_data(root: Path, n: int) -> tuple[Path, str]:
    """A data dir with a MeQSum workbook: the real file (first n + 3 rows used via --limit) or invented rows."""
    from clue.benchmarks.clue.tasks import TASKS

    task = TASKS["meqsum"]
    folder = root / "meqsum"
    folder.mkdir(parents=True, exist_ok=True)
    if REAL_MEQSUM.is_file():
        (folder / REAL_MEQSUM.name).write_bytes(REAL_MEQSUM.read_bytes())
        return root, "the real MeQSum file"
    records = [{"File": f"SYNTHETIC-{s.id}", **s.fields} for s in meqsum_samples(n)]
    task.write_synthetic(records, folder / task.files[0])
    from clue.data.lock import mark_bundled

    mark_bundled(root, "invented MeQSum-sized samples (clue bench)")  # not the release: runs record its hash, never compare it
    return root, "invented MeQSum-sized samples"


def bytecode() -> dict[str, bool]:
    """Compile the kit's modules to bytecode (`compileall`, into their __pycache__, as Python does on a first import)
    before timing a process; says whether all compiled and whether PYTHONDONTWRITEBYTECODE is set. An installed kit
    has its bytecode (pip compiles a wheel on install; an editable install writes it on its first import), but
    where PYTHONDONTWRITEBYTECODE is set (as on this project's build machines) nothing writes it, and each `clue`
    process would compile every module without current bytecode from source again (~0.07 s of a whole `clue run`
    after a checkout): a cost no user's install has."""
    import compileall

    import clue

    package = Path(clue.__file__).resolve().parent
    return {"compiled": bool(compileall.compile_dir(str(package), quiet=2)),
            "dont_write_bytecode_set": bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))}


def import_seconds(stderr: str) -> float:
    """Σ of the top-level cumulative times in `python -X importtime` output: every import the process made."""
    return sum(int(m.group(1)) for m in map(_IMPORT_LINE.match, stderr.splitlines()) if m) / 1e6


def _template(root: Path) -> Path:
    path = root / "tokenizer_config.json"
    path.write_text(json.dumps({"chat_template": LLAMA3, "bos_token": "<|begin_of_text|>"}), encoding="utf-8")
    return path


def clue_run(engine: str, url: str, data: Path, out: Path, store: Path, template: Path, *extra: str,
             importtime: bool = False) -> dict[str, Any]:
    """One `clue run` process; wall from outside, CPU of the process and its children."""
    cmd = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "clue", "run", "--engine", engine,
           "--endpoint", url + ("/v1" if engine == "openai" else ""), "--model", MODEL_ID, "--tasks", "meqsum",
           "--data-dir", str(data), "--out", str(out), "--store", str(store), "--no-progress", *extra]
    if engine == "tgi":
        cmd += ["--chat-template", str(template)]
    env = {**os.environ, "CLUE_PROGRESS": "0"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started_at, t0 = time.time(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    ended_at = started_at + wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = [ln for ln in proc.stderr.splitlines() if not ln.startswith("import time:")][-1:]
        raise RuntimeError(f"clue run ({engine}) exited {proc.returncode}: {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "imports_s": import_seconds(proc.stderr) if importtime else None,
            "started_at": started_at, "ended_at": ended_at}


def phases(run: dict[str, Any], served: dict[str, Any]) -> dict[str, float]:
    """Where a whole `clue run` spent its wall, from the server's first request received and last answer sent:
    before the first request (start-up, data, prompts), the requests, after the last answer (scoring, files, exit)."""
    first, last = served.get("first_at") or 0.0, served.get("last_at") or 0.0
    if not first or not last:
        return {}
    return {"to_first_request_s": first - run["started_at"], "requests_s": last - first, "after_last_answer_s": run["ended_at"] - last}


def startup(repeats: int) -> dict[str, Any]:
    """`clue run --dry-run` (every import up to the first request, then it stops) under `python -X importtime`."""
    out: dict[str, Any] = {"repeats": repeats, "bytecode": bytecode()}
    with BenchServer(ServerConfig()) as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, source = meqsum_data(root / "data", 20)
        template = _template(root)
        for engine in ("tgi", "openai"):
            args = (engine, srv.url, data, root / f"dry-{engine}", root / "store" / "s.sqlite", template, "--dry-run")
            first = clue_run(*args, importtime=True)  # parses the xlsx and keeps its copy beside the store
            runs = [clue_run(*args, importtime=True) for _ in range(repeats)]
            out[engine] = {"imports_s": statistics.median(r["imports_s"] for r in runs),
                           "imports_min_s": min(r["imports_s"] for r in runs),
                           "dry_run_wall_s": statistics.median(r["wall_s"] for r in runs),
                           "first_imports_s": first["imports_s"], "first_wall_s": first["wall_s"]}
        out["data"] = source
    return out


def saturation(n: int, concurrency: int, latency_s: float, repeats: int) -> dict[str, Any]:
    """Both engines, whole `clue run` processes, alternating (A B A B …), medians; then a resume re-run of each."""
    out: dict[str, Any] = {"n": n, "concurrency": concurrency, "latency_s": latency_s, "repeats": repeats, "bytecode": bytecode()}
    with BenchServer(ServerConfig(latency_s=latency_s)) as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, source = meqsum_data(root / "data", n)
        template = _template(root)
        stores = root / "stores"
        extra = ("--concurrency", str(concurrency), "--limit", str(n))
        clue_run("tgi", srv.url, data, root / "warm", stores / "warm.sqlite", template, "--dry-run", *extra)  # parsed copy
        runs: dict[str, list[dict[str, Any]]] = {"tgi": [], "openai": []}
        for i in range(repeats):
            for engine in ("tgi", "openai"):
                srv.reset()
                r = clue_run(engine, srv.url, data, root / f"{engine}{i}", stores / f"{engine}{i}.sqlite", template, *extra)
                stats = srv.stats()
                r["served"], r["phases"] = stats["served"], phases(r, stats)
                runs[engine].append(r)
        for engine, rs in runs.items():
            srv.reset()
            last = len(rs) - 1
            again = clue_run(engine, srv.url, data, root / f"{engine}{last}", stores / f"{engine}{last}.sqlite", template, *extra)
            out[engine] = {"wall_s": statistics.median(r["wall_s"] for r in rs), "cpu_s": statistics.median(r["cpu_s"] for r in rs),
                           "walls": [r["wall_s"] for r in rs], "sent": rs[0]["served"],
                           "phases": {k: statistics.median(r["phases"][k] for r in rs) for k in rs[0]["phases"]},
                           "resume_wall_s": again["wall_s"], "resume_sent": srv.stats()["served"]}
        out["ideal_s"] = out["tgi"]["sent"] * latency_s / concurrency
        out["data"] = source
    return out
