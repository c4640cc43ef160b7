"""Serving without a real engine: exact llama.cpp and podman commands, GPU flags, the GGUF lookup, the /props check,
owners and orphans, `down --all`, the port check and the one-line mapping of real docker/podman failures.

The real-engine counterparts are in test_podman_real.py; the TGI/vLLM docker goldens stay in test_serve.py.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from clue.errors import ConfigError, EndpointError
from clue.roster import load_roster
from clue.serving import ServeOptions, check_served, gpu_flags, owner_alive, owner_id, run_argv
from clue.serving.container import _run_failed
from tests.conftest import ROOT
from tests.core.test_cli_errors import assert_one_line_error, free_port
from tests.core.test_serve import LLAMA, SHIM_CMD, Shim, clue_serve
from tests.fakeserver import FakeServer

SMALL = ROOT / "clue" / "benchmarks" / "clue" / "roster-small.yaml"
SHA = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture
def shim(tmp_path):
    s = Shim(tmp_path / "shim")
    yield s
    s.cleanup()


def unpinned_roster(tmp_path: Path) -> Path:
    """roster-small.yaml without the sha256 pin (the test files are not the real GGUF)."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL.read_text().replace(f"      sha256: {SHA}\n", ""))
    return path


def gguf_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "gguf"
    folder.mkdir(exist_ok=True)
    (folder / GGUF_NAME).write_bytes(b"GGUF test bytes")
    return folder


def test_exact_llamacpp_command_docker_and_podman(tmp_path):
    model = load_roster(unpinned_roster(tmp_path)).get("smollm2-135m")
    folder = gguf_dir(tmp_path)
    tail = ["ghcr.io/ggml-org/llama.cpp:server-b11347", "-m", f"/models/{GGUF_NAME}", "--host", "0.0.0.0", "--port", "8080",
            "--alias", "HuggingFaceTB/SmolLM2-135M-Instruct", "-c", "8192", "--parallel", "1", "--jinja", "--seed", "0"]
    head = ["run", "-d", "--name", "clue-smollm2-135m", "--label", "clue-kit.model=smollm2-135m"]
    ports = ["-p", "127.0.0.1:9123:8080", "-v", f"{folder / GGUF_NAME}:/models/{GGUF_NAME}:ro"]
    for docker in ("docker", "podman"):
        argv = run_argv(model, ServeOptions(engine="llamacpp", docker=docker, port=9123, gguf_dir=str(folder)))
        assert argv == [docker, *head, *ports, *tail]  # CPU by default: the official `server` image has no GPU build
    gpu = run_argv(model, ServeOptions(engine="llamacpp", docker="podman", port=9123, gguf_dir=str(folder), gpus="all",
                                       image="ghcr.io/ggml-org/llama.cpp:server-cuda-b11347"), owner="h:1:2")
    assert gpu == ["podman", *head, "--label", "clue-kit.owner=h:1:2", "--device", "nvidia.com/gpu=all", *ports,
                   "ghcr.io/ggml-org/llama.cpp:server-cuda-b11347", *tail[1:], "--n-gpu-layers", "999"]


def test_exact_tgi_and_vllm_commands_under_podman():
    roster = load_roster()
    tgi = run_argv(roster.get(LLAMA), ServeOptions(docker="podman", port=8080, hf_cache="/cache/hf"))
    assert tgi == [
        "podman", "run", "-d", "--name", "clue-meta-llama-3-8b-instruct", "--label", "clue-kit.model=Meta-Llama-3-8B-Instruct",
        "--device", "nvidia.com/gpu=all", "--shm-size", "1g", "-p", "127.0.0.1:8080:80", "-v", "/cache/hf:/data",
        "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE",
        "ghcr.io/huggingface/text-generation-inference:3.3.7",
        "--model-id", "meta-llama/Meta-Llama-3-8B-Instruct", "--num-shard", "1",
        "--max-input-tokens", "8191", "--max-total-tokens", "8192", "--usage-stats", "off",
    ]
    vllm = run_argv(roster.get("Mistral-7B-Instruct-v0.2"), ServeOptions(engine="vllm", docker="sudo /usr/bin/podman", port=8000,
                                                                          hf_cache="/cache/hf", gpus="device=0,1"))
    assert vllm == [
        "sudo", "/usr/bin/podman", "run", "-d", "--name", "clue-mistral-7b-instruct-v0.2", "--label", "clue-kit.model=Mistral-7B-Instruct-v0.2",
        "--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=1", "--shm-size", "1g", "-p", "127.0.0.1:8000:8000",
        "-v", "/cache/hf:/root/.cache/huggingface", "-e", "HF_TOKEN", "-e", "HF_HUB_OFFLINE", "-e", "VLLM_NO_USAGE_STATS=1",
        "-e", "DO_NOT_TRACK=1", "vllm/vllm-openai:v0.30.0",
        "--model", "mistralai/Mistral-7B-Instruct-v0.2", "--served-model-name", "mistralai/Mistral-7B-Instruct-v0.2",
        "--tensor-parallel-size", "1", "--max-model-len", "32768", "--seed", "0", "--generation-config", "vllm",
    ]


