"""Fault suite: runs driven in-process (tgi and openai engines) against the loopback fake server.

A run of several hundred requests with 20 % 429 (half with Retry-After), 10 % 503, 5 % connection
resets, 2 % hangs past the attempt timeout and 1 % malformed JSON completes every sample; each
retry and its cause lands in run.json and the report; 429 waits are exactly Retry-After (read from
the runner's wait decisions, not the clock); permanent 400/401/404 fail fast with the server's
message and are not retried; a request that exhausts its retries is `failed` and never scored.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

import clue.runner
from clue.benchmarks.clue import BENCHMARK
from clue.benchmarks.clue.protocol import get_profile
from clue.engines.base import EngineError
from clue.errors import EndpointError
from clue.evaluate import Evaluation, RunResult
from clue.run_config import RunConfig
from clue.runner import RetryPolicy
from tests.conftest import chat_template_file
from tests.core.test_e2e import MODEL, invented_meqsum, meqsum_oracle
from tests.fakeserver import FakeServer

# tiny waits so hundreds of faults take seconds; the attempt timeout is what a hang runs into: far beyond what a
# served answer takes even on a loaded machine (a served answer that ran into it would count as a "timeout" retry),
# while a hang never ends by itself (HANG_S: the server's handler is woken only when the server stops)
POLICY = RetryPolicy(max_attempts=15, attempt_timeout_s=5.0, backoff_base_s=0.001, backoff_max_s=0.01, retry_after_max_s=1.0)
HANG_S = 3600.0
FAULTS = {"429": 0.10, "429_retry_after": 0.10, "503": 0.10, "reset": 0.05, "hang": 0.02, "malformed": 0.01}
RETRY_AFTER = 0.05
CAUSE = {"429": "http_429", "429_retry_after": "http_429", "503": "http_503", "reset": "connection", "hang": "timeout",
         "malformed": "malformed", "400": "http_400"}


def run_config(engine: str, srv: FakeServer, tmp_path: Path, data: Path, *, out: str = "run", policy: RetryPolicy = POLICY,
               concurrency: int = 16, **kw) -> RunConfig:
    return RunConfig(engine=engine, model=MODEL, tasks=BENCHMARK.get_tasks("meqsum"), profile=get_profile("clue-v3"), data_dir=data,
                     out=tmp_path / out, store_path=tmp_path / "s.sqlite", endpoint=srv.url if engine == "tgi" else srv.url + "/v1",
                     chat_template=str(chat_template_file(tmp_path)) if engine == "tgi" else None,
                     concurrency=concurrency, policy=policy, progress=False, **kw)


def evaluate(cfg: RunConfig) -> RunResult:
    import asyncio

    return asyncio.run(Evaluation(cfg).run())


def samples(run_dir: Path) -> list[dict]:
    return [json.loads(ln) for ln in (run_dir / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    for name in ("OPENAI_API_KEY", "TGI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def waits(monkeypatch) -> list[tuple[EngineError | None, float]]:
    """Every wait the retry policy decided: (the error that caused it, seconds)."""
    recorded: list[tuple[EngineError | None, float]] = []
    original = clue.runner._Wait.__call__

    def spy(self, state):
        seconds = original(self, state)
        recorded.append((state.outcome.exception() if state.outcome else None, seconds))
        return seconds

    monkeypatch.setattr(clue.runner._Wait, "__call__", spy)
    return recorded


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_hundreds_of_faulted_requests_complete_every_sample(tmp_path, engine, waits):
    data = invented_meqsum(tmp_path, n=263)  # 260 evaluated items (3 shots)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, faults=FAULTS, seed=11, retry_after=RETRY_AFTER,
                    hang_s=HANG_S) as srv:
        result = evaluate(run_config(engine, srv, tmp_path, data))
        server = srv.stats
    faulted = server.faulted
    print(f"\n{engine}: {server.requests} requests, {sum(faulted.values())} faulted {faulted}, {server.completed} completed")
    assert server.requests >= 250 and sum(faulted.values()) >= 60  # both engines together: > 500 requests
    assert set(faulted) == set(FAULTS), "every fault kind was exercised"

    lines = samples(tmp_path / "run")
    assert len(lines) == 260 and all(ln["status"] == "ok" and ln["error"] is None for ln in lines)
    assert server.completed == 260  # nothing generated twice, nothing lost
    assert result.failed_ok and result.stats["failed"] == 0 and result.stats["completed"] == 260

    record = json.loads((tmp_path / "run" / "run.json").read_text())
    stats = record["stats"]
    expected = Counter()
    for kind, n in faulted.items():
        expected[CAUSE[kind]] += n
    assert stats["retry_causes"] == dict(expected)  # each faulted attempt was retried once, under its cause
    assert stats["retries"] == sum(faulted.values()) and stats["sent"] == server.requests
    assert sum(ln["attempts"] for ln in lines) == server.requests

    # 429 waits: exactly Retry-After when the server sent it, jittered backoff (≤ backoff_max) when not
    rate_limited = [(exc, s) for exc, s in waits if isinstance(exc, EngineError) and exc.status == 429]
    with_header = [s for exc, s in rate_limited if exc.retry_after is not None]
    assert len(with_header) == faulted["429_retry_after"] and set(with_header) == {RETRY_AFTER}
    without = [s for exc, s in rate_limited if exc.retry_after is None]
    assert len(without) == faulted["429"] and all(0 <= s <= POLICY.backoff_max_s for s in without)
    assert len(waits) == stats["retries"]

    if engine == "tgi":  # the oracle answers the exact reference on the native route
        scores = json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]
        assert scores["metrics"]["rougeL"] == pytest.approx(100.0) and scores["n_failed"] == 0

    from clue.report import build_report

    html = build_report([tmp_path / "run"], tmp_path / "report", replicates=10).read_text(encoding="utf-8")
    assert "retry causes" in html and "timeout" in html and "http_429" in html and "malformed" in html


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_400_fails_fast_with_the_servers_message_and_is_not_scored(tmp_path, engine):
    data = invented_meqsum(tmp_path, n=9)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, fault_plan=[None, "400", None]) as srv:
        result = evaluate(run_config(engine, srv, tmp_path, data, concurrency=1))
        assert srv.stats.requests == 6  # six items, the 400 not retried
    lines = samples(tmp_path / "run")
    failed = [ln for ln in lines if ln["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["attempts"] == 1
    assert "request rejected by policy" in failed[0]["error"] and "not retried" in failed[0]["error"]
    assert failed[0]["output"] is None and failed[0]["scores"] == {}
    task = json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]
    assert (task["n"], task["n_scored"], task["n_failed"]) == (6, 5, 1)
    assert result.stats["failure_causes"] == {"http_400": 1} and result.stats["retries"] == 0
    assert not result.failed_ok  # --max-failures 0


@pytest.mark.parametrize("engine", ["tgi", "openai"])
@pytest.mark.parametrize("status,message", [("401", "the API key was revoked"), ("404", "went away")])
def test_401_and_404_stop_the_run_at_once_with_the_servers_message(tmp_path, engine, status, message):
    data = invented_meqsum(tmp_path, n=9)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, fault_plan=[None, None, status]) as srv:
        with pytest.raises(EndpointError) as exc:
            evaluate(run_config(engine, srv, tmp_path, data, concurrency=1))
        assert srv.stats.requests == 3  # stopped at once: not retried, nothing more sent
    assert message in str(exc.value)
    if status == "401":
        assert ("TGI_API_KEY" if engine == "tgi" else "OPENAI_API_KEY") in str(exc.value)
    from clue.store import Store

    store = Store(tmp_path / "s.sqlite")
    assert store.count() == 2 and store.integrity_ok()  # what was answered before is kept
    store.close()


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_exhausted_retries_are_failed_not_scored_and_retried_on_rerun(tmp_path, engine):
    data = invented_meqsum(tmp_path, n=8)
    policy = RetryPolicy(max_attempts=4, attempt_timeout_s=5.0, backoff_base_s=0.001, backoff_max_s=0.005)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, fault_plan=["500"] * 4) as srv:  # 503 is an outage
        result = evaluate(run_config(engine, srv, tmp_path, data, policy=policy, concurrency=1, max_failures="1"))
        assert srv.stats.requests == 5 + 3
        lines = samples(tmp_path / "run")
        failed = [ln for ln in lines if ln["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["attempts"] == 4 and "after 4 attempts" in failed[0]["error"]
        assert failed[0]["output"] is None and failed[0]["scores"] == {}
        task = json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]
        assert (task["n_scored"], task["n_failed"]) == (4, 1)
        assert result.failed_ok and result.stats["failure_causes"] == {"http_500": 1}

        srv.fault_plan = None
        srv.reset_stats()
        again = evaluate(run_config(engine, srv, tmp_path, data, policy=policy, concurrency=1))
        assert srv.stats.requests == 1 and srv.stats.completed == 1  # only the failed one is sent again
    assert again.stats["cached"] == 4 and again.stats["failed"] == 0
    assert all(ln["status"] == "ok" for ln in samples(tmp_path / "run"))


@pytest.mark.parametrize("engine", ["tgi", "openai"])
def test_a_server_away_mid_run_loses_no_request(tmp_path, engine, monkeypatch):
    """The server goes away mid-run — connections refused, then 503 "Loading model" — for longer than the
    attempts of the ordinary retry policy last (max_attempts=3; the outage lasts until the run has retried
    refused connections 4 times, then 503s twice: events, not durations): every request retries through it on
    the outage budget, none fails. (The same with a real 20 s outage and the default policy is what
    `--retry-budget` defaults to 600 s for.)"""
    import threading
    from dataclasses import replace

    data = invented_meqsum(tmp_path, n=12)
    policy = replace(POLICY, max_attempts=3, outage_budget_s=600.0)
    srv = FakeServer(responder=meqsum_oracle(data), model_id=MODEL, answer_limit=3).start()  # then holds the rest
    srv.port = srv._httpd.server_address[1]  # come back on the same port
    retried: Counter = Counter()  # the cause of every retry the run decided, as it decides it
    changed = threading.Condition()
    original = clue.runner._Wait.__call__

    def spy(self, state):
        exc = state.outcome.exception() if state.outcome else None
        with changed:
            retried[exc.cause if isinstance(exc, EngineError) else "unknown"] += 1
            changed.notify_all()
        return original(self, state)

    monkeypatch.setattr(clue.runner._Wait, "__call__", spy)
    failures: list[BaseException] = []

    def until(cause: str, n: int) -> None:
        with changed:
            assert changed.wait_for(lambda: retried[cause] >= n, timeout=120), f"{n} retries on {cause}: {retried}"

    def outage() -> None:
        try:
            srv.wait_until(lambda s: s.completed == 3 and s.in_flight == 2, what="3 answers, then 2 requests held")
            srv.stop()  # connections refused (the 2 held requests are dropped)
            until("connection", policy.max_attempts + 1)
            srv.faults = {"503": 1.0}  # back, but still loading the model
            srv.answer_limit = None
            srv.start()
            until("http_503", 2)
            srv.faults = {}
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread below
            failures.append(exc)
            srv.faults = {}
            srv.start()

    thread = threading.Thread(target=outage, daemon=True)
    thread.start()
    try:
        result = evaluate(run_config(engine, srv, tmp_path, data, policy=policy, concurrency=2))
    finally:
        thread.join(timeout=120)
        srv.stop()
    assert not thread.is_alive() and not failures, failures
    causes = result.stats["retry_causes"]
    assert causes.get("connection", 0) > 0 and causes.get("http_503", 0) > 0
    assert result.stats["retries"] > policy.max_attempts  # longer than max_attempts would have allowed
    assert result.stats["failed"] == 0 and all(ln["status"] == "ok" for ln in samples(tmp_path / "run"))
