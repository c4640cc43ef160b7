"""`make reproduce` end to end: two roster models, the docker shim starting the fake TGI server,
bundled synthetic data; then resume runs.

1. Llama's server fails 30 % of requests (no retries): its run fails midway, its container is still
   removed, Mistral's runs; a report and the verification come out; make exits non-zero.
2. Re-run: Llama is served again and sends exactly the requests that failed; Mistral is skipped.
3. Re-run: nothing is served, nothing sent.
4. FORCE=1: both are served again and each server counts 0 requests (all answers come from the store).
Plus: SIGTERM during a run removes the container and says how to resume.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, chat_template_file, until
from tests.core.test_cli_errors import free_port
from tests.core.test_serve import SECRET, SHIM_CMD, Shim

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make not installed")

LLAMA, MISTRAL = "meta-llama/Meta-Llama-3-8B-Instruct", "mistralai/Mistral-7B-Instruct-v0.2"
C_LLAMA, C_MISTRAL = "clue-meta-llama-3-8b-instruct", "clue-mistral-7b-instruct-v0.2"


def stored_answers(store: Path) -> int:
    """Completions in a store another process is writing (0 while it does not exist or is locked)."""
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM completions").fetchone()[0]
    except sqlite3.Error:
        return 0


def fake_venv(folder: Path) -> Path:
    """A VENV for the Makefile whose python/clue are this interpreter (no install, no network)."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "clue").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m clue "$@"\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    (folder / ".installed").touch()  # newer than pyproject.toml: `install` is up to date
    return folder


def tokenizer_file(path: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return path


class Setup:
    def __init__(self, tmp: Path, shim: Shim):
        self.tmp, self.shim = tmp, shim
        self.venv = fake_venv(tmp / "venv")
        self.runs, self.report = tmp / "runs", tmp / "report"
        self.port = free_port()
        # one template and a word-level tokenizer for both models (their own come from the Hub in real runs);
        # MPE 4096 fits the fake server's 4095-token input limit
        self.run_args = (f"--max-position-embeddings 4096 --tokenizer {tokenizer_file(tmp / 'tokenizer.json')} "
                         f"--chat-template {chat_template_file(tmp)} --no-progress --max-attempts 1 --retry-base 0")

    def make(self, *extra: str, behaviour: dict | None = None, wait: bool = True):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("MAKE", "MFLAGS", "HF_", "DOCKER", "OPENAI", "CLUE_"))}
        # HF_HUB_OFFLINE must stay unset: huggingface_hub then refuses even loopback TGI URLs
        env.update(self.shim.env, PYTHONPATH=str(ROOT), HF_TOKEN=SECRET, CLUE_STORE=str(self.tmp / "store.sqlite"),
                   DOCKER_SHIM_BEHAVIOUR=json.dumps(behaviour or {}))
        argv = ["make", "--no-print-directory", "-C", str(ROOT), "reproduce", f"VENV={self.venv}",
                "MODELS=Meta-Llama-3-8B-Instruct Mistral-7B-Instruct-v0.2", f"DOCKER={SHIM_CMD}", "SYNTHETIC=1",
                f"PORT={self.port}", f"RUNS={self.runs}", f"REPORT={self.report}", "SERVE_ARGS=--poll 0.05",
                f"RUN_ARGS={self.run_args}", *extra]
        if not wait:
            return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=240)

    def run_stats(self, model_dir: str) -> dict:
        return json.loads((self.runs / model_dir / "run.json").read_text())["stats"]


@pytest.fixture
def setup(tmp_path):
    shim = Shim(tmp_path / "shim")
    yield Setup(tmp_path, shim)
    shim.cleanup()


