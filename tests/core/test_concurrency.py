"""Requests in flight follow the server: its advertised limit (never exceeded), else growth while
throughput grows and a halving on 429/503; `--concurrency` fixes the number. The decision logic is
driven on a virtual clock (no timings asserted); the runner tests check the slots really bound the
requests in flight."""

from __future__ import annotations

import asyncio
import json

import pytest

from clue.concurrency import MAX_UNKNOWN, START, Gate
from clue.engines.base import EngineError
from clue.runner import RetryPolicy, Runner
from clue.store import Store
from clue.types import Completion, Endpoint, GenParams, Request

FAST = RetryPolicy(max_attempts=8, attempt_timeout_s=5, backoff_base_s=0.001, backoff_max_s=0.005)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def batching_rate(batch_cap: int, step_s: float = 0.02, tokens: int = 16):
    """Completions per second of a continuous-batching server with `n` requests in flight: each step serves
    min(n, cap) sequences and takes a little longer the fuller the batch; beyond the cap requests queue."""

    def rate(n: int) -> float:
        b = min(n, batch_cap)
        return b / (tokens * step_s * (1 + b / 32))

    return rate


def drive(gate: Gate, clock: Clock, rate, completions: int) -> None:
    """A saturated client: every slot is busy; answers arrive at the server's rate for the current limit."""
    for _ in range(completions):
        gate.in_flight = gate.limit
        clock.t += 1.0 / rate(gate.limit)
        gate.release(clock.t - 0.01, ok=True)


def adaptive(clock: Clock) -> Gate:
    return Gate(limit=START, ceiling=MAX_UNKNOWN, clock=clock)


@pytest.mark.parametrize("cap", [24, 64, 100, 256])
def test_grows_until_the_batch_is_full_and_then_settles(cap):
    clock = Clock()
    gate, rate = adaptive(clock), batching_rate(cap)
    drive(gate, clock, rate, 20000)
    best = rate(10 ** 6)
    assert rate(gate.limit) >= 0.95 * best  # reached the full batch…
    assert gate.limit < max(4 * cap, START * 2) + 1  # …and stopped within a doubling or two instead of running to the cap
    assert "settle" in gate.history[-1].why


def test_a_flat_server_gets_one_probe_and_no_more():
    clock = Clock()
    gate = adaptive(clock)
    drive(gate, clock, lambda n: 100.0, 5000)
    assert gate.limit == 2 * START and [d.limit for d in gate.history] == [2 * START, 2 * START]


def test_overload_halves_once_per_round_trip_and_growth_stays_below_the_refused_number():
    clock = Clock()
    gate = adaptive(clock)
    linear = lambda n: 10.0 * n  # noqa: E731 — a server that never fills: growth never stops by itself
    drive(gate, clock, linear, 3000)
    refused = gate.limit
    clock.t += 1
    gate.in_flight = gate.limit
    gate.release(clock.t - 0.5, ok=False, overloaded=True)
    assert gate.limit == refused // 2
    for _ in range(5):  # answers to requests sent before the cut do not cut again
        gate.in_flight = gate.limit
        gate.release(clock.t - 0.5, ok=False, overloaded=True)
    assert gate.limit == refused // 2
    drive(gate, clock, linear, 20000)
    assert refused // 2 < gate.limit < refused


def test_the_advertised_limit_is_used_and_only_lowered():
    clock = Clock()
    gate = Gate.for_server({"max_concurrent_requests": 40})
    gate.clock = clock
    assert (gate.limit, gate.ceiling, gate.adaptive) == (40, 40, False)
    drive(gate, clock, batching_rate(10 ** 6), 5000)
    assert gate.limit == 40
    gate.in_flight = 40
    clock.t += 1
    gate.release(clock.t, ok=False, overloaded=True)
    drive(gate, clock, batching_rate(10 ** 6), 20000)
    assert 20 <= gate.limit < 40


def test_a_fixed_number_never_moves():
    clock = Clock()
    gate = Gate.fixed(7)
    gate.clock = clock
    drive(gate, clock, batching_rate(10 ** 6), 2000)
    gate.in_flight = 7
    gate.release(clock.t, ok=False, overloaded=True)
    assert gate.limit == 7 and gate.history == []


