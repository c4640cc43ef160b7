"""PHI guard: credentialed tasks never go to a non-loopback endpoint without --allow-remote-phi."""

from __future__ import annotations

from pathlib import Path

import pytest

from clue.benchmarks.clue import BENCHMARK
from clue.benchmarks.clue.protocol import get_profile
from clue.benchmarks.clue.tasks import TASKS
from clue.errors import DataError
from clue.evaluate import Evaluation
from clue.phi import PHIGuardError, check_endpoint, is_loopback_host
from clue.run_config import RunConfig
from tests.conftest import chat_template_file, run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.fakeserver import FakeServer


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.6.7", "::1", "[::1]", "localhost", "LOCALHOST.", "box.localhost"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.10", "0.0.0.0", "127.0.0.1.nip.io", "127.evil.example",
                                  "api.openai.com", "localhost.example.com", "", None])
def test_non_loopback_hosts(host):
    assert not is_loopback_host(host)


def test_credentialed_tasks_are_exactly_the_physionet_ones():
    assert {t.name for t in TASKS.values() if t.credentialed} == {"mednli", "problemsummary", "medisumqa", "medisumcode"}


def test_remote_endpoint_is_refused_with_the_rule():
    with pytest.raises(PHIGuardError) as info:
        check_endpoint(BENCHMARK.get_tasks("meqsum,mednli"), "https://api.example.com/v1")
    line = info.value.line()
    assert "MedNLI" in line and "MeQSum" not in line and "api.example.com" in line
    assert "PhysioNet Credentialed Health Data Use Agreement" in line and "--allow-remote-phi" in line


@pytest.mark.parametrize("endpoint, tasks, allow", [
    ("http://127.0.0.1:8080", "all", False),
    ("http://localhost:8000/v1", "medisumcode", False),
    ("https://api.example.com/v1", "meqsum,longhealth", False),  # public data may go anywhere
    ("https://gpu-box.internal:8080", "all", True),  # the user's explicit decision
    (None, "all", False),  # baseline: no endpoint
])
def test_allowed(endpoint, tasks, allow):
    check_endpoint(BENCHMARK.get_tasks(tasks), endpoint, allow_remote_phi=allow)


def _config(tmp_path: Path, allow: bool) -> RunConfig:
    return RunConfig(engine="openai", model="m", tasks=BENCHMARK.get_tasks("problemsummary"), profile=get_profile("clue-v3"),
                     data_dir=tmp_path / "no-data", out=tmp_path / "run", store_path=tmp_path / "s.sqlite",
                     endpoint="https://203.0.113.7/v1", allow_remote_phi=allow)


def test_guard_runs_before_data_is_read(tmp_path):
    with pytest.raises(PHIGuardError):
        Evaluation(_config(tmp_path, allow=False))
    with pytest.raises(DataError):  # allowed: gets as far as reading the (missing) data
        Evaluation(_config(tmp_path, allow=True))


def test_cli_refuses_a_remote_endpoint(tmp_path):
    # 192.0.2.0/24 (TEST-NET-1) is unroutable: the refusal must come before any connection attempt
    proc = run_clue("run", "--engine", "openai", "--endpoint", "https://192.0.2.1/v1", "--model", "m", "--tasks", "mednli",
                    "--synthetic", "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"),
                    env={"OPENAI_API_KEY": "sk-SYNTHETIC-test-key"}, timeout=60)
    assert_one_line_error(proc, "refusing to send MedNLI", "192.0.2.1", "Data Use Agreement", "--allow-remote-phi")
    assert not (tmp_path / "run" / "samples.jsonl").exists()


def test_cli_allows_loopback(tmp_path):
    with FakeServer(model_id="org/m") as srv:
        proc = run_clue("run", "--engine", "tgi", "--endpoint", srv.url, "--model", "org/m", "--tasks", "mednli", "--synthetic",
                        "--chat-template", str(chat_template_file(tmp_path)), "--out", str(tmp_path / "run"),
                        "--store", str(tmp_path / "s.sqlite"), env={"HF_HUB_OFFLINE": "0"})
        assert proc.returncode == 0, proc.stderr
        assert srv.stats.completed > 0
