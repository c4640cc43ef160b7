"""The runner with an in-process engine: retries, classification, failures, caching."""

from __future__ import annotations

import pytest

from clue.engines.base import EngineError
from clue.errors import EndpointError
from clue.runner import RetryPolicy, Runner, _Wait
from clue.store import Store
from clue.types import Completion, Endpoint, GenParams, Request

FAST = RetryPolicy(max_attempts=4, attempt_timeout_s=0.5, backoff_base_s=0.001, backoff_max_s=0.005)


def requests(n: int) -> list[Request]:
    return [Request(task="t", sample_id=str(i), params=GenParams(max_new_tokens=5), protocol="p",
                    endpoint=Endpoint("fake", "m"), prompt=f"prompt {i}") for i in range(n)]


class ScriptedEngine:
    """Raises the scripted errors for a prompt's first attempts, then answers."""

    kind = "fake"

    def __init__(self, script: dict[str, list[BaseException]] | None = None, hang: set[str] = frozenset()):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.hang = set(hang)
        self.calls: list[str] = []

    async def generate(self, request: Request) -> Completion:
        import asyncio

        self.calls.append(request.prompt)
        if request.prompt in self.hang:
            self.hang.discard(request.prompt)
            await asyncio.sleep(10)
        errors = self.script.get(request.prompt) or []
        if errors:
            raise errors.pop(0)
        return Completion(text=f"answer to {request.prompt}")

    async def describe(self):
        return {}

    async def close(self):
        return None


@pytest.mark.anyio
async def test_transient_errors_are_retried_and_complete(tmp_path):
    reqs = requests(5)
    engine = ScriptedEngine({"prompt 1": [EngineError("transient", "503", status=503)] * 2,
                             "prompt 2": [EngineError("rate_limit", "429", status=429)]}, hang={"prompt 3"})
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=3, policy=FAST, progress=False)
    done = await runner.run(reqs)
    assert all(c.status == "ok" for c in done.values())
    assert runner.stats.retries == 4 and runner.stats.failed == 0
    assert runner.stats.retry_causes == {"http_503": 2, "http_429": 1, "timeout": 1}
    assert done[reqs[1].key].attempts == 3


@pytest.mark.anyio
async def test_permanent_error_fails_fast_and_exhausted_retries_fail(tmp_path):
    reqs = requests(3)
    engine = ScriptedEngine({"prompt 0": [EngineError("permanent", "input too long", status=422)],
                             "prompt 1": [EngineError("transient", "500", status=500)] * 10})
    store = Store(tmp_path / "s.sqlite")
    runner = Runner(engine, store, concurrency=2, policy=FAST, progress=False)
    done = await runner.run(reqs)
    assert done[reqs[0].key].status == "failed" and "input too long" in done[reqs[0].key].error
    assert engine.calls.count("prompt 0") == 1  # not retried
    assert done[reqs[1].key].status == "failed" and done[reqs[1].key].attempts == FAST.max_attempts
    assert engine.calls.count("prompt 1") == FAST.max_attempts
    assert done[reqs[2].key].text == "answer to prompt 2"
    assert store.count() == 1  # failures are not stored


@pytest.mark.anyio
async def test_an_outage_retries_for_a_time_budget_not_a_number_of_attempts(tmp_path):
    """Connection refused and 502/503/504 (a restarting server) outlast max_attempts; other errors do not."""
    from dataclasses import replace

    outage = [EngineError("transient", "refused", label="connection"), EngineError("transient", "Loading model", status=503),
              EngineError("transient", "bad gateway", status=502)] * 5  # 15 failures > max_attempts
    engine = ScriptedEngine({"prompt 0": list(outage)})
    runner = Runner(engine, Store(tmp_path / "a.sqlite"), concurrency=1, policy=replace(FAST, outage_budget_s=30.0), progress=False)
    done = await runner.run(requests(1))
    assert runner.stats.failed == 0 and next(iter(done.values())).attempts == 16

    engine = ScriptedEngine({"prompt 0": [EngineError("transient", "Loading model", status=503)] * 10_000})
    runner = Runner(engine, Store(tmp_path / "b.sqlite"), concurrency=1, policy=replace(FAST, outage_budget_s=0.05), progress=False)
    done = await runner.run(requests(1))
    c = next(iter(done.values()))
    assert c.status == "failed" and "outage budget" in c.error and c.attempts > FAST.max_attempts


@pytest.mark.anyio
async def test_fatal_error_stops_the_run(tmp_path):
    engine = ScriptedEngine({f"prompt {i}": [EngineError("fatal", "bad key — set it", status=401)] for i in range(20)})
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=2, policy=FAST, progress=False)
    with pytest.raises(EndpointError, match="bad key"):
        await runner.run(requests(20))
    assert len(engine.calls) < 20


