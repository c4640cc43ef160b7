"""Async scheduling: a bounded pool of workers, cache first, retries by one classified policy.

SDK-level retries are off (engines set them to 0); this is the only retry loop. A request
whose retries are exhausted, or that the server rejects permanently, becomes a *failed*
`Completion` (text None) — it is counted and reported, never scored as an empty answer.
A `fatal` error (bad credentials, unknown model) stops the whole run at once, and so does a
systematic rejection: until the first request succeeds, requests go one at a time, and when the
first `FAIL_FAST` of them are all rejected with the same 4xx message the run stops with that
message instead of sending the rest (a reasoning model refusing `max_tokens`, a bad field).
Ctrl-C: the first sends nothing more and lets the requests in flight land in the store, then
`Interrupted` is raised; a second one stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, Sized

from clue.concurrency import Gate
from clue.engines.base import Engine, EngineError
from clue.errors import EndpointError, UserError
from clue.retry_policy import RetryPolicy, _Failed, _retryable, _Stopped, _Wait, is_outage
from clue.secrets import redact
from clue.store import Store
from clue.types import Completion, Request

if TYPE_CHECKING:  # tenacity loads with the first retry: a run answered at once never needs it
    from tenacity import RetryCallState
    from tqdm import tqdm


class _NoBar:
    """The progress bar of a run that shows none (--no-progress, no terminal): tqdm is not imported (~20 ms of start-up)."""

    disable, total = True, None

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


TAKE = 32  # requests taken (rendered, looked up in the store) at a time
FAIL_FAST = 3  # identical permanent rejections, before any success, that stop a run


class Interrupted(Exception):
    """Ctrl-C during a run: the requests in flight were finished and stored, nothing more was sent."""


class CostCapReached(Interrupted):
    """--max-cost: the sent requests' reported cost reached the cap; requests in flight were stored."""


@dataclass
class RunStats:
    requests: int = 0  # requests this run needed
    cached: int = 0  # answered from the store
    sent: int = 0  # attempts that went to the engine
    completed: int = 0
    failed: int = 0
    retries: int = 0
    retry_causes: Counter = field(default_factory=Counter)
    failure_causes: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {**{k: v for k, v in self.__dict__.items() if not isinstance(v, Counter)},
                "retry_causes": dict(self.retry_causes), "failure_causes": dict(self.failure_causes)}


