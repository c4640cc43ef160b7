"""Peers side by side: the same MeQSum job through Inspect and lm-evaluation-harness, whole processes.

Each peer is installed once into its own throwaway virtual environment under a cache folder
(`$CLUE_BENCH_PEERS`, default ~/.cache/clue-kit/bench-peers/<name>-<version>; delete it to
reinstall), never into the kit's environment. All three send the same n chat requests (the
kit's own rendered MeQSum conversations, written to a JSONL file) to the same loopback OpenAI-
compatible bench server, 64 in flight, 200 new tokens, temperature 0; runs alternate (ours,
Inspect, lm-eval, ours, …) and the medians are compared. Peers score nothing (Inspect: no
scorer, lm-eval: exact match), ours scores ROUGE — the comparison favours them.

Without the package registry the section is skipped with one line saying so.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from clue.perf.process import _template, bytecode, clue_run, meqsum_data
from clue.perf.server import MODEL_ID, BenchServer, ServerConfig

PEERS: dict[str, dict[str, Any]] = {
    "inspect": {"label": "Inspect 0.3.285", "dir": "inspect-ai-0.3.285", "packages": ["inspect-ai==0.3.285", "openai"],
                "check": "import inspect_ai"},
    "lm_eval": {"label": "lm-eval 0.4.13 (local-chat-completions)", "dir": "lm-eval-0.4.13", "packages": ["lm-eval[api]==0.4.13"],
                "check": "import lm_eval"},
}
INSTALL_TIMEOUT_S = 1200


def cache_root() -> Path:
    return Path(os.environ.get("CLUE_BENCH_PEERS", "~/.cache/clue-kit/bench-peers")).expanduser()


class Unavailable(Exception):
    pass


def ensure(name: str) -> Path:
    """The peer's venv python, installing it first when needed (Unavailable when that fails)."""
    spec = PEERS[name]
    venv = cache_root() / spec["dir"]
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", spec["check"]], capture_output=True).returncode == 0:
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True, timeout=300)
        proc = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *spec["packages"]],
                              capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    except (subprocess.SubprocessError, OSError) as exc:
        raise Unavailable(f"{spec['label']}: {type(exc).__name__}") from None
    if proc.returncode != 0:
        last = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")][-1:]
        raise Unavailable(f"{spec['label']}: pip install failed ({' '.join(last)[:120]})")
    return python


INSPECT_TASK = '''
import json
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser
from inspect_ai.solver import generate

ROLES = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}

@task
def meqsum():
    rows = [json.loads(line) for line in open(%(path)r)]
    samples = [Sample(id=r["id"], input=[ROLES[m["role"]](content=m["content"]) for m in r["messages"]], target=r["target"])
               for r in rows]
    return Task(dataset=samples, solver=generate(), scorer=None)
'''

LM_EVAL_TASK = '''task: clue_bench_meqsum
dataset_path: json
dataset_kwargs:
  data_files:
    test: %(path)s
test_split: test
output_type: generate_until
doc_to_text: "{{prompt}}"
doc_to_target: "{{target}}"
generation_kwargs:
  until: []
  max_gen_toks: 200
  temperature: 0.0
  do_sample: false
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
'''


def _jobs(n: int, root: Path, data: Path) -> tuple[Path, Path, int]:
    """The kit's own MeQSum chat conversations from the same file ours reads: as messages (Inspect) and as
    one user turn of text (lm-eval)."""
    from clue.benchmarks.clue.tasks import TASKS
    from clue.perf.serving import build_requests

    requests = build_requests("openai", n, samples=TASKS["meqsum"].load(data))
    chats, texts = root / "meqsum-chat.jsonl", root / "meqsum-text.jsonl"
    with open(chats, "w", encoding="utf-8") as c, open(texts, "w", encoding="utf-8") as t:
        for r in requests:
            messages = [dict(m) for m in r.messages]
            c.write(json.dumps({"id": r.sample_id, "messages": messages, "target": ""}) + "\n")
            t.write(json.dumps({"prompt": "\n\n".join(m["content"] for m in messages), "target": ""}) + "\n")
    return chats, texts, len(requests)


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=900)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {(proc.stderr.strip().splitlines() or [''])[-1][:160]}")
    return wall


