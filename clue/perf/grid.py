"""The paper's whole ClinicBench grid reported: 22 models × 16 datasets × 0/1/3/5-shot (≈ 2.2 M samples), and the
same with 3 few-shot seeds per k-shot run.

`write_grid` writes the run directories straight to disk (no `clue run`: seconds for millions of lines), in the layout
and with the digests and kept columns (clue/sample_columns.py) `clue run` writes — each line already canonical JSON,
so each task's lines digest is hashed as it is written, and run.json records samples.jsonl's sha256. Dataset names
and Table 1 sizes come from clue.perf.report_scale (the clinicbench benchmark's table); all text is invented (ids
SYNTHETIC-…).

`measure` builds the report in a child process (`clue report` as a user runs it) and reads that process's own
rusage (wall, user + system CPU, peak RSS) three times: cold (only what `clue run` leaves: no intervals, charts or
comparisons kept), warm (nothing changed) and after one run was re-run (its files rewritten); then opens the report
in headless Chromium (clue.perf.reporting).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from clue.perf.report_scale import BENCHMARK, FakeDataset, clinicbench_datasets, model_names, stand_in
from clue.perf.serving import WORDS

SHOTS = (0, 1, 3, 5)


def _texts(rng: np.random.Generator, words: int, k: int = 64) -> list[str]:
    """`k` invented texts, JSON-encoded (ASCII) for splicing into canonical lines."""
    return [json.dumps("SYNTHETIC " + " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), words))) for _ in range(k)]


def _digests(doc: dict[str, Any], task_samples: dict[str, str], file_sha: str) -> dict[str, Any]:
    from clue.rundir import DIGEST_RULE, _canonical, _head_digest, _sha

    return {"rule": DIGEST_RULE, "scores": _head_digest(doc),
            "tasks": {t: {"scores": _sha([_canonical(entry)]), "samples": task_samples[t]} for t, entry in doc["tasks"].items()},
            "files": {"samples.jsonl": file_sha}}


def write_run(run: Path, model: str, shots: int, datasets: Sequence[FakeDataset], *, skill: float, seeds: int = 1,
              fail_p: float = 0.0, extraction_p: float = 0.02, prompt_words: int = 80, rng_seed: int = 17) -> Path:
    """One run directory: samples.jsonl (canonical lines), scores.json, run.json with its digests."""
    rng = np.random.default_rng(rng_seed)
    prompts, outputs, refs = _texts(rng, prompt_words), _texts(rng, 25), _texts(rng, 20)
    draws = list(range(1, seeds + 1)) if shots and seeds > 1 else [None]
    chunks: list[bytes] = []
    tasks: dict[str, Any] = {}
    task_samples: dict[str, str] = {}
    for d in datasets:
        h = hashlib.sha256()
        per_seed: dict[str, dict[str, float | None]] = {}
        n_failed = n_extract = n_ok = 0
        lines: list[str] = []
        for seed in draws:
            n = d.size
            failed = rng.random(n) < fail_p
            unextracted = ~failed & (rng.random(n) < extraction_p)
            if d.binary:
                values = np.where(rng.random(n) < skill, 100.0, 0.0)
            else:
                values = np.round(np.clip(rng.normal(100 * skill * 0.7, 15, n), 0.0, 100.0), 3)
            values = np.where(unextracted, 0.0, values)
            pick = rng.integers(0, 64, (n, 3)).tolist()
            suffix = "" if seed is None else f"@seed{seed}"
            seed_field = "" if seed is None else f'"fewshot_seed":{seed},'
            for i, (v, bad, unx, (p, o, r)) in enumerate(zip(values.tolist(), failed.tolist(), unextracted.tolist(), pick)):
                key = f"{d.name}{shots}{seed or 0}{i}"
                if bad:
                    lines.append(f'{{"attempts":6,"cached":false,"error":"SYNTHETIC HTTP 503 (after 6 attempts)",{seed_field}'
                                 f'"finish_reason":null,"latency_s":0.1,"output":null,"prompt":{prompts[p]},"prompt_hash":"{i:016x}",'
                                 f'"raw_output":null,"reference":{refs[r]},"request_key":"{key}","sample_id":"SYNTHETIC-{d.name}-{i}{suffix}",'
                                 f'"scores":{{}},"status":"failed","task":"{d.name}","usage":{{}}}}')
                    continue
                out = '"Sure! Here is my reasoning, but no final answer."' if unx else outputs[o]
                extra = '"extraction_failed":true,' if unx else ""
                lines.append(f'{{"attempts":1,"cached":false,"error":null,{extra}{seed_field}"finish_reason":"stop","latency_s":0.1,'
                             f'"output":{out},"prompt":{prompts[p]},"prompt_hash":"{i:016x}","raw_output":{out},"reference":{refs[r]},'
                             f'"request_key":"{key}","sample_id":"SYNTHETIC-{d.name}-{i}{suffix}","scores":{{"{d.metric}":{v!r}}},'
                             f'"status":"ok","task":"{d.name}","usage":{{"completion_tokens":30,"prompt_tokens":120}}}}')
            ok = ~failed
            per_seed[str(seed)] = {d.metric: float(values[ok].mean()) if ok.any() else None}
            n_failed, n_extract, n_ok = n_failed + int(failed.sum()), n_extract + int(unextracted.sum()), n_ok + int(ok.sum())
        block = ("\n".join(lines) + "\n").encode("ascii")
        h.update(block)
        chunks.append(block)
        task_samples[d.name] = h.hexdigest()
        means = [x for x in (m[d.metric] for m in per_seed.values()) if x is not None]
        metric = float(np.mean(means)) if len(means) == len(per_seed) else None  # several seeds: their mean
        entry: dict[str, Any] = {"title": d.title, "metrics": {d.metric: metric}, "skipped": {}, "n": len(lines), "n_scored": n_ok,
                                 "n_failed": n_failed, "extraction_failures": n_extract, "n_shots": shots}
        if draws[0] is not None:
            entry["fewshot"] = {"shots": shots, "pool": "train", "seeds": draws, "per_seed": per_seed,
                                "sd": {d.metric: float(np.std(means, ddof=1)) if metric is not None else None}}
        tasks[d.name] = entry
    run.mkdir(parents=True, exist_ok=True)
    data = b"".join(chunks)
    (run / "samples.jsonl").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    doc = json.loads(json.dumps({"benchmark": BENCHMARK, "model": model, "protocol": "clinicbench", "shots": shots, "tasks": tasks}))
    (run / "scores.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    record = {"kit_version": "0.1.0", "benchmark": BENCHMARK, "model": model, "protocol": "clinicbench", "shots": shots,
              "command": ["clue", "run", "--benchmark", BENCHMARK, "--shots", str(shots)], "fewshot_seeds": draws,
              "engine": {"kind": "vllm", "endpoint": "http://127.0.0.1:1", "describe": {}}, "started": 1.7e9, "finished": 1.7e9 + 60,
              "tasks": [d.name for d in datasets], "stats": {"requests": sum(t["n"] for t in tasks.values())},
              "digests": _digests(doc, task_samples, sha)}
    (run / "run.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    _keep_columns(run, data, sha, list(dict.fromkeys(d.metric for d in datasets)))
    return run


def _keep_columns(run: Path, data: bytes, sha: str, metrics: list[str]) -> None:
    """The columns `clue run` keeps beside a run this large (clue.sample_columns.keep_complete, the rule both use),
    read by the report's own reader rather than from parsed lines (seconds for the grid instead of a minute); each
    line holds its dataset's one metric, so `metrics` are every metric the lines hold."""
    from clue import sample_columns
    from clue.report.columns import read

    sample_columns.keep_complete(run, lambda: (read(run / "samples.jsonl", metrics, data), metrics), data, sha)