@pytest.mark.anyio
async def test_cached_requests_are_not_sent_again(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    reqs = requests(6)
    first = ScriptedEngine()
    await Runner(first, store, policy=FAST, progress=False).run(reqs[:4])
    second = ScriptedEngine()
    runner = Runner(second, store, policy=FAST, progress=False)
    done = await runner.run(reqs)
    assert sorted(second.calls) == ["prompt 4", "prompt 5"]
    assert runner.stats.cached == 4 and len(done) == 6


def test_retry_after_is_honoured_else_jitter():
    class Outcome:
        def __init__(self, exc):
            self._exc = exc

        def exception(self):
            return self._exc

    class State:
        def __init__(self, exc):
            self.outcome = Outcome(exc)
            self.attempt_number = 1

    wait = _Wait(RetryPolicy(backoff_base_s=1.0, backoff_max_s=2.0, retry_after_max_s=30))
    assert wait(State(EngineError("rate_limit", "x", 429, retry_after=7.0))) == 7.0
    assert wait(State(EngineError("rate_limit", "x", 429, retry_after=99.0))) == 30.0
    jittered = wait(State(EngineError("rate_limit", "x", 429)))
    assert 0.0 <= jittered <= 2.0


@pytest.mark.anyio
async def test_stop_during_backoff_sends_nothing_more(tmp_path):
    """A request waiting to retry when the run is stopped gives up: no further attempt, not counted as failed."""
    import asyncio

    from clue.runner import Interrupted

    reqs = requests(1)
    engine = ScriptedEngine({"prompt 0": [EngineError("rate_limit", "429", status=429, retry_after=3.0)]})
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=1, policy=RetryPolicy(max_attempts=4), progress=False)
    task = asyncio.create_task(runner.run(reqs))
    while runner.stats.retries == 0:  # the first attempt failed; the request now waits 3 s to retry
        await asyncio.sleep(0.01)
    runner.stop()
    with pytest.raises(Interrupted, match="0 new completion"):
        await task
    assert engine.calls == ["prompt 0"]  # stopping during the wait sent nothing more
    assert runner.stats.failed == 0 and runner.stats.sent == 1
    assert runner.store.get(reqs[0].key) is None  # a re-run will ask again


@pytest.mark.anyio
async def test_a_retried_request_is_classified_by_its_own_error_not_the_first_one(tmp_path):
    """The retry loop runs outside the first attempt's except block: a later error does not chain onto the first
    (an engine that walks __context__ for an HTTP response would otherwise read the first attempt's status)."""
    seen: list[BaseException | None] = []

    class Chaining(ScriptedEngine):
        async def generate(self, request):
            try:
                return await super().generate(request)
            except EngineError as exc:
                seen.append(exc.__context__)
                raise

    engine = Chaining({"prompt 0": [EngineError("rate_limit", "429", status=429), EngineError("transient", "bad json", label="malformed")]})
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=1, policy=FAST, progress=False)
    done = await runner.run(requests(1))
    assert next(iter(done.values())).attempts == 3
    assert seen == [None, None]
    assert runner.stats.retry_causes == {"http_429": 1, "malformed": 1}


@pytest.mark.anyio
async def test_completions_landing_together_are_stored_together_and_a_store_failure_stops_the_run(tmp_path, monkeypatch):
    from clue.errors import UserError

    store = Store(tmp_path / "s.sqlite")
    batches: list[int] = []
    original = store.put_many

    def spy(pairs):
        batches.append(len(pairs))
        original(pairs)

    monkeypatch.setattr(store, "put_many", spy)
    reqs = requests(40)
    runner = Runner(ScriptedEngine(), store, concurrency=8, policy=FAST, progress=False)
    await runner.run(reqs)
    assert store.count() == 40 and sum(batches) == 40 and len(batches) < 40  # grouped per turn of the event loop

    def full(pairs):
        raise UserError("cannot write to the response store (database or disk is full)", "free disk space")

    class Yielding(ScriptedEngine):  # a real engine waits on the network: the loop turns between answers
        async def generate(self, request):
            import asyncio

            await asyncio.sleep(0)
            return await super().generate(request)

    monkeypatch.setattr(store, "put_many", full)
    engine = Yielding()
    runner = Runner(engine, store, concurrency=2, policy=FAST, progress=False, refresh=True)
    with pytest.raises(UserError, match="disk is full"):
        await runner.run(requests(200))
    assert len(engine.calls) < 200  # sending stopped at the first failed write


@pytest.mark.anyio
async def test_a_run_computes_each_prompt_hash_as_its_answer_lands(tmp_path):
    """`clue run`'s landing hook (clue.evaluate._landed) leaves each landed request's prompt hash computed — the
    value samples.jsonl names, sha256 of the prompt's UTF-8 bytes, first 16 hex digits — so none is left to compute
    after the last answer; a failed request lands too, and a chat request hashes its messages' canonical JSON."""
    import hashlib

    from clue.evaluate import _landed

    reqs = requests(3) + [Request(task="t", sample_id="chat", params=GenParams(max_new_tokens=5), protocol="p",
                                  endpoint=Endpoint("fake", "m"), messages=({"role": "user", "content": "é?"},))]
    engine = ScriptedEngine({"prompt 2": [EngineError("permanent", "400", status=400)]})
    runner = Runner(engine, Store(tmp_path / "s.sqlite"), concurrency=2, policy=FAST, progress=False, on_landed=_landed(None))
    await runner.run(reqs)
    assert all("prompt_hash" in vars(r) for r in reqs)  # computed as they landed, not on first reading
    assert vars(reqs[0])["prompt_hash"] == hashlib.sha256(b"prompt 0").hexdigest()[:16]
    chat = '[{"content":"\u00e9?","role":"user"}]'.encode()
    assert vars(reqs[3])["prompt_hash"] == hashlib.sha256(chat).hexdigest()[:16]
