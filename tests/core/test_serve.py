"""Container lifecycle against the docker shim (tests/docker_shim.py runs tests/fakeserver instead).

Checks the exact `docker run` command, health waiting, the /info check, and that the container is
removed on every failure path: an exiting container, a health timeout, a wrong revision, Ctrl-C
and SIGTERM. The HF token never appears on a command line or in anything printed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from clue.roster import load_roster
from clue.serving import IMAGES, ServeOptions, run_argv, serving
from tests.conftest import ROOT, until
from tests.core.test_cli_errors import assert_one_line_error, free_port

SHIM = ROOT / "tests" / "docker_shim.py"
SHIM_CMD = shlex.join([sys.executable, str(SHIM)])  # the shim under this interpreter (no reliance on PATH)
SECRET = "hf_SYNTHETICtokenDoNotLog123"
LLAMA = "Meta-Llama-3-8B-Instruct"


class Shim:
    """The shim's state folder: its call log, and cleanup of fake servers it started."""

    def __init__(self, folder: Path):
        self.dir = folder
        self.env = {"DOCKER_SHIM_DIR": str(folder)}

    def calls(self) -> list[list[str]]:
        path = self.dir / "calls.jsonl"
        return [json.loads(line)["argv"] for line in path.read_text().splitlines()] if path.is_file() else []

    def commands(self) -> list[tuple[str, str]]:
        """(docker subcommand, container name) for run / rm."""
        out = []
        for argv in self.calls():
            if argv[0] == "run":
                out.append(("run", argv[argv.index("--name") + 1]))
            elif argv[0] == "rm":
                out.append(("rm", argv[-1]))
        return out

    def stats(self) -> list[dict]:
        path = self.dir / "stats.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []

    def cleanup(self) -> None:
        for state in self.dir.glob("*.json"):
            pid = json.loads(state.read_text()).get("pid")
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture
def shim(tmp_path):
    s = Shim(tmp_path / "shim")
    yield s
    s.cleanup()


