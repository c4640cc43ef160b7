"""Issue 12, item 8: every command a user can get wrong answers with one line, a non-zero exit, no traceback."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.conftest import run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.core.test_report_fixtures import published_like_run
from tests.fakeserver import FakeServer

UNWRITABLE = Path("/sys/clue-kit-test")  # read-only for everyone, root included (sysfs)


def unwritable_dirs(tmp_path: Path) -> list[Path]:
    """Places no process can write: a path below a regular file, and a read-only file system where there is one."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = [blocker / "sub"]
    try:
        UNWRITABLE.mkdir()
        UNWRITABLE.rmdir()
    except OSError:
        out.append(UNWRITABLE)
    return out


@pytest.fixture
def a_run(tmp_path: Path) -> Path:
    return published_like_run(tmp_path / "run", "Meta-Llama-3-8B-Instruct", n=20)


def test_report_out_unwritable_or_an_existing_file(tmp_path, a_run):
    for bad in unwritable_dirs(tmp_path):
        assert_one_line_error(run_clue("report", str(a_run), "--out", str(bad), "--bootstrap", "20"), "--out")
    existing = tmp_path / "report.html"
    existing.write_text("keep me")
    assert_one_line_error(run_clue("report", str(a_run), "--out", str(existing), "--bootstrap", "20"), "existing file", "--out")
    assert existing.read_text() == "keep me"


def test_verify_json_unwritable(tmp_path, a_run):
    for bad in unwritable_dirs(tmp_path):
        proc = run_clue("verify", str(a_run), "--json", str(bad / "v.json"), "--bootstrap", "20")
        assert proc.returncode == 2
        assert_one_line_error(proc, "--json")


def test_demo_out_or_report_unwritable(tmp_path):
    for bad in unwritable_dirs(tmp_path):
        assert_one_line_error(run_clue("demo", "--out", str(bad), "--report", str(tmp_path / "rep")), "--out")
        proc = run_clue("demo", "--out", str(tmp_path / "runs" / "demo"), "--report", str(bad))
        assert_one_line_error(proc, "--report")
        assert not (tmp_path / "runs" / "demo" / "scores.json").exists()  # refused before running


@pytest.mark.parametrize("args,needles", [
    (["--max-failures", "abc"], ["--max-failures", "abc"]),
    (["--max-failures", "150%"], ["--max-failures", "100"]),
    (["--temperature", "-1"], ["--temperature"]),
    (["--limit", "0"], ["--limit"]),
    (["--concurrency", "0"], ["--concurrency"]),
])
def test_bad_run_options_are_refused_before_anything_is_sent(tmp_path, args, needles):
    seen: list[str] = []
    with FakeServer(responder=lambda kind, payload: seen.append(kind) or "x", model_id="m", tgi=False) as srv:
        proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", "m", "--tasks", "meqsum",
                        "--synthetic", "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), *args,
                        env={"OPENAI_API_KEY": "k"})
    assert_one_line_error(proc, *needles)
    assert proc.stderr.count("\n") == 1 and "usage:" not in proc.stderr
    assert seen == [] and not (tmp_path / "run").exists()


def test_engine_vllm_says_use_openai():
    proc = run_clue("run", "--engine", "vllm", "--model", "m")
    assert_one_line_error(proc, "--engine openai")
    assert proc.stderr.count("\n") == 1 and "usage:" not in proc.stderr


def test_openai_endpoint_without_v1_blames_the_url(tmp_path):
    with FakeServer(model_id="m", tgi=False) as srv:
        proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url, "--model", "m", "--tasks", "meqsum", "--synthetic",
                        "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), env={"OPENAI_API_KEY": "k"})
    assert_one_line_error(proc, "/v1")
    assert "does not serve model" not in proc.stderr


def test_damaged_samples_jsonl_names_the_damaged_line(tmp_path, a_run):
    path = a_run / "samples.jsonl"
    lines = path.read_text().splitlines()
    lines[6] = lines[6][:20]
    path.write_text("\n".join(lines) + "\n")
    assert_one_line_error(run_clue("verify", str(a_run)), "line 7")


def test_docker_daemon_down_gives_the_real_cause_and_removes_nothing(tmp_path):
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\necho 'docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                      "Is the docker daemon running?.' >&2\necho \"See 'docker run --help'.\" >&2\nexit 125\n")
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    proc = run_clue("serve", "up", "meta-llama/Meta-Llama-3-8B-Instruct", "--docker", str(docker))
    assert_one_line_error(proc, "Cannot connect to the Docker daemon")
    assert "removed container" not in proc.stderr


def test_help_texts_cite_no_internal_documents():
    for command in ("run", "report", "verify", "demo", "serve", "data", "models", "protocols", "tasks"):
        proc = run_clue(command, "--help")
        assert proc.returncode == 0
        text = " ".join(proc.stdout.split())
        assert "§" not in text and "spec " not in text and not any(f"issue {i}" in text for i in range(1, 40)), command
    verify = " ".join(run_clue("verify", "--help").stdout.split())
    assert "Exit status: 0 all reproduced, 1 something deviates, 4" in verify


def test_existing_store_mode_tightened_by_a_run(tmp_path):
    store = tmp_path / "s.sqlite"
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "mednli", "--out", str(tmp_path / "run"),
                    "--store", str(store), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    os.chmod(store, 0o644)
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "mednli", "--out", str(tmp_path / "run"),
                    "--store", str(store), "--no-progress")
    assert proc.returncode == 0 and stat.S_IMODE(store.stat().st_mode) == 0o600
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["mednli"]["n"] > 0