def test_no_advertised_limit_means_adaptive():
    for info in ({}, {"max_concurrent_requests": None}, {"max_concurrent_requests": 0}):
        gate = Gate.for_server(info)
        assert gate.adaptive and gate.limit == START and gate.ceiling == MAX_UNKNOWN


# -- the runner keeps to the gate --------------------------------------------------------------------


def requests(n: int) -> list[Request]:
    return [Request(task="t", sample_id=str(i), params=GenParams(max_new_tokens=5), protocol="p",
                    endpoint=Endpoint("fake", "m"), prompt=f"prompt {i}") for i in range(n)]


class LimitedServer:
    """Counts requests in flight; refuses with 429 above `limit` (like TGI's router) when `refuse`."""

    kind = "fake"

    def __init__(self, limit: int, refuse: bool = False):
        self.limit, self.refuse = limit, refuse
        self.in_flight = self.max_in_flight = self.refused = 0

    async def generate(self, request: Request) -> Completion:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.refuse and self.in_flight > self.limit:
                self.refused += 1
                raise EngineError("rate_limit", "Model is overloaded", status=429)
            await asyncio.sleep(0.002)
            return Completion(text="ok")
        finally:
            self.in_flight -= 1

    async def describe(self) -> dict:
        return {"max_concurrent_requests": self.limit}

    async def close(self) -> None:
        return None


@pytest.mark.anyio
async def test_the_runner_never_exceeds_the_advertised_limit_and_fills_it(tmp_path):
    server = LimitedServer(limit=10, refuse=True)
    runner = Runner(server, Store(tmp_path / "s.sqlite"), concurrency=Gate.for_server(await server.describe()),
                    policy=FAST, progress=False)
    done = await runner.run(requests(300))
    assert len(done) == 300 and all(c.text == "ok" for c in done.values())
    assert server.max_in_flight == 10 and server.refused == 0 and runner.gate.max_in_flight == 10


@pytest.mark.anyio
async def test_429_above_an_unadvertised_limit_brings_the_number_down(tmp_path):
    server = LimitedServer(limit=12, refuse=True)
    gate = Gate(limit=48, ceiling=MAX_UNKNOWN)
    runner = Runner(server, Store(tmp_path / "s.sqlite"), concurrency=gate, policy=FAST, progress=False)
    done = await runner.run(requests(400))
    assert len(done) == 400 and runner.stats.failed == 0
    assert gate.limit <= 24 and any("429" in d.why for d in gate.history)


@pytest.mark.anyio
async def test_a_waiting_request_cancelled_after_its_slot_was_granted_passes_the_slot_on():
    gate = Gate(limit=1, ceiling=4, adaptive=False)
    first = await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    other = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release(first, ok=True)  # grants the slot to `waiter`…
    waiter.cancel()  # …which is cancelled before it runs
    await asyncio.sleep(0)
    sent = await asyncio.wait_for(other, 1)
    assert gate.in_flight == 1
    gate.release(sent, ok=True)
    assert gate.in_flight == 0


@pytest.mark.anyio
async def test_requests_waiting_for_a_slot_are_not_sent_after_a_stop(tmp_path):
    two_sent, answer = asyncio.Event(), asyncio.Event()

    class Slow:
        kind = "fake"
        calls = 0

        async def generate(self, request: Request) -> Completion:
            Slow.calls += 1
            if Slow.calls == 2:
                two_sent.set()
            await answer.wait()  # the answers come when the test says so
            return Completion(text="ok")

    runner = Runner(Slow(), Store(tmp_path / "s.sqlite"), concurrency=Gate(limit=2, ceiling=8, adaptive=False),
                    policy=FAST, progress=False)
    answer.set()
    await runner.run(requests(21)[20:])  # one answer first: until then requests go one at a time (fail-fast probe)
    answer.clear()
    Slow.calls, sent = 0, runner.stats.sent
    task = asyncio.create_task(runner.run(requests(20)))
    await asyncio.wait_for(two_sent.wait(), 120)  # both slots taken, 6 more workers waiting for one
    runner.stop()
    answer.set()
    with pytest.raises(Exception) as err:
        await task
    assert type(err.value).__name__ == "Interrupted"
    assert Slow.calls == 2 and runner.stats.sent - sent == 2  # the 6 workers waiting for a slot sent nothing