def test_make_reproduce_end_to_end_and_resume(setup):
    shim = setup.shim
    # 1. a task fails midway for Llama: 30 % of its requests get HTTP 500, no retries
    first = setup.make(behaviour={LLAMA: ["--fault", "500=0.3", "--seed", "7"]})
    out = first.stdout + first.stderr
    assert first.returncode != 0, out
    assert shim.commands() == [("run", C_LLAMA), ("rm", C_LLAMA), ("run", C_MISTRAL), ("rm", C_MISTRAL)], out
    llama = json.loads((setup.runs / "Meta-Llama-3-8B-Instruct" / "reproduce.json").read_text())
    assert llama["status"] == "failed" and llama["exit_code"] == 3
    assert json.loads((setup.runs / "Mistral-7B-Instruct-v0.2" / "reproduce.json").read_text())["status"] == "done"
    failed = setup.run_stats("Meta-Llama-3-8B-Instruct")["failed"]
    assert failed > 0
    assert (setup.report / "index.html").is_file() and (setup.report / "results.csv").is_file()
    verdicts = (setup.report / "verify.txt").read_text()
    assert "Meta-Llama-3-8B-Instruct" in verdicts and "Mistral-7B-Instruct-v0.2" in verdicts and "deviates" in verdicts
    assert "reproduce summary" in first.stdout and "failed" in first.stdout
    served = [s["stats"]["requests"] for s in shim.stats()]
    assert all(n > 0 for n in served)

    # 2. resume: only Llama is served again, and it sends exactly the requests that failed
    second = setup.make()
    assert second.returncode == 0, second.stdout + second.stderr
    assert shim.commands()[4:] == [("run", C_LLAMA), ("rm", C_LLAMA)]
    assert shim.stats()[2]["stats"]["requests"] == failed
    assert setup.run_stats("Meta-Llama-3-8B-Instruct")["sent"] == failed
    assert "finished earlier" in second.stdout

    # 3. nothing left to do: no container, no request
    third = setup.make()
    assert third.returncode == 0, third.stdout + third.stderr
    assert len(shim.commands()) == 6 and len(shim.stats()) == 3

    # 4. FORCE=1 re-runs both; every answer comes from the store: each server counts 0 requests
    fourth = setup.make("FORCE=1")
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    assert shim.commands()[6:] == [("run", C_LLAMA), ("rm", C_LLAMA), ("run", C_MISTRAL), ("rm", C_MISTRAL)]
    assert [s["stats"]["requests"] for s in shim.stats()[3:]] == [0, 0]

    # the token was passed by name only, and never written anywhere
    runs = [a for a in shim.calls() if a[0] == "run"]
    assert all(a[a.index("-e") + 1] == "HF_TOKEN" for a in runs)
    written = "".join(p.read_text(errors="replace") for p in setup.tmp.rglob("*") if p.is_file() and p.suffix != ".sqlite")
    assert SECRET not in written + "".join(r.stdout + r.stderr for r in (first, second, third, fourth))


def test_sigterm_during_a_run_removes_the_container(setup):
    # Llama's server answers one request and holds the rest: the run cannot finish before the signal
    proc = setup.make(behaviour={LLAMA: ["--answer-limit", "1"]}, wait=False)
    try:
        until(lambda: stored_answers(setup.tmp / "store.sqlite") > 0, "the first stored answer: requests in flight", proc)
        os.killpg(proc.pid, signal.SIGTERM)  # make, the loop and `clue run`, as a terminal's Ctrl-C would reach them
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert setup.shim.commands() == [("run", C_LLAMA), ("rm", C_LLAMA)], out + err
    assert "run the same command again to resume" in err


def _make(setup: Setup, *targets_and_vars: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "HF_", "DOCKER", "OPENAI", "CLUE_"))}
    env.update(setup.shim.env, PYTHONPATH=str(ROOT), CLUE_STORE=str(setup.tmp / "store.sqlite"))
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), f"VENV={setup.venv}", f"DOCKER={SHIM_CMD}",
                           f"PORT={setup.port}", f"RUNS={setup.runs}", f"REPORT={setup.report}", "SERVE_ARGS=--poll 0.05",
                           *targets_and_vars], env=env, capture_output=True, text=True, timeout=120)


def test_help_lists_every_target():
    out = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "help"], capture_output=True, text=True).stdout
    for target in ("reproduce", "serve-up", "serve-down", "eval", "report", "verify", "data", "demo", "test", "bench",
                   "docker-build", "install", "clean"):
        assert f"make {target} " in out, target