@pytest.mark.parametrize("docker, gpus, flags", [
    ("docker", None, ["--gpus", "all"]),
    ("docker", "none", []),
    ("docker", '"device=1"', ["--gpus", '"device=1"']),
    ("podman", "2", ["--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=1"]),
    ("podman", "device=GPU-3a1b", ["--device", "nvidia.com/gpu=GPU-3a1b"]),
    ("podman", "none", []),
])
def test_gpu_flags_per_cli(docker, gpus, flags):
    assert gpu_flags(ServeOptions(docker=docker, gpus=gpus)) == flags


def test_podman_refuses_a_gpus_value_it_cannot_express():
    with pytest.raises(ConfigError) as info:
        gpu_flags(ServeOptions(docker="podman", gpus="capabilities=compute"))
    assert "no podman equivalent" in info.value.line() and "--no-gpus" in info.value.line()


def test_no_gpus_flag_reaches_the_command(tmp_path):
    out = subprocess.run([sys.executable, "-m", "clue", "serve", "command", LLAMA, "--no-gpus", "--docker", "podman"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and "--gpus" not in out.stdout and "nvidia.com/gpu" not in out.stdout, out.stderr


def test_gguf_lookup_one_line_errors(tmp_path):
    model = load_roster(SMALL).get("smollm2-135m")
    with pytest.raises(ConfigError) as info:  # not in --gguf-dir
        run_argv(model, ServeOptions(engine="llamacpp", gguf_dir=str(tmp_path)))
    assert f"--gguf-dir {tmp_path} has no {GGUF_NAME}" in info.value.line() and "Hugging Face cache" in info.value.line()
    with pytest.raises(ConfigError) as info:  # not in an (empty) HF cache, download not allowed: both ways named
        run_argv(model, ServeOptions(engine="llamacpp", hf_cache=str(tmp_path / "hf")))
    line = info.value.line()
    assert "is not in the Hugging Face cache" in line and "--gguf-dir DIR" in line and "--download-gguf" in line
    with pytest.raises(ConfigError) as info:  # the wrong bytes under the right name
        run_argv(model, ServeOptions(engine="llamacpp", gguf_dir=str(gguf_dir(tmp_path))))
    assert f"the roster pins {SHA}" in info.value.line() and "\n" not in info.value.line()


def test_gguf_from_the_hf_cache_at_the_pinned_revision(tmp_path):
    """A cache laid out as huggingface_hub writes it: the snapshot file links to a blob named by its sha256."""
    import hashlib

    data = b"GGUF fake weights"
    sha = hashlib.sha256(data).hexdigest()
    rev = "ab810cf68114990406fdf996510dd3d3c6adbdf5"
    repo = tmp_path / "hf" / "hub" / "models--QuantFactory--SmolLM2-135M-Instruct-GGUF"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / sha).write_bytes(data)
    (repo / "snapshots" / rev).mkdir(parents=True)
    (repo / "snapshots" / rev / GGUF_NAME).symlink_to(Path("../..") / "blobs" / sha)
    roster = tmp_path / "r.yaml"
    roster.write_text(SMALL.read_text().replace(SHA, sha))
    argv = run_argv(load_roster(roster).get("smollm2-135m"), ServeOptions(engine="llamacpp", hf_cache=str(tmp_path / "hf")))
    assert argv[argv.index("-v") + 1] == f"{repo / 'blobs' / sha}:/models/{GGUF_NAME}:ro"  # the blob itself: links do not cross mounts


PROPS = {"model_path": f"/models/{GGUF_NAME}", "build_info": "b11347-abc", "total_slots": 1, "chat_template": "{{ messages }}",
         "default_generation_settings": {"n_ctx": 8192}}


@pytest.mark.parametrize("props, needle", [
    ({**PROPS, "model_path": "/models/other.gguf"}, "the container loaded '/models/other.gguf', not '/models/SmolLM2-135M-Instruct.Q4_1.gguf'"),
    ({**PROPS, "default_generation_settings": {"n_ctx": 2048}}, "context is 2048 tokens, the roster asks for 8192"),
    (None, "/props answered HTTP 404"),
])
def test_llamacpp_check_refuses_another_model(tmp_path, props, needle):
    model = load_roster(SMALL).get("smollm2-135m")
    with FakeServer(model_id="HuggingFaceTB/SmolLM2-135M-Instruct", tgi=False, props=props) as srv:
        with pytest.raises(EndpointError) as info:
            check_served(model, ServeOptions(engine="llamacpp", port=int(srv.url.rsplit(":", 1)[1])))
    assert needle in info.value.line()


def test_llamacpp_check_records_the_template_and_build():
    model = load_roster(SMALL).get("smollm2-135m")
    with FakeServer(model_id="HuggingFaceTB/SmolLM2-135M-Instruct", tgi=False, props=PROPS) as srv:
        info = check_served(model, ServeOptions(engine="llamacpp", port=int(srv.url.rsplit(":", 1)[1])))
    assert info["build_info"] == "b11347-abc" and info["n_ctx"] == 8192 and info["chat_template"] == "{{ messages }}"
    # `printf %s "{{ messages }}" | sha256sum`
    assert info["chat_template_sha256"] == "f24189f08c85a1eb19a737306c3a13e85462ee33d964f28108d64a2485fa2171"
    with FakeServer(model_id="someone/else", tgi=False, props=PROPS) as srv, pytest.raises(EndpointError) as err:
        check_served(model, ServeOptions(engine="llamacpp", port=int(srv.url.rsplit(":", 1)[1])))
    assert "lists ['someone/else'], not 'HuggingFaceTB/SmolLM2-135M-Instruct'" in err.value.line()


def test_owner_liveness():
    assert owner_alive(owner_id()) is True
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    gone = owner_id(child.pid)
    child.wait()  # reaped: the pid is free
    assert owner_alive(gone) is False
    host, pid, start = owner_id().split(":")
    assert owner_alive(f"{host}:{pid}:{int(start) + 1}") is False  # same pid, another process (pid reuse)
    assert owner_alive(f"another-host-{host}:{pid}:{start}") is None
    assert owner_alive("garbage") is False


@pytest.mark.parametrize("stderr, needle, fix", [
    ("Error: cannot listen on the TCP port: listen tcp4 127.0.0.1:9123: bind: address already in use\n",  # podman 4.3 (real)
     "port 9123 on 127.0.0.1 is already in use", "--port N"),
    ("docker: Error response from daemon: driver failed programming external connectivity on endpoint clue-x (0a1b): "
     "Bind for 127.0.0.1:9123 failed: port is already allocated.\n", "port 9123 on 127.0.0.1 is already in use", "--port N"),
    ("Trying to pull ghcr.io/ggml-org/llama.cpp:server-b11347...\nError: initializing source docker://ghcr.io/ggml-org/llama.cpp:"
     "server-b11347: pinging container registry ghcr.io: Get \"https://ghcr.io/v2/\": dial tcp: lookup ghcr.io: no such host\n",
     "could not be pulled: Error: initializing source", "podman pull ghcr.io/ggml-org/llama.cpp:server-b11347, or build a local "
     "image (make llama-image DOCKER=podman)"),
    ("docker: Error response from daemon: could not select device driver \"\" with capabilities: [[gpu]].\n",
     "failed (exit 125): docker: Error response from daemon: could not select device driver", "NVIDIA Container Toolkit"),
])
def test_run_failures_are_one_line(stderr, needle, fix):
    model = load_roster(SMALL).get("smollm2-135m")
    docker = "podman" if "podman" in fix or "Trying" in stderr else "docker"
    opts = ServeOptions(engine="llamacpp" if "pull" in fix else "tgi", docker=docker, port=9123)
    err = _run_failed(model, opts, subprocess.CompletedProcess(["x"], 125, "", stderr))
    assert needle in err.line() and fix in err.line() and "\n" not in err.line()


def test_port_in_use_is_refused_before_run(shim):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc = clue_serve(shim, "up", LLAMA, "--port", str(port))
    assert_one_line_error(proc, f"port {port} on 127.0.0.1 is already in use", "--port N")
    assert shim.commands() == []


def test_down_all_removes_every_kit_container_and_nothing_else(shim, tmp_path):
    port = str(free_port())
    assert clue_serve(shim, "up", LLAMA, "--port", port).returncode == 0
    assert clue_serve(shim, "up", "Mistral-7B-Instruct-v0.2", "--port", str(free_port())).returncode == 0
    # a container of someone else's (no kit label) under the same engine
    subprocess.run([*shlex.split(SHIM_CMD), "run", "-d", "--name", "not-ours", "-p",
                    f"127.0.0.1:{free_port()}:80", "img", "--model-id", "x/y"], env={**os.environ, **shim.env}, check=True,
                   capture_output=True)
    proc = clue_serve(shim, "down", "--all")
    assert proc.returncode == 0 and "removed 2 kit container(s)" in proc.stderr
    assert sorted(n for c, n in shim.commands() if c == "rm") == ["clue-meta-llama-3-8b-instruct", "clue-mistral-7b-instruct-v0.2"]
    again = clue_serve(shim, "down", "--all")
    assert again.returncode == 0 and "removed 0 kit container(s)" in again.stderr


def test_down_all_takes_no_model_and_other_actions_need_one(shim):
    assert_one_line_error(clue_serve(shim, "down", LLAMA, "--all"), "--all goes with `clue serve down` and no model")
    assert_one_line_error(clue_serve(shim, "up"), "needs a model")


def test_hpc_paths_refuse_llamacpp():
    from clue.serving import apptainer_argv

    with pytest.raises(ConfigError) as info:
        apptainer_argv(load_roster(SMALL).get("smollm2-135m"), ServeOptions(engine="llamacpp"))
    assert "runs under docker or podman only" in info.value.line()


def _shim_container(shim: Shim, owner: str) -> None:
    """A TGI container of the roster's Llama as the kit starts it, with the given owner label."""
    subprocess.run([*shlex.split(SHIM_CMD), "run", "-d", "--name", "clue-meta-llama-3-8b-instruct", "--label",
                    "clue-kit.model=Meta-Llama-3-8B-Instruct", "--label", f"clue-kit.owner={owner}", "-p", f"127.0.0.1:{free_port()}:80",
                    "img", "--model-id", "meta-llama/Meta-Llama-3-8B-Instruct"], env={**os.environ, **shim.env}, check=True, capture_output=True)


def test_up_leaves_a_live_owners_container_alone_and_replaces_a_dead_owners(shim):
    _shim_container(shim, owner_id())  # this test process: alive
    refused = clue_serve(shim, "up", LLAMA, "--port", str(free_port()))
    assert_one_line_error(refused, f"belongs to clue process {os.getpid()} still running", "clue serve down Meta-Llama-3-8B-Instruct")
    assert [c for c, _ in shim.commands()] == ["run"]
    subprocess.run([*shlex.split(SHIM_CMD), "rm", "-f", "clue-meta-llama-3-8b-instruct"], env={**os.environ, **shim.env}, check=True,
                   capture_output=True)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    for owner, said in ((owner_id(child.pid), f"(its owner, process {child.pid}, is gone)"), ("not-an-owner", "(its owner, process ?, is gone)")):
        _shim_container(shim, owner)
        again = clue_serve(shim, "up", LLAMA, "--port", str(free_port()))
        assert again.returncode == 0 and f"removing a leftover container clue-meta-llama-3-8b-instruct {said}" in again.stderr, again.stderr
        assert clue_serve(shim, "down", LLAMA).returncode == 0