def write_grid(root: Path, n_models: int, datasets: Sequence[FakeDataset], shots: Sequence[int] = SHOTS, *, seeds: int = 1,
               prompt_words: int = 80) -> list[Path]:
    """One run directory per model × setting; scores drift with the model and the setting; in every 8th run a few
    requests failed."""
    dirs = []
    for mi, model in enumerate(model_names(n_models)):
        for si, k in enumerate(shots):
            skill = 0.35 + 0.4 * mi / max(1, n_models - 1) + 0.02 * si
            fail_p = 0.002 if (mi * len(shots) + si) % 8 == 0 else 0.0
            dirs.append(write_run(root / f"{model.replace('/', '--')}__{k}shot", model, k, datasets, skill=skill, seeds=seeds,
                                  fail_p=fail_p, prompt_words=prompt_words, rng_seed=1000 * mi + si))
    return dirs


BUILD = ("import sys; from clue.perf.report_scale import clinicbench_datasets, stand_in; stand_in(clinicbench_datasets(float(sys.argv[1]))); "
         "sys.argv = ['clue', 'report', *sys.argv[3:], '--out', sys.argv[2]]; "  # the program, as `clue report …` runs it
         "from clue.cli import main; sys.exit(main())")


def build(dirs: Sequence[Path], out: Path, scale: float) -> dict[str, Any]:
    """`clue report` over `dirs` in a child process: its wall, CPU (user + system) and peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH")) if p)}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BUILD, str(scale), str(out), *map(str, dirs)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"clue report exited {proc.returncode}: {err.strip().splitlines()[-1:] or ''}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def measure(tmp: Path, n_models: int, shots: Sequence[int], scale: float, seeds: int = 1, bare: bool = False) -> dict[str, Any]:
    """Write the grid, report it cold / warm / after one run changed, open it in headless Chromium; `bare`: then once
    more with nothing kept beside the runs (not even the columns `clue run` keeps)."""
    from clue.perf.reporting import page_times

    datasets = clinicbench_datasets(scale)
    t0 = time.perf_counter()
    dirs = write_grid(tmp / "runs", n_models, datasets, shots, seeds=seeds)
    made = time.perf_counter() - t0
    stand_in(datasets)
    out: dict[str, Any] = {"runs": len(dirs), "datasets": len(datasets), "seeds": seeds, "fixtures_s": round(made, 1),
                           "samples": sum(d.size for d in datasets) * sum(seeds if k else 1 for k in shots) * n_models,
                           "samples_bytes": sum((d / "samples.jsonl").stat().st_size for d in dirs),
                           "load_before": os.getloadavg()}
    report = tmp / "report"
    out["cold"] = build(dirs, report, scale)
    out["warm"] = build(dirs, report, scale)
    changed = dirs[len(dirs) // 2]  # re-run: its files rewritten with other results
    was = json.loads((changed / "scores.json").read_text(encoding="utf-8"))
    shutil.rmtree(changed)
    write_run(changed, was["model"], was["shots"], datasets, skill=0.5, seeds=seeds, rng_seed=99)
    out["one_changed"] = build(dirs, report, scale)
    html = report / "index.html"
    out["html_bytes"] = html.stat().st_size
    out["sample_rows"] = html.read_text(encoding="utf-8").count("<tr data-run=")  # the sample browser's (its budget: 1,500)
    out["load_after"] = os.getloadavg()
    out.update(page_times(html, tmp))
    if bare:  # the same runs as an older kit, or a copy without its kept files, leave them: every line read
        from clue.report import kept_pairs, summary
        from clue.sample_columns import NAME as COLUMNS

        for d in dirs:
            for name in (COLUMNS, summary.NAME, kept_pairs.NAME):
                (d / name).unlink(missing_ok=True)
        out["bare"] = build(dirs, tmp / "report-bare", scale)
    return out
