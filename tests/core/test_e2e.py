"""End to end through `python -m clue run` against the loopback fake server (issue 2's acceptance list).

Covers: the real MeQSum file in oracle mode (ROUGE-L 100) and with the baseline engine, a run
SIGKILLed midway and resumed (only the missing requests are sent; scores equal an uninterrupted
run), 30 % faulted responses, wrong model ids, and API keys never written under the run directory.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clue.data.lock import mark_bundled
from tests.conftest import ROOT, chat_template_file, run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.fakeserver import FakeServer, OracleResponder

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"


def meqsum_oracle(data_dir: Path) -> OracleResponder:
    from clue.benchmarks.clue.tasks.meqsum import MeQSum

    return OracleResponder({str(s.fields["CHQ"]): s.reference for s in MeQSum().load(data_dir)})


def invented_meqsum(tmp_path: Path, n: int = 120) -> Path:
    """A MeQSum-shaped workbook of `n` invented items (enough requests to kill a run midway)."""
    import pandas as pd

    rows = [{"File": f"inv-{i}", "CHQ": f"Invented inquiry number {i}: my knee hurts after running {i} miles. What helps?",
             "Summary": f"What helps knee pain after running {i} miles?"} for i in range(n)]
    target = tmp_path / "data" / "meqsum"
    target.mkdir(parents=True)
    pd.DataFrame(rows).to_excel(target / "MeQSum_ACL2019_BenAbacha_Demner-Fushman.xlsx", index=False, engine="openpyxl")
    mark_bundled(tmp_path / "data", "invented test items")  # not the release: runs record its hash, never compare it
    return tmp_path / "data"


def tgi_args(srv: FakeServer, tmp_path: Path, data_dir: Path, out: str = "run", store: str = "s.sqlite") -> list[str]:
    return ["run", "--engine", "tgi", "--endpoint", srv.url, "--model", MODEL, "--tasks", "meqsum",
            "--data-dir", str(data_dir), "--chat-template", str(chat_template_file(tmp_path)),
            "--out", str(tmp_path / out), "--store", str(tmp_path / store), "--no-progress"]


def scores(run_dir: Path) -> dict:
    return json.loads((run_dir / "scores.json").read_text())["tasks"]


def outputs(run_dir: Path) -> list[tuple]:
    lines = [json.loads(ln) for ln in (run_dir / "samples.jsonl").read_text().splitlines()]
    return [(ln["sample_id"], ln["request_key"], ln["output"], ln["status"], json.dumps(ln["scores"], sort_keys=True)) for ln in lines]


def stored(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return db.execute("SELECT count(*) FROM completions").fetchone()[0]


def test_real_meqsum_oracle_scores_100(tmp_path, real_meqsum_dir):
    with FakeServer(responder=meqsum_oracle(real_meqsum_dir), model_id=MODEL) as srv:
        proc = run_clue(*tgi_args(srv, tmp_path, real_meqsum_dir))
        assert proc.returncode == 0, proc.stderr
        assert srv.stats.completed == 997  # 1,000 items − 3 shots, each sent once
    metrics = scores(tmp_path / "run")["meqsum"]["metrics"]
    assert metrics["rougeL"] == pytest.approx(100.0) and metrics["rouge1"] == pytest.approx(100.0)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["engine"]["describe"]["model_id"] == MODEL and record["stats"]["failed"] == 0


def test_real_meqsum_baseline_is_plausible(tmp_path, real_meqsum_dir):
    proc = run_clue("run", "--engine", "baseline", "--tasks", "meqsum", "--data-dir", str(real_meqsum_dir),
                    "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    rouge_l = scores(tmp_path / "run")["meqsum"]["metrics"]["rougeL"]
    assert 10.0 < rouge_l < 60.0  # the first question of the inquiry overlaps the summary, far from an oracle


def test_sigkill_midway_then_resume_sends_only_the_missing_requests(tmp_path):
    data = invented_meqsum(tmp_path)
    total = 117
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, answer_limit=40) as srv:  # then holds the rest
        args = [*tgi_args(srv, tmp_path, data), "--concurrency", "4"]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))}
        env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
        proc = subprocess.Popen([sys.executable, "-m", "clue", *args], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # 4 requests sent after the 40th answer: the client has taken in answers since its first one landed (the
        # fail-fast probe sends one request until then), so that first answer is in the store (flushed on the next
        # turn of its event loop); the held requests keep the run from finishing
        srv.wait_until(lambda s: s.completed == 40 and s.in_flight == 4, proc, "40 answers, then 4 requests held")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not (tmp_path / "run" / "scores.json").exists(), "the run finished before it could be killed"
        kept = stored(tmp_path / "s.sqlite")
        assert 0 < kept < total
        srv.release()  # the dead client's held requests are answered into closed sockets
        srv.wait_until(lambda s: s.in_flight == 0, what="the dead client's requests finishing server-side")
        srv.reset_stats()
        resumed = run_clue(*args)
        assert resumed.returncode == 0, resumed.stderr
        assert srv.stats.completed == total - kept  # only what the store lacked
        assert stored(tmp_path / "s.sqlite") == total
        record = json.loads((tmp_path / "run" / "run.json").read_text())
        assert record["stats"]["cached"] == kept and record["stats"]["completed"] == total - kept

        srv.reset_stats()  # an uninterrupted run into a fresh store
        clean = run_clue(*tgi_args(srv, tmp_path, data, out="clean", store="clean.sqlite"), "--concurrency", "4")
        assert clean.returncode == 0, clean.stderr
        assert srv.stats.completed == total
    assert scores(tmp_path / "run") == scores(tmp_path / "clean")
    assert outputs(tmp_path / "run") == outputs(tmp_path / "clean")
    assert scores(tmp_path / "run")["meqsum"]["metrics"]["rougeL"] == pytest.approx(100.0)


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_thirty_percent_faults_complete_every_sample(tmp_path, engine):
    data = invented_meqsum(tmp_path, n=63)
    faults = {"429_retry_after": 0.1, "503": 0.1, "reset": 0.1}
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, faults=faults, seed=7, retry_after=0.01) as srv:
        if engine == "tgi":
            args = tgi_args(srv, tmp_path, data)
        else:
            args = ["run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL, "--tasks", "meqsum",
                    "--data-dir", str(data), "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
        proc = run_clue(*args, "--retry-base", "0.01", "--max-attempts", "12", "--concurrency", "8")
        assert proc.returncode == 0, proc.stderr
        faulted = sum(srv.stats.faulted.values())
    assert faulted >= 10
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == 60 and all(ln["status"] == "ok" for ln in lines)
    stats = json.loads((tmp_path / "run" / "run.json").read_text())["stats"]
    assert stats["failed"] == 0 and stats["retries"] == faulted
    if engine == "tgi":  # the chat route strips the shots' answer prefix differently; TGI's oracle is exact
        assert scores(tmp_path / "run")["meqsum"]["metrics"]["rougeL"] == pytest.approx(100.0)


def test_wrong_model_id_tgi(tmp_path, synthetic_dir):
    with FakeServer(model_id="other/model") as srv:
        proc = run_clue(*tgi_args(srv, tmp_path, synthetic_dir))
        assert srv.stats.requests == 0
    assert_one_line_error(proc, "serves 'other/model'", MODEL, "fix --model")


def test_wrong_model_id_openai(tmp_path, synthetic_dir):
    with FakeServer(model_id="other/model") as srv:
        proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", "nosuch/model",
                        "--tasks", "meqsum", "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"),
                        "--store", str(tmp_path / "s.sqlite"))
        assert srv.stats.requests == 0
    assert_one_line_error(proc, "nosuch/model", "other/model", "fix --model")


def test_api_keys_never_reach_the_run_directory(tmp_path, synthetic_dir):
    key = "sk-e2e-DISTINCTIVE-0123456789abcdef"
    token = "hf_e2eDISTINCTIVEtoken0123456789"
    with FakeServer(model_id=MODEL, api_key=key) as srv:
        oai = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL, "--tasks", "meqsum",
                       "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "oai"), "--store", str(tmp_path / "s.sqlite"),
                       "--no-progress", env={"OPENAI_API_KEY": key, "HF_TOKEN": token})
        tgi = run_clue(*tgi_args(srv, tmp_path, synthetic_dir, out="tgi"), env={"TGI_API_KEY": key, "HF_TOKEN": token})
        wrong = run_clue(*tgi_args(srv, tmp_path, synthetic_dir, out="wrong"), env={"TGI_API_KEY": key[::-1]})
    assert oai.returncode == 0, oai.stderr
    assert tgi.returncode == 0, tgi.stderr
    assert_one_line_error(wrong, "TGI_API_KEY")
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("tokenizer_config")]
    assert any(p.name == "run.json" for p in written) and any(p.suffix == ".sqlite" for p in written)
    for path in written:
        data = path.read_bytes()
        for secret in (key, token, key[::-1]):
            assert secret.encode() not in data, f"{secret[:6]}… leaked into {path}"
    for proc in (oai, tgi, wrong):
        for secret in (key, token, key[::-1]):
            assert secret not in proc.stdout + proc.stderr


def test_wrong_openai_key_names_the_variable(tmp_path, synthetic_dir):
    with FakeServer(model_id=MODEL, api_key="sk-right") as srv:
        proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL, "--tasks", "meqsum",
                        "--data-dir", str(synthetic_dir), "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"),
                        "--api-key-env", "MY_KEY", env={"MY_KEY": "sk-wrong"})
    assert_one_line_error(proc, "MY_KEY")
    assert "sk-wrong" not in proc.stderr


def test_unseeded_longhealth_rerun_in_the_same_directory_resumes(tmp_path, synthetic_dir):
    """v3 drew LongHealth documents unseeded; a re-run of the same run directory must rebuild the same prompts."""
    def keys(out: str) -> list[str]:
        proc = run_clue("run", "--engine", "baseline", "--tasks", "longhealth", "--data-dir", str(synthetic_dir),
                        "--out", str(tmp_path / out), "--store", str(tmp_path / "s.sqlite"), "--no-progress")
        assert proc.returncode == 0, proc.stderr
        return [json.loads(ln)["request_key"] for ln in (tmp_path / out / "samples.jsonl").read_text().splitlines()]

    first = keys("a")
    assert keys("a") == first  # same directory: same draw, every request answered from the store
    assert json.loads((tmp_path / "a" / "run.json").read_text())["stats"]["cached"] == len(set(first))
    others = [keys(f"b{i}") for i in range(3)]  # fresh directories draw afresh (3 tries: a repeat is ~impossible)
    assert any(o != first for o in others)