def test_by_hand_with_vllm(setup):
    """serve-up → eval → serve-down → report/verify, ENGINE=vllm (OpenAI route), one task."""
    common = ("ENGINE=vllm", "MODEL=Mistral-7B-Instruct-v0.2", "TASKS=meqsum", "SYNTHETIC=1", "RUN_ARGS=--no-progress")
    up = _make(setup, "serve-up", *common)
    assert up.returncode == 0, up.stdout + up.stderr
    assert '"engine": "openai"' in up.stdout
    ev = _make(setup, "eval", *common)
    assert ev.returncode == 0, ev.stdout + ev.stderr
    assert "--engine openai" in ev.stderr and f"http://127.0.0.1:{setup.port}/v1" in ev.stderr
    down = _make(setup, "serve-down", *common)
    assert down.returncode == 0, down.stdout + down.stderr
    assert setup.shim.commands() == [("run", C_MISTRAL), ("rm", C_MISTRAL)]
    run = next(a for a in setup.shim.calls() if a[0] == "run")
    assert "vllm/vllm-openai:v0.30.0" in run and run[run.index("--served-model-name") + 1] == MISTRAL
    assert setup.shim.stats()[0]["stats"]["completed"] > 0
    assert json.loads((setup.runs / "Mistral-7B-Instruct-v0.2" / "scores.json").read_text())["protocol"] == "clue-2025"
    report = _make(setup, "report")
    assert report.returncode == 0 and (setup.report / "index.html").is_file(), report.stderr
    verify = _make(setup, "verify")
    assert verify.returncode in (0, 2) and "Mistral-7B-Instruct-v0.2" in verify.stdout  # make exits 2 when verify deviates


def test_loop_skips_what_it_cannot_run(setup, monkeypatch, capsys):
    from clue import reproduce

    monkeypatch.setenv("DOCKER_SHIM_DIR", str(setup.shim.dir))
    base = ["--docker", SHIM_CMD, "--runs", str(setup.runs), "--no-report", "--port", str(setup.port)]
    # a base model cannot go through vLLM's OpenAI route: skipped before any container starts
    assert reproduce.main(["--models", "Mistral-7B-v0.1", "--engine", "vllm", "--synthetic", *base]) == 0
    assert "base model" in capsys.readouterr().out
    # no data for any task: skipped, each missing task named with how to get it
    assert reproduce.main(["--models", "zephyr-7b-beta", "--data-dir", str(setup.tmp / "empty"), *base]) == 0
    captured = capsys.readouterr()
    assert "no task has its data" in captured.out and "clue data fetch mednli" in captured.err
    # an ambiguous roster entry named explicitly is an error up front
    assert reproduce.main(["--models", "llama2-7b", "--synthetic", *base]) == 2
    assert "no hf_id" in capsys.readouterr().err
    assert setup.shim.calls() == []


def test_llamacpp_takes_the_openai_route_protocol_and_skips_base_models(setup, monkeypatch, capsys):
    from clue import reproduce
    from clue.benchmarks.clinicbench import BENCHMARK as CLINICBENCH
    from clue.benchmarks.clue import BENCHMARK as CLUE

    # CLUE names no llamacpp protocol: it takes vllm's (the other OpenAI-compatible server), clue-2025, not tgi's clue-v3
    assert reproduce.protocol_for(CLUE, "llamacpp") == "clue-2025" and reproduce.protocol_for(CLUE, "tgi") == "clue-v3"
    assert reproduce.protocol_for(CLINICBENCH, "llamacpp") == "clinicbench"
    monkeypatch.setenv("DOCKER_SHIM_DIR", str(setup.shim.dir))
    base = ["--docker", SHIM_CMD, "--runs", str(setup.runs), "--no-report", "--port", str(setup.port), "--synthetic"]
    assert reproduce.main(["--models", "Mistral-7B-v0.1", "--engine", "llamacpp", *base]) == 0
    assert "base model: the OpenAI route (llamacpp)" in capsys.readouterr().out
    # an instruct model without a GGUF: one line saying how to give one, before any container starts
    assert reproduce.main(["--models", "Mistral-7B-Instruct-v0.1", "--engine", "llamacpp", *base]) == 1
    assert "has no GGUF file" in capsys.readouterr().err
    assert setup.shim.calls() == []