class Runner:
    def __init__(self, engine: Engine, store: Store, *, concurrency: int | Gate = 32, policy: RetryPolicy | None = None,
                 progress: bool = True, refresh: bool = False, meter: Any = None,
                 on_landed: Callable[[Sequence[tuple[Request, Completion]]], None] | None = None):
        self.refresh = refresh  # ask again even where the store has an answer (put replaces it)
        self.engine = engine
        self.store = store
        # requests in flight: a fixed number, or a Gate that follows the server (clue/concurrency.py)
        self.gate = concurrency if isinstance(concurrency, Gate) else Gate.fixed(max(1, concurrency))
        self.concurrency = self.gate.ceiling
        self.policy = policy or RetryPolicy()
        self.progress = progress
        self.stats = RunStats()
        self.meter = meter  # clue.budget.CostMeter: --max-cost
        self.on_landed = on_landed  # told of what landed (a batch per turn of the loop) and of what the store had
        self._cap_reached = False
        self.stopping = False  # set by the first Ctrl-C (or `stop()`)
        self._stop_event: asyncio.Event | None = None  # wakes requests sleeping between attempts
        self._proven = False  # a request succeeded, or the rejections so far were not all the same
        self._rejections: list[str] = []  # the permanent 4xx messages seen before that
        self._probe: asyncio.Lock | None = None  # one request at a time until proven
        self._halted: EngineError | None = None  # the fail-fast stop, for requests still waiting to probe
        self._landed: list[tuple[Request, Completion]] = []  # answered, to be written on the loop's next turn
        self._flush_due = False
        self._store_error: UserError | None = None

    def stop(self) -> None:
        """Send nothing more: requests in flight finish and are stored, requests waiting to retry give up."""
        self.stopping = True
        if self._stop_event is not None:
            self._stop_event.set()

    async def _backoff(self, seconds: float) -> None:
        """tenacity's sleep between attempts, cut short by `stop()`."""
        assert self._stop_event is not None
        try:
            await asyncio.wait_for(self._stop_event.wait(), seconds)
        except TimeoutError:
            return
        raise _Stopped

    async def _attempt(self, request: Request) -> Completion:
        sent_at = await self.gate.acquire()  # a slot per attempt: a request waiting to retry holds none
        if self.stopping:  # Ctrl-C while this request waited for a slot: it is not sent
            self.gate.release(sent_at, ok=False)
            raise _Stopped("not sent: the run was stopped")
        self.stats.sent += 1
        ok = overloaded = False
        try:
            async with asyncio.timeout(self.policy.attempt_timeout_s):
                completion = await self.engine.generate(request)
            ok = True
            return completion
        except TimeoutError:
            raise EngineError("transient", f"no answer within {self.policy.attempt_timeout_s:g} s (attempt timeout)", label="timeout") from None
        except EngineError as exc:
            overloaded = exc.status in (429, 503)
            raise
        finally:
            self.gate.release(sent_at, ok=ok, overloaded=overloaded)

    async def _one(self, request: Request, bar: tqdm) -> Completion:
        start = time.perf_counter()
        attempts = 1
        try:
            first: EngineError | None = None
            try:  # the usual case, answered at once, needs none of the retry machinery (~15 % of the client's CPU)
                completion = await self._attempt(request)
            except EngineError as exc:
                if not _retryable(exc):
                    raise
                first = exc
            if first is not None:  # retried outside the except block: later errors must not chain onto this one
                completion, attempts = await self._retry(request, bar, first)
        except _Stopped as exc:  # stopped while waiting to retry (or for a slot): not sent, not counted as failed (a re-run sends it)
            return Completion(text=None, error=str(exc) or "not retried: the run was stopped", attempts=exc.attempts or attempts,
                              latency_s=time.perf_counter() - start)
        except _Failed as failed:
            return self._failed(failed.error, failed.attempts, start)
        except EngineError as exc:
            return self._failed(exc, attempts, start)
        self.stats.completed += 1
        self._proven = True
        return Completion(text=completion.text, finish_reason=completion.finish_reason, usage=completion.usage,
                          latency_s=completion.latency_s or time.perf_counter() - start, attempts=attempts)

    def _failed(self, exc: EngineError, attempts: int, start: float) -> Completion:
        if exc.kind == "fatal":
            self._halted = exc  # requests waiting to probe are not sent
            raise exc
        self._note_rejection(exc)
        self.stats.failed += 1
        self.stats.failure_causes[exc.cause] += 1
        how = (f"after {attempts} attempts" if not is_outage(exc) else
               f"after {attempts} attempts over the {self.policy.outage_budget_s:g} s outage budget") if _retryable(exc) else "not retried"
        return Completion(text=None, error=redact(f"{exc.message} ({how})"), attempts=attempts,
                          latency_s=time.perf_counter() - start)

    async def _retry(self, request: Request, bar: tqdm, first: EngineError) -> tuple[Completion, int]:
        """The first attempt failed with `first` (retryable): tenacity takes over from there, counting it as attempt 1."""
        from tenacity import AsyncRetrying, retry_if_exception

        attempts = 1
        counted = 0  # attempts that failed for reasons other than an outage
        outage_since: float | None = None
        pending: EngineError | None = first

        def give_up(state: RetryCallState) -> bool:
            """Outages retry until `outage_budget_s` has passed since the outage began; the rest after max_attempts."""
            nonlocal counted, outage_since
            if self.stopping:
                return True
            exc = state.outcome.exception() if state.outcome else None
            if is_outage(exc):
                now = time.monotonic()
                outage_since = outage_since if outage_since is not None else now
                return now - outage_since >= self.policy.outage_budget_s
            outage_since = None
            counted += 1
            return counted >= self.policy.max_attempts

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.stats.retries += 1
            self.stats.retry_causes[exc.cause if isinstance(exc, EngineError) else "unknown"] += 1
            bar.set_postfix(retries=self.stats.retries, failed=self.stats.failed, refresh=False)

        retrying = AsyncRetrying(
            stop=give_up,
            wait=_Wait(self.policy, requeue_overload=self.gate.backs_off),
            retry=retry_if_exception(_retryable),
            before_sleep=before_sleep,
            sleep=self._backoff,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    if pending is not None:  # attempt 1 already happened: its error, replayed for tenacity's bookkeeping
                        error, pending = pending, None
                        raise error
                    completion = await self._attempt(request)
        except _Stopped as exc:
            exc.attempts = attempts
            raise
        except EngineError as exc:
            raise _Failed(exc, attempts) from None
        return completion, attempts

    def _note_rejection(self, exc: EngineError) -> None:
        """Before any success: FAIL_FAST identical 4xx rejections stop the run with the server's message."""
        if self._proven:
            return
        if exc.kind != "permanent" or exc.status is None or not 400 <= exc.status < 500:
            self._proven = True  # not a systematic rejection: send at full concurrency
            return
        self._rejections.append(f"HTTP {exc.status}: {exc.message}")
        if len(set(self._rejections)) > 1:
            self._proven = True
        elif len(self._rejections) >= FAIL_FAST:
            self._halted = EngineError("fatal", f"the server rejected the first {len(self._rejections)} requests alike "
                                       f"({self._rejections[0]}); nothing more was sent — fix the request options "
                                       f"(model family, --reasoning-effort, --temperature) or the endpoint", exc.status)
            raise self._halted

    async def _send(self, request: Request, bar: tqdm) -> Completion:
        """One request; while no request has succeeded yet, only one is in flight (fail fast, see above)."""
        if self._proven:
            return await self._one(request, bar)
        assert self._probe is not None
        async with self._probe:
            if self._halted is not None:
                raise self._halted
            if not self._proven:
                return await self._one(request, bar)
        return await self._one(request, bar)

    async def run(self, requests: Iterable[Request], label: str = "", expected: int | None = None) -> dict[str, Completion]:
        """Answer every request (deduplicated by key); returns key → Completion.

        `requests` is taken one, then `TAKE` at a time — each batch looked up in the store, the rest queued — so requests
        a task renders as they are taken (`Task.building`) go out while the later ones render: the first leaves before
        a second one is rendered. `expected`: how many there will be, for the progress bar."""
        results: dict[str, Completion] = {}
        total = expected if expected is not None else (len(requests) if isinstance(requests, Sized) else None)
        bar = self._bar(total, label)
        self._stop_event = asyncio.Event()
        self._probe = asyncio.Lock()
        if self.stopping:
            self._stop_event.set()
        queue: asyncio.Queue[Request | None] = asyncio.Queue()
        seen: dict[str, Request] = {}
        n_workers = self.gate.ceiling if total is None else max(1, min(self.gate.ceiling, total))

        async def take() -> None:
            pending = iter(requests)
            size = 1  # the first alone: it is the fail-fast probe, and goes out before a second one renders
            try:
                while not self.stopping:
                    batch = {}
                    for r in islice(pending, size):  # renders them, where they render as they are taken
                        if r.key not in seen:
                            seen[r.key] = batch[r.key] = r
                    if not batch:
                        break
                    self.stats.requests += len(batch)
                    hits = {} if self.refresh else self.store.get_many(batch)
                    results.update(hits)
                    self.stats.cached += len(hits)
                    if hits:
                        bar.update(len(hits))
                        if self.on_landed is not None:
                            self.on_landed([(batch[k], c) for k, c in hits.items()])
                    for k, r in batch.items():
                        if k not in hits:
                            queue.put_nowait(r)
                    size = TAKE
                    await asyncio.sleep(0)  # the requests queued so far go out while the next ones render
            finally:
                for _ in range(n_workers):
                    queue.put_nowait(None)  # no more: each worker ends once the queue is drained

        async def worker() -> None:
            while not self.stopping:
                request = await queue.get()
                if request is None or self.stopping:  # stopped while this worker waited: not sent
                    return
                completion = await self._send(request, bar)
                self._land(request, completion)  # stored on the event loop's next turn, with whatever else landed
                if self.meter is not None and completion.text is not None and self.meter.add(completion.usage):
                    self._cap_reached = True
                    self.stop()
                results[request.key] = completion
                bar.update(1)
                if completion.error is not None:
                    bar.set_postfix(retries=self.stats.retries, failed=self.stats.failed, refresh=False)

        tasks = [asyncio.create_task(take()), *(asyncio.create_task(worker()) for _ in range(n_workers))]
        previous = self._catch_sigint()
        gc.freeze()  # the requests and samples live all run long: keep full GC passes from rescanning them (stalls)
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:  # fatal (or a request that could not be rendered, a store that cannot be read): stop everything
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if isinstance(exc, EngineError):
                raise EndpointError(exc.message) from None
            raise
        finally:
            self._flush()
            gc.unfreeze()
            if bar.total != len(seen) and not bar.disable:
                bar.total = len(seen)
                bar.refresh()
            bar.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)  # type: ignore[arg-type]  # what signal.signal returned before
        if self._store_error is not None:
            raise self._store_error
        if self._cap_reached:
            raise CostCapReached(self.meter.summary())
        if self.stopping:
            raise Interrupted(f"{sum(1 for c in results.values() if not c.cached and c.text is not None)} new completion(s) stored")
        return results

    def _bar(self, total: int | None, label: str) -> tqdm:
        if not self.progress:
            return _NoBar()  # type: ignore[return-value]  # the part of tqdm's interface the runner uses
        from tqdm import tqdm

        return tqdm(total=total, desc=label or "requests", unit="req", dynamic_ncols=True, leave=True)

    def _land(self, request: Request, completion: Completion) -> None:
        """Completions that land in one turn of the event loop are written together, in one transaction, on the next."""
        self._landed.append((request, completion))
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        if not self._landed:
            return
        landed, self._landed = self._landed, []
        try:
            self.store.put_many(landed)
        except UserError as exc:  # the store cannot be written (disk full …): stop sending, say so when the run ends
            self._store_error = self._store_error or exc
            self.stop()
        if self.on_landed is not None:
            self.on_landed(landed)

    def _catch_sigint(self) -> object | None:
        """First Ctrl-C: stop sending and let requests in flight land in the store; a second one stops at once."""
        if threading.current_thread() is not threading.main_thread():
            return None
        loop = asyncio.get_running_loop()

        def announce() -> None:
            print("clue: stopping — finishing the requests in flight (Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

        def on_sigint(signum: int, frame: object) -> None:
            if self.stopping:
                raise KeyboardInterrupt
            self.stopping = True
            loop.call_soon_threadsafe(self.stop)  # wakes requests waiting to retry (an Event is not signal-safe)
            loop.call_soon_threadsafe(announce)  # printing inside a signal handler could re-enter stderr

        previous = signal.signal(signal.SIGINT, on_sigint)
        return previous if previous is not None else signal.SIG_DFL