def clue_serve(shim: Shim, *args: str, behaviour: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DOCKER"))}
    env.update(shim.env, PYTHONPATH=str(ROOT), HF_TOKEN=SECRET, DOCKER_SHIM_BEHAVIOUR=json.dumps(behaviour or {}))
    return subprocess.run([sys.executable, "-m", "clue", "serve", *args, "--docker", SHIM_CMD, "--poll", "0.05"],
                          capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)


def test_exact_tgi_command():
    model = load_roster().get(LLAMA)
    argv = run_argv(model, ServeOptions(port=8080, hf_cache="/cache/hf"))
    assert argv == [
        "docker", "run", "-d", "--name", "clue-meta-llama-3-8b-instruct", "--label", "clue-kit.model=Meta-Llama-3-8B-Instruct",
        "--gpus", "all", "--shm-size", "1g", "-p", "127.0.0.1:8080:80", "-v", "/cache/hf:/data",
        "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE",
        "ghcr.io/huggingface/text-generation-inference:3.3.7",
        "--model-id", "meta-llama/Meta-Llama-3-8B-Instruct", "--num-shard", "1",
        "--max-input-tokens", "8191", "--max-total-tokens", "8192", "--usage-stats", "off",
    ]


def test_pinned_images_and_overrides(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    model = load_roster().get("Mixtral-8x22B-Instruct-v0.1")
    argv = run_argv(model, ServeOptions(port=9000, image="ghcr.io/huggingface/text-generation-inference:3.3.6", num_shard=4))
    assert "ghcr.io/huggingface/text-generation-inference:3.3.6" in argv
    assert argv[argv.index("--num-shard") + 1] == "4"
    assert argv[argv.index("--max-input-tokens") + 1] == "65535"
    assert SECRET not in " ".join(argv)
    for image in IMAGES.values():
        assert not image.endswith(":latest") and ":" in image


def test_exact_vllm_command():
    model = load_roster().get("Mistral-7B-Instruct-v0.2")
    argv = run_argv(model, ServeOptions(engine="vllm", port=8000, hf_cache="/cache/hf"))
    assert argv == [
        "docker", "run", "-d", "--name", "clue-mistral-7b-instruct-v0.2", "--label", "clue-kit.model=Mistral-7B-Instruct-v0.2",
        "--gpus", "all", "--shm-size", "1g", "-p", "127.0.0.1:8000:8000", "-v", "/cache/hf:/root/.cache/huggingface",
        "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE", "-e", "VLLM_NO_USAGE_STATS=1", "-e", "DO_NOT_TRACK=1",
        "vllm/vllm-openai:v0.30.0",
        "--model", "mistralai/Mistral-7B-Instruct-v0.2", "--served-model-name", "mistralai/Mistral-7B-Instruct-v0.2",
        "--tensor-parallel-size", "1", "--max-model-len", "32768", "--seed", "0", "--generation-config", "vllm",
    ]


def test_pinned_revision_is_passed(tmp_path):
    sha = "a" * 40
    roster = tmp_path / "r.yaml"
    roster.write_text(f"""models:
  - {{name: m, published: null, hf_id: org/m, revision: "{sha}", instruct: false, has_system: false,
      context_length: 2048, num_shard: 2, type: general, dtype: bfloat16}}
""")
    argv = run_argv(load_roster(roster).get("m"), ServeOptions())
    assert argv[argv.index("--revision") + 1] == sha and argv[-2:] == ["--dtype", "bfloat16"]


def test_up_status_down_with_the_shim(shim):
    port = str(free_port())
    up = clue_serve(shim, "up", LLAMA, "--port", port)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["endpoint"] == f"http://127.0.0.1:{port}"
    status = clue_serve(shim, "status", LLAMA, "--port", port)
    assert status.returncode == 0 and json.loads(status.stdout)["matches_roster"] is True
    down = clue_serve(shim, "down", LLAMA, "--port", port)
    assert down.returncode == 0 and "stopped and removed" in down.stderr
    assert shim.commands() == [("run", "clue-meta-llama-3-8b-instruct"), ("rm", "clue-meta-llama-3-8b-instruct")]
    run = next(a for a in shim.calls() if a[0] == "run")
    assert run[run.index("-p") + 1] == f"127.0.0.1:{port}:80" and "-e" in run and "HF_TOKEN" in run
    everything = (shim.dir / "calls.jsonl").read_text() + up.stdout + up.stderr + status.stdout + down.stderr
    assert SECRET not in everything
    after = clue_serve(shim, "status", LLAMA, "--port", port)
    assert after.returncode == 1 and json.loads(after.stdout)["exists"] is False


def test_container_that_exits_is_reported_with_its_log_and_removed(shim):
    proc = clue_serve(shim, "up", LLAMA, "--port", str(free_port()), behaviour={"meta-llama/Meta-Llama-3-8B-Instruct": "exit"})
    assert_one_line_error(proc, "exited with code 1 before becoming healthy", "last log lines are above")
    assert "| fake: the model could not be loaded (CUDA out of memory)" in proc.stderr
    assert shim.commands()[-1] == ("rm", "clue-meta-llama-3-8b-instruct")


def test_health_timeout_removes_the_container(shim):
    proc = clue_serve(shim, "up", LLAMA, "--port", str(free_port()), "--health-timeout", "0.5",
                      behaviour={"meta-llama/Meta-Llama-3-8B-Instruct": "unhealthy"})
    assert_one_line_error(proc, "was not healthy", "/health after", "--health-timeout")
    assert "| loading weights" in proc.stderr
    assert shim.commands() == [("run", "clue-meta-llama-3-8b-instruct"), ("rm", "clue-meta-llama-3-8b-instruct")]


def test_wrong_revision_is_refused_and_removed(shim, tmp_path):
    roster = tmp_path / "r.yaml"
    roster.write_text(f"""models:
  - {{name: pinned, published: null, hf_id: org/pinned, revision: "{'b' * 40}", instruct: true, has_system: true,
      context_length: 4096, num_shard: 1, type: general}}
""")
    proc = clue_serve(shim, "up", "pinned", "--port", str(free_port()), "--roster", str(roster))
    assert_one_line_error(proc, "at revision 0000000000000000000000000000000000000000", f"roster pins {'b' * 40}")
    assert shim.commands() == [("run", "clue-pinned"), ("rm", "clue-pinned")]


def test_leftover_container_is_replaced(shim):
    port = str(free_port())
    assert clue_serve(shim, "up", LLAMA, "--port", port).returncode == 0
    again = clue_serve(shim, "up", LLAMA, "--port", port)
    assert again.returncode == 0 and "removing a leftover container" in again.stderr
    clue_serve(shim, "down", LLAMA, "--port", port)
    assert [c for c, _ in shim.commands()] == ["run", "rm", "run", "rm"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_waiting_removes_the_container(shim, sig):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "DOCKER"))}
    env.update(shim.env, PYTHONPATH=str(ROOT), DOCKER_SHIM_BEHAVIOUR=json.dumps({"meta-llama/Meta-Llama-3-8B-Instruct": "unhealthy"}))
    # SIGINT as a terminal's Ctrl-C delivers it: a suite started in the background (`make test &`, nohup, CI) inherits
    # SIGINT ignored, and Python then installs no KeyboardInterrupt handler in the child, which would ignore it too
    proc = subprocess.Popen([sys.executable, "-m", "clue", "serve", "up", LLAMA, "--docker", SHIM_CMD, "--poll", "0.05",
                             "--port", str(free_port())], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        def polling_health() -> bool:  # `docker inspect` after `docker run`: the container is started, clue waits
            commands = [argv[0] for argv in shim.calls()]
            return "run" in commands and "inspect" in commands[commands.index("run"):]

        until(polling_health, "clue polling the started container's health", proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert shim.commands() == [("run", "clue-meta-llama-3-8b-instruct"), ("rm", "clue-meta-llama-3-8b-instruct")]


def test_serving_removes_the_container_when_the_block_fails(shim, monkeypatch):
    monkeypatch.setenv("DOCKER_SHIM_DIR", str(shim.dir))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    opts = ServeOptions(docker=SHIM_CMD, port=free_port(), poll_s=0.05)
    model = load_roster().get(LLAMA)
    with pytest.raises(RuntimeError, match="task failed"):
        with serving(model, opts) as info:
            assert info["model_id"] == "meta-llama/Meta-Llama-3-8B-Instruct"
            raise RuntimeError("task failed")
    assert shim.commands() == [("run", "clue-meta-llama-3-8b-instruct"), ("rm", "clue-meta-llama-3-8b-instruct")]
    assert shim.stats()[0]["stats"]["requests"] == 0


def test_missing_docker_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER")}
    proc = subprocess.run([sys.executable, "-m", "clue", "serve", "up", LLAMA, "--docker", str(tmp_path / "no-docker")],
                          capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60)
    assert_one_line_error(proc, "not found", "DOCKER=")