@pytest.mark.parametrize("engine, server, source, ceiling", [
    ("tgi", {}, "server /info max_concurrent_requests", 128),  # the fake TGI advertises max_concurrent_requests 128
    ("openai", {}, "server /info max_concurrent_requests (TGI, OpenAI-compatible route)", 128),  # TGI's Messages API
    ("openai", {"tgi": False}, "adaptive (no advertised limit)", MAX_UNKNOWN),  # vLLM-like: states no limit
    ("openai", {"tgi": False, "props": {"total_slots": 6, "model_path": "m.gguf"}}, "llama.cpp /props total_slots", 6),
])
def test_the_run_record_says_how_the_number_was_chosen(tmp_path, engine, server, source, ceiling):
    from tests.core.test_e2e import MODEL, invented_meqsum, meqsum_oracle
    from tests.core.test_faults import evaluate, run_config
    from tests.fakeserver import FakeServer

    data = invented_meqsum(tmp_path, n=43)
    with FakeServer(responder=meqsum_oracle(data), model_id=MODEL, **server) as srv:
        evaluate(run_config(engine, srv, tmp_path, data, concurrency=None))
        served = srv.stats.completed
    record = json.loads((tmp_path / "run" / "run.json").read_text())["concurrency"]
    assert served == 40 and record["policy"] == "follow the server"
    assert record["source"] == source and record["ceiling"] == ceiling
    assert record["max_in_flight"] <= ceiling  # never above the stated limit; growth past START is load-dependent by design


def test_a_refusal_above_a_clean_number_goes_back_to_it_and_growth_stops_below_the_refusal():
    """A hard limit (a proxy refusing beyond 24 without saying so): after the second refusal the gate returns to the last
    number that ran a whole window clean, not to half, and climbs no higher than just under the number refused."""
    clock = Clock()
    gate = adaptive(clock)
    rate = batching_rate(10 ** 6)  # never full by itself: only refusals stop growth

    def refuse_above(limit: int) -> None:
        if gate.limit > limit:  # an attempt sent after the last cut is refused
            gate.in_flight = gate.limit
            clock.t += 1
            gate.release(clock.t - 0.5, ok=False, overloaded=True)

    refuse_above(24)  # START (32) is refused at once: nothing ran clean yet, so halve
    assert gate.limit == START // 2
    for _ in range(200):
        drive(gate, clock, rate, 50)
        refuse_above(24)
    assert gate.limit == 24  # back to a clean number each time, then up to just under the lowest refused number
    assert any("back to" in d.why for d in gate.history) and [d for d in gate.history if "halved" in d.why][1:] == []


@pytest.mark.anyio
async def test_a_refused_request_goes_straight_back_to_the_gate_once_when_the_gate_adapts(tmp_path):
    """The first 429 (no Retry-After) of a request under an adaptive gate waits for a slot, not for backoff; with a fixed
    --concurrency every refusal backs off as before."""
    from clue.runner import _Wait

    slow = RetryPolicy(max_attempts=8, attempt_timeout_s=5, backoff_base_s=30.0, backoff_max_s=60.0)
    server = LimitedServer(limit=6, refuse=True)
    gate = Gate(limit=12, ceiling=MAX_UNKNOWN)
    runner = Runner(server, Store(tmp_path / "s.sqlite"), concurrency=gate, policy=slow, progress=False)
    done = await asyncio.wait_for(runner.run(requests(60)), 20)  # a 30 s backoff anywhere would time out
    assert len(done) == 60 and runner.stats.failed == 0 and server.refused > 0 and runner.stats.retries == server.refused

    wait = _Wait(slow, requeue_overload=False)

    class State:
        attempt_number = 1

        class outcome:
            @staticmethod
            def exception():
                return EngineError("rate_limit", "Model is overloaded", status=429)

    assert wait(State()) > 0  # fixed concurrency: backoff as before
    wait = _Wait(slow, requeue_overload=True)
    assert wait(State()) == 0 and wait(State()) > 0  # once straight back, then backoff
