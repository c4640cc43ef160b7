"""Start-up stays light: heavy libraries load only on the paths that need them, and a large source
file (the MeQSum xlsx) is parsed once — re-runs read its checksummed JSON copy."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from clue import files, parsed_cache
from clue.benchmarks.clue.tasks import TASKS

HEAVY = ("openai", "pandas", "openpyxl", "rouge_score", "nltk", "matplotlib", "transformers", "numpy", "torch",
         "tokenizers", "huggingface_hub.inference",
         "seqeval", "sklearn", "scipy", "krippendorff", "kubernetes")


def test_the_run_path_imports_no_heavy_library():
    """Everything `clue run` imports before its first request (CLI, evaluation, tasks, both HTTP engines)."""
    code = ("import sys, clue.cli, clue.evaluate, clue.tasks, clue.engines.tgi, clue.engines.openai_api, "
            "clue.engines.azure, clue.engines.families, clue.engines.server_info, clue.budget; "
            "from clue.benchmark import installed; [b.tasks for b in installed().values()]; "
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_tgi_run_loads_neither_the_retry_library_nor_the_azure_engine_until_needed():
    """tenacity loads with the first retry, the azure module only to resolve `--engine openai`; both still work then."""
    code = ("import sys\n"
            "from clue.engines import resolve_engine\n"
            "import clue.runner\n"
            "assert resolve_engine('tgi', 'https://x.openai.azure.com') == 'tgi'\n"
            "print(sorted(m for m in ('tenacity', 'clue.engines.azure') if m in sys.modules))\n"
            "assert resolve_engine('openai', 'https://x.openai.azure.com/') == 'azure'\n"
            "assert resolve_engine('openai', 'http://127.0.0.1:8080/v1') == 'openai'\n"
            "from clue.runner import RetryPolicy, _Wait\n"
            "assert _Wait(RetryPolicy()).jitter is not None and 'tenacity' in sys.modules\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_scoring_still_loads_rouge_score_when_used():
    from clue.metrics.rouge import rouge

    assert rouge("what is a dose", "what is the dose")["rouge1"] > 0 and "rouge_score" in sys.modules


@pytest.fixture
def cache(tmp_path: Path):
    with parsed_cache.caching(tmp_path / "parsed"):
        yield tmp_path / "parsed"


def _counting(monkeypatch) -> list[Path]:
    task = TASKS["meqsum"]
    calls: list[Path] = []
    real = type(task)._read_xlsx

    def counted(self, path: Path) -> list[dict]:
        calls.append(path)
        return real(self, path)

    monkeypatch.setattr(type(task), "_read_xlsx", counted)
    return calls


def test_meqsum_is_parsed_once_and_then_read_from_its_copy(synthetic_dir, cache, monkeypatch):
    calls = _counting(monkeypatch)
    task = TASKS["meqsum"]
    first = task.load(synthetic_dir)
    second = task.load(synthetic_dir)
    assert len(calls) == 1 and first == second and len(first) > 3
    (copy,) = cache.iterdir()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600 and stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert json.loads(copy.read_text())["sha256"] == files.file_sha256(task.path(synthetic_dir))


def test_a_changed_source_file_is_parsed_again(synthetic_dir, cache, monkeypatch):
    calls = _counting(monkeypatch)
    task = TASKS["meqsum"]
    before = task.load(synthetic_dir)
    records = [dict(s.fields) for s in before]
    records[0]["Summary"] = "What is new?"
    task.write_synthetic(records, task.path(synthetic_dir))
    after = task.load(synthetic_dir)
    assert len(calls) == 2 and after[0].reference == "What is new?" and before[0].reference != "What is new?"


def test_without_a_cache_folder_nothing_is_written(synthetic_dir, tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    with parsed_cache.caching(tmp_path / "parsed"):
        pass  # a block that ended leaves nothing behind
    TASKS["meqsum"].load(synthetic_dir)
    TASKS["meqsum"].load(synthetic_dir)
    assert len(calls) == 2 and not (tmp_path / "parsed").exists()


def test_the_real_meqsum_copy_equals_a_fresh_parse(real_meqsum_dir, cache):
    task = TASKS["meqsum"]
    fresh = task.load(real_meqsum_dir)  # parses, writes the copy
    again = task.load(real_meqsum_dir)  # reads the copy
    assert len(fresh) == len(again) == 1000 and [s.fields for s in fresh] == [s.fields for s in again]
    assert [s.reference for s in fresh] == [s.reference for s in again]


def test_a_damaged_copy_is_ignored(synthetic_dir, cache):
    task = TASKS["meqsum"]
    good = task.load(synthetic_dir)
    (copy,) = cache.iterdir()
    copy.write_text("{not json")
    assert task.load(synthetic_dir) == good


def test_a_run_caches_beside_its_store_and_leaves_no_setting_behind(synthetic_dir, tmp_path, monkeypatch):
    """`Evaluation` keeps the parsed copy in `<store folder>/parsed/` while it reads the data; a later load elsewhere
    in the same process is not cached (constructing an Evaluation sets no process-wide state)."""
    from clue.benchmarks.clue.protocol import get_profile
    from clue.evaluate import Evaluation
    from clue.run_config import RunConfig

    calls = _counting(monkeypatch)
    store = tmp_path / "stores" / "s.sqlite"
    Evaluation(RunConfig(engine="baseline", model="m", tasks=[TASKS["meqsum"]], profile=get_profile("clue-v3"),
                         data_dir=synthetic_dir, out=tmp_path / "run", store_path=store))
    assert len(calls) == 1 and len(list((tmp_path / "stores" / "parsed").iterdir())) == 1
    TASKS["meqsum"].load(synthetic_dir)  # outside the run: parsed again, not read from the run's copy
    assert len(calls) == 2


# `clue run` in a child process, then the modules it loaded, written to the file named by the first argument
RUN_THEN_LIST = ("import json, sys\n"
                 "from clue.cli import main\n"
                 "code = main(sys.argv[2:])\n"  # argv given: the call returns (the program `clue run` leaves by os._exit)
                 "open(sys.argv[1], 'w').write(json.dumps(sorted(sys.modules)))\n"
                 "raise SystemExit(code)\n")
NOT_ON_A_LOOPBACK_RUN = ("httpx2", "httpcore2", "openai", "huggingface_hub", "urllib.request")


def _run_listing(tmp_path: Path, engine: str, endpoint: str, *extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    from tests.conftest import ROOT, chat_template_file

    listing = tmp_path / f"modules-{engine}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_", "TGI_")) and not k.lower().endswith("_proxy")}
    env.update({"HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT), "CLUE_PROGRESS": "0"})
    args = ["run", "--engine", engine, "--endpoint", endpoint, "--model", "org/m", "--synthetic", "--tasks", "meqsum",
            "--limit", "3", "--out", str(tmp_path / f"run-{engine}"), "--store", str(tmp_path / f"{engine}.sqlite"), "--no-progress",
            *(["--chat-template", str(chat_template_file(tmp_path))] if engine == "tgi" else []), *extra]
    proc = subprocess.run([sys.executable, "-c", RUN_THEN_LIST, str(listing), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    return proc, json.loads(listing.read_text()) if listing.exists() else []


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_a_whole_run_against_a_loopback_server_never_imports_httpx2(tmp_path, engine):
    """Generation, describe() and the server's provenance go over the kit's own connection pool (clue/engines/pool.py):
    httpx2 (~30 ms of start-up), the SDKs (huggingface_hub, openai) and urllib.request load only off this path."""
    from tests.fakeserver import FakeServer

    with FakeServer(model_id="org/m") as srv:
        proc, loaded = _run_listing(tmp_path, engine, srv.url + ("/v1" if engine == "openai" else ""))
        served = srv.stats.completed
    assert proc.returncode == 0, proc.stderr
    assert served == 3 and "clue.engines.pool" in loaded  # the run really went over the pool
    assert [m for m in NOT_ON_A_LOOPBACK_RUN if m in loaded] == []


@pytest.mark.parametrize(("engine", "line"), [
    ("tgi", "clue: error: TGI at {url} rejected the API key (HTTP 401) — set TGI_API_KEY to the server's --api-key "
            "(or --api-key-env NAME)"),
    ("openai", "clue: error: {url}/v1 rejected the API key (HTTP 401: Incorrect API key provided.) — set OPENAI_API_KEY to a "
               "valid key (or name another variable with --api-key-env)"),
])
def test_a_refused_describe_over_the_pool_still_says_what_it_said(tmp_path, engine, line):
    """The error path converts the pool's answer to an httpx2 response for the same error mapping: same one line."""
    from tests.fakeserver import FakeServer

    with FakeServer(model_id="org/m", api_key="secret") as srv:
        proc, _ = _run_listing(tmp_path, engine, srv.url + ("/v1" if engine == "openai" else ""))
        url = srv.url
    assert proc.returncode == 2 and proc.stderr.strip() == line.format(url=url), proc.stderr


@pytest.mark.parametrize(("engine", "line"), [
    ("tgi", "clue: error: cannot reach TGI at {url} (connection to {url} failed (ConnectError)) — start the server "
            "(clue serve up) or fix --endpoint"),
    ("openai", "clue: error: cannot reach {url}/v1 (connection to {url}/v1 failed (ConnectError)) — start the server or fix "
               "--endpoint"),
])
def test_an_unreachable_server_is_named_as_before_without_httpx2(tmp_path, engine, line):
    """A refused connection is the pool's own error, mapped to the words httpx2's ConnectError gave."""
    from tests.core.test_cli_errors import free_port

    url = f"http://127.0.0.1:{free_port()}"
    proc, loaded = _run_listing(tmp_path, engine, url + ("/v1" if engine == "openai" else ""))
    assert proc.returncode == 2 and proc.stderr.strip() == line.format(url=url), proc.stderr
    assert "httpx2" not in loaded
