"""Issue 23 item 8: Slurm scale-out against servers that are already up (`--runtime none`).

A task must evaluate where the user said the server is: their `--port`, or each model's entry in
`--endpoints FILE` (several models, several servers, one submission). The array task itself runs here as
Slurm would start it (`python -m clue.scale.slurm_jobs task …`), against fake TGI servers on loopback.
With `--no-gpus` (or `--runtime none`) nothing says "1 GPU(s) each".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, chat_template_file
from tests.core.test_messages import fake_tool, one_line
from tests.core.test_reproduce import tokenizer_file
from tests.fakeserver import FakeServer

ZEPHYR, MISTRAL = ("zephyr-7b-beta", "HuggingFaceH4/zephyr-7b-beta"), ("Mistral-7B-Instruct-v0.1", "mistralai/Mistral-7B-Instruct-v0.1")


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "CLUE_", "SLURM", "OPENAI"))}
    # HF_HUB_OFFLINE stays unset: huggingface_hub would refuse the loopback TGI URLs
    return {**env, "PYTHONPATH": str(ROOT), "NO_PROXY": "127.0.0.1,localhost", "HF_HOME": str(tmp / "hf"), **extra}


def _clue(tmp: Path, *args: str, module: str = "clue", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=180,
                          env=env or _env(tmp), cwd=tmp)


def _loop_args(tmp: Path) -> list[str]:
    run_args = (f"--max-position-embeddings 4096 --tokenizer {tokenizer_file(tmp / 'tokenizer.json')} "
                f"--chat-template {chat_template_file(tmp)} --no-progress --max-attempts 1 --retry-base 0")
    return ["--synthetic", "--tasks", "meqsum", "--runs", str(tmp / "runs"), "--run-args", run_args]


def _submission(tmp: Path) -> Path:
    return tmp / "runs" / ".slurm" / "submissions" / "001"


def _task(tmp: Path, model: str) -> subprocess.CompletedProcess:
    return _clue(tmp, "task", str(_submission(tmp)), model, module="clue.scale.slurm_jobs")


def _endpoint_of(tmp: Path, name: str) -> str:
    return json.loads((tmp / "runs" / name / "run.json").read_text())["engine"]["endpoint"]


def test_runtime_none_uses_the_users_port(tmp_path):
    with FakeServer(model_id=ZEPHYR[1]) as srv:
        port = srv.url.rsplit(":", 1)[1]
        sub = _clue(tmp_path, "slurm", "submit", "--write-only", "--runtime", "none", "--",
                    "--models", ZEPHYR[0], "--port", port, *_loop_args(tmp_path))
        assert sub.returncode == 0, sub.stderr
        task = _task(tmp_path, ZEPHYR[0])
        assert task.returncode == 0, task.stdout + task.stderr
        assert srv.stats.completed > 0
    assert _endpoint_of(tmp_path, ZEPHYR[0]) == srv.url
    assert "--port" not in (_submission(tmp_path) / "array-g1.sbatch").read_text()


def test_endpoints_file_sends_each_model_to_its_own_server(tmp_path):
    with FakeServer(model_id=ZEPHYR[1]) as a, FakeServer(model_id=MISTRAL[1]) as b:
        endpoints = tmp_path / "endpoints.yaml"
        endpoints.write_text(f"{ZEPHYR[0]}: {a.url}/\n{MISTRAL[1]}: {b.url}\n")  # a name and an HF id
        sub = _clue(tmp_path, "slurm", "submit", "--write-only", "--runtime", "none", "--", "--endpoints", str(endpoints),
                    *_loop_args(tmp_path))
        assert sub.returncode == 0, sub.stderr
        submitted = json.loads((_submission(tmp_path) / "submit.json").read_text())
        assert submitted["pending"] == [ZEPHYR[0], MISTRAL[0]]  # the models the map names, no other
        for name in (ZEPHYR[0], MISTRAL[0]):
            task = _task(tmp_path, name)
            assert task.returncode == 0, task.stdout + task.stderr
        assert a.stats.completed > 0 and b.stats.completed > 0 and a.stats.completed == b.stats.completed
    assert _endpoint_of(tmp_path, ZEPHYR[0]) == a.url and _endpoint_of(tmp_path, MISTRAL[0]) == b.url


def test_endpoint_maps_that_cannot_work_are_refused_at_submit(tmp_path):
    endpoints = tmp_path / "endpoints.yaml"
    endpoints.write_text(f"{ZEPHYR[0]}: http://gpu-node-3:8080\n")

    def submit(*args: str) -> str:
        proc = _clue(tmp_path, "slurm", "submit", "--write-only", *args)
        return one_line(proc)

    line = submit("--runtime", "none", "--", "--endpoints", str(endpoints), "--models", f"{ZEPHYR[0]} {MISTRAL[0]}")
    assert "no URL for Mistral-7B-Instruct-v0.1" in line
    assert "--runtime none" in submit("--", "--endpoints", str(endpoints))  # docker starts servers itself
    endpoints.write_text(f"{ZEPHYR[0]}: gpu-node-3:8080\n")
    assert "not an http(s) URL" in submit("--runtime", "none", "--", "--endpoints", str(endpoints))
    endpoints.write_text("no-such-model: http://x:1\n")
    assert "not in the roster" in submit("--runtime", "none", "--", "--endpoints", str(endpoints))
    assert not (tmp_path / "runs" / ".slurm" / "submissions").exists()


def test_no_gpus_is_not_announced_as_one_gpu_each(tmp_path):
    bin_dir = fake_tool(tmp_path / "bin", "sbatch", "", code=0)
    (bin_dir / "sbatch").write_text("#!/bin/sh\necho 4242\n")
    env = _env(tmp_path, PATH=f"{bin_dir}:{os.environ['PATH']}")
    for flags, why in ((["--no-gpus"], "--no-gpus"), (["--runtime", "none"], "--runtime none")):
        runs = tmp_path / f"runs{len(flags)}"
        proc = _clue(tmp_path, "slurm", "submit", *flags, "--", "--models", ZEPHYR[0], "--synthetic", "--runs", str(runs), env=env)
        assert proc.returncode == 0, proc.stderr
        script = (runs / ".slurm" / "submissions" / "001" / "array-g1.sbatch").read_text()
        for text in (proc.stdout, script):
            assert "GPU(s) each" not in text and f"no GPU requested ({why})" in text, text
        assert "--gres" not in script
    proc = _clue(tmp_path, "slurm", "submit", "--", "--models", ZEPHYR[0], "--synthetic", "--runs", str(tmp_path / "r3"), env=env)
    assert "1 GPU(s) each" in proc.stdout, proc.stdout + proc.stderr