def compare(n: int, concurrency: int, latency_s: float, repeats: int, quick: bool = False) -> dict[str, Any]:
    if quick:
        return {"skipped": "--quick does not install peers (make bench does)"}
    pythons: dict[str, Path] = {}
    try:
        for name in PEERS:
            pythons[name] = ensure(name)
    except Unavailable as exc:
        return {"skipped": f"could not install the peers ({exc}); needs the package registry — rerun online"}
    out: dict[str, Any] = {"n": n, "concurrency": concurrency, "latency_s": latency_s, "repeats": repeats,
                           "bytecode": bytecode()}  # as the peers' pip-installed packages have theirs
    with BenchServer(ServerConfig(latency_s=latency_s)) as srv, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data, _ = meqsum_data(root / "data", n)
        chats, texts, n_requests = _jobs(n, root, data)
        out["requests"] = n_requests
        (root / "inspect_task.py").write_text(INSPECT_TASK % {"path": str(chats)}, encoding="utf-8")
        (root / "lm_tasks").mkdir()
        (root / "lm_tasks" / "clue_bench_meqsum.yaml").write_text(LM_EVAL_TASK % {"path": str(texts)}, encoding="utf-8")
        template = _template(root)
        base = srv.url + "/v1"
        env = {**os.environ, "BENCH_BASE_URL": base, "BENCH_API_KEY": "bench", "OPENAI_API_KEY": "bench", "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "INSPECT_LOG_DIR": str(root / "inspect-logs"), "NO_COLOR": "1"}
        commands = {
            "inspect": [str(pythons["inspect"].parent / "inspect"), "eval", "inspect_task.py",  # relative to cwd: Inspect refuses absolute globs
                        "--model", f"openai-api/bench/{MODEL_ID}", "--max-connections", str(concurrency), "--max-tokens", "200",
                        "--temperature", "0", "--display", "none", "--log-dir", str(root / "inspect-logs")],
            "lm_eval": [str(pythons["lm_eval"].parent / "lm_eval"), "--model", "local-chat-completions", "--model_args",
                        f"model={MODEL_ID},base_url={base}/chat/completions,num_concurrent={concurrency},max_retries=3,"
                        "tokenized_requests=False,tokenizer_backend=None", "--tasks", "clue_bench_meqsum", "--include_path",
                        str(root / "lm_tasks"), "--apply_chat_template", "--output_path", str(root / "lm-out")],
        }
        walls: dict[str, list[float]] = {"ours": [], "inspect": [], "lm_eval": []}
        errors: dict[str, str] = {}
        clue_run("openai", srv.url, data, root / "warm", root / "stores" / "warm.sqlite", template, "--dry-run", "--limit", str(n))
        for i in range(repeats):
            walls["ours"].append(clue_run("openai", srv.url, data, root / f"ours{i}", root / "stores" / f"ours{i}.sqlite", template,
                                          "--concurrency", str(concurrency), "--limit", str(n))["wall_s"])
            for name, cmd in commands.items():
                if name in errors:
                    continue
                srv.reset()
                try:
                    walls[name].append(_timed(cmd, env, root))
                    served = srv.stats()["served"]
                    if served < n_requests:
                        raise RuntimeError(f"the server answered {served} of {n_requests} requests")
                except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
                    errors[name] = f"{type(exc).__name__}: {exc}"
        out["ours_s"] = statistics.median(walls["ours"])
        out["ours_walls"] = walls["ours"]
        for name, spec in PEERS.items():
            if name in errors:
                out[name] = {"label": spec["label"], "error": errors[name]}
            else:
                out[name] = {"label": spec["label"], "wall_s": statistics.median(walls[name]), "walls": walls[name]}
    return out
