"""Issue 23 item 9: messages that named the wrong cause or a fix that does not exist, and values taken silently.

Each case is what a user met: the message must name the real cause and a fix that works, in one line, and exit 2.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clue.errors import ConfigError
from tests.conftest import ROOT, run_clue
from tests.core.test_cli_errors import free_port
from tests.fakeserver import FakeServer


def one_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


def fake_tool(folder: Path, name: str, stderr: str, code: int = 1) -> Path:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho {json.dumps(stderr)} >&2\nexit {code}\n")
    tool.chmod(0o755)
    return folder


def test_sbatch_off_a_cluster_says_so_not_fix_the_option(tmp_path):
    import os

    bin_dir = fake_tool(tmp_path / "bin", "sbatch", "sbatch: fatal: Could not establish a configuration source")
    line = one_line(run_clue("slurm", "submit", "--", "--models", "zephyr-7b-beta", "--runs", str(tmp_path / "runs"),
                             env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}, cwd=tmp_path))
    assert "not on a Slurm cluster" in line and "--write-only" in line and "fix the option" not in line, line


def test_sbatch_failure_names_the_option_only_when_sbatch_does():
    from clue.scale.slurm import sbatch_failure

    named = sbatch_failure(Path("a.sbatch"), "sbatch: error: invalid partition specified: gpux\n")
    assert "fix --partition" in named.line()
    other = sbatch_failure(Path("a.sbatch"), "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy")
    assert "fix --qos" in other.line()
    plain = sbatch_failure(Path("a.sbatch"), "sbatch: error: something unforeseen")
    assert "fix what sbatch reports" in plain.line() and "option it names" not in plain.line()


def test_tgi_endpoint_with_v1_says_drop_v1(tmp_path):
    with FakeServer(model_id="org/m") as srv:
        line = one_line(run_clue("run", "--engine", "tgi", "--endpoint", srv.url + "/v1", "--model", "org/m", "--synthetic",
                                 "--tasks", "meqsum", "--out", str(tmp_path / "r"), "--store", str(tmp_path / "s.sqlite"),
                                 "--no-progress"))
    assert "not a TGI server" not in line and f"drop /v1: --endpoint {srv.url}" in line, line


def test_a_missing_data_file_names_only_options_that_exist():
    from clue.benchmarks.clinicbench.loaders._io import need

    with pytest.raises(ConfigError) as caught:
        need("/nonexistent/clinicbench/file.json")
    named = set(re.findall(r"--[a-z][a-z-]+", caught.value.line()))
    commands = re.findall(r"`clue ([a-z]+ [a-z]+)", caught.value.line())
    assert named and commands
    helps = run_clue("run", "--help").stdout
    assert all(opt in helps for opt in named), named
    for command in commands:
        assert run_clue(*command.split(), "--help").returncode == 0, command


def _corrupt(path: Path, header: bool) -> None:
    data = bytearray(path.read_bytes())
    if header:
        data[:16] = b"not sqlite data!"
    else:
        for i in range(4096 + 100, min(len(data), 3 * 4096)):
            data[i] = 0xAB
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("header", [True, False], ids=["header", "pages"])
def test_a_damaged_store_is_called_damaged_not_a_full_disk(tmp_path, header):
    def run():
        return run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "mednli,meqsum", "--out", str(tmp_path / "r"),
                        "--store", str(tmp_path / "s.sqlite"), "--no-progress")

    assert run().returncode == 0
    _corrupt(tmp_path / "s.sqlite", header)
    line = one_line(run())
    assert "is damaged" in line and "free disk space" not in line and "mv " in line, line


def test_empty_api_version_is_refused_not_defaulted(tmp_path):
    line = one_line(run_clue("run", "--engine", "azure", "--endpoint", "https://x.openai.azure.com", "--model", "d",
                             "--api-version", "", "--synthetic", "--tasks", "meqsum", "--out", str(tmp_path / "r")))
    assert "--api-version" in line and "empty" in line


@pytest.mark.parametrize("value", ["-3", "0"])
def test_k8s_parallelism_below_one_is_refused(value):
    line = one_line(run_clue("k8s", "manifest", "--models", "zephyr-7b-beta", "--parallelism", value))
    assert "--parallelism" in line and "at least 1" in line


def test_k8s_manifest_offers_no_docker_only_options():
    helps = run_clue("k8s", "manifest", "--help").stdout
    for option in ("--docker", "--port", "--hf-cache", "--gpus", "--shm-size", "--poll"):
        assert not re.search(rf"{option}(?![\w-])", helps), option
        proc = run_clue("k8s", "manifest", "--models", "zephyr-7b-beta", option, "2")
        assert proc.returncode == 2 and option in proc.stderr, (option, proc.stderr)
    ok = run_clue("k8s", "manifest", "--models", "zephyr-7b-beta", "--engine", "vllm", "--num-shard", "2")
    assert ok.returncode == 0, ok.stderr


def test_output_into_a_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "clue", "tasks"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    proc.stdout.close()  # the reader leaves before the first line is written (like `| head` after its lines)
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == 141, err


@pytest.mark.parametrize("offline", [True, False], ids=["HF_HUB_OFFLINE", "no-network"])
def test_completions_route_without_a_template_says_at_once_what_to_pass(tmp_path, offline):
    env = {"HF_HOME": str(tmp_path / "hf"), "OPENAI_API_KEY": "k"}
    env.update({"HF_HUB_OFFLINE": "1"} if offline else {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{free_port()}"})
    with FakeServer(model_id="org/m", tgi=False) as srv:
        line = one_line(run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", "org/m",
                                 "--route", "completions", "--synthetic", "--tasks", "meqsum", "--out", str(tmp_path / "r"),
                                 "--store", str(tmp_path / "s.sqlite"), "--no-progress", env=env, timeout=20))
    assert "--chat-template" in line and ("HF_HUB_OFFLINE is set" if offline else "cannot be reached") in line, line
