"""How many requests to keep in flight: a fixed number, or follow the server.

LLM servers batch continuously: throughput keeps rising with requests in flight up to the server's
own limit (TGI's `max_concurrent_requests`, vLLM's `--max-num-seqs`), and beyond it requests only
queue (vLLM) or are refused with 429 (TGI). So, unless `--concurrency` fixes a number:

* the server advertises its limit (TGI `/info` → `max_concurrent_requests`, on either route; llama.cpp
  `/props` → `total_slots`; see `advertised_limit`): keep exactly that many in flight — never more;
* it does not (OpenAI-compatible servers): start at `START` and grow while throughput grows —
  double while each step gains at least `GAIN`; when a step gains less, the server's batch is full:
  settle there (more in flight only queues) — up to `MAX_UNKNOWN`;
* either way, a 429 or 503 halves the number — or goes back to the last number that ran a whole
  window without refusals, when one is known below it (a hard limit lies between) — once per round
  trip (answers to requests sent before the last cut don't cut again); growth then resumes gently
  (×1.25) while throughput holds, never up to the number in flight when the server refused (the
  lowest such number seen).

Throughput is measured over windows of completed requests, each at least twice as many as are in flight
and at least `MIN_WINDOW_S` long, after letting one window's worth of requests drain at the new level.
`Gate` is what the runner awaits around each attempt.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable

START = 32  # the fixed default before servers were followed: never slower than that at the start
MAX_UNKNOWN = 512
GAIN = 0.10  # a doubling that gains less is noise on a busy machine, not a fuller batch (make bench)
MIN_WINDOW_S = 0.05


@dataclass
class Decision:
    """What the gate did, for the run record."""

    at_s: float
    limit: int
    why: str


@dataclass
class Gate:
    """Admits at most `limit` requests at once; `limit` follows throughput and overload signals unless fixed."""

    limit: int
    ceiling: int
    adaptive: bool = True  # grow while throughput grows
    backs_off: bool = True  # halve on 429/503 (then grow back gently, never past the refused number)
    source: str = ""  # where the ceiling came from (for the record)
    clock: Callable[[], float] = time.monotonic
    in_flight: int = 0
    max_in_flight: int = 0
    history: list[Decision] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, self.ceiling))
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._t0 = self.clock()
        self._growing = self.adaptive
        self._factor = 2.0
        self._refused_at: int | None = None  # a limit the server refused: growth stays below it
        self._good: int | None = None  # the highest number a whole measuring window ran at without a refusal since
        self._last_cut = -math.inf  # when the limit was last cut (answers to earlier sends don't cut again)
        self._best = 0.0  # best throughput seen in this growth phase
        self._skip, self._count, self._start = 0, 0, None  # type: int, int, float | None  # the first window (see _new_window)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def fixed(cls, n: int) -> Gate:
        return cls(limit=n, ceiling=n, adaptive=False, backs_off=False, source="--concurrency")

    @classmethod
    def for_server(cls, info: dict[str, Any]) -> Gate:
        """Follow the server: its advertised limit when it has one, else adaptive growth."""
        advertised = advertised_limit(info)
        if advertised is not None:
            limit, source = advertised
            return cls(limit=limit, ceiling=limit, adaptive=False, source=source)
        return cls(limit=START, ceiling=MAX_UNKNOWN, adaptive=True, source="adaptive (no advertised limit)")

    # -- admission ----------------------------------------------------------------------------

    async def acquire(self) -> float:
        """Wait for a slot; returns the send time (pass it to `release`)."""
        if self.in_flight >= self.limit or self._waiters:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            except BaseException:
                if not future.cancelled() and future.done():  # woken and then cancelled: pass the slot on
                    self.in_flight -= 1
                    self._wake()
                elif future in self._waiters:
                    self._waiters.remove(future)
                raise
        else:
            self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        now = self.clock()
        if self._start is None:  # the first window opens with the first request, not when the gate was made
            self._start = now
        return now

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def release(self, sent_at: float, *, ok: bool, overloaded: bool = False) -> None:
        """One attempt ended: `ok` it was answered; `overloaded` the server said 429/503."""
        self.in_flight -= 1
        if overloaded and self.backs_off and sent_at >= self._last_cut:
            self._cut()
        elif ok and self.adaptive:
            self._observe()
        self._wake()

    # -- adaptation ---------------------------------------------------------------------------

    def _set(self, limit: int, why: str) -> None:
        limit = max(1, min(limit, self.ceiling))
        if limit != self.limit:
            self.limit = limit
            self.history.append(Decision(round(self.clock() - self._t0, 3), limit, why))

    def _new_window(self, skip: int, start: float | None = None) -> None:
        self._skip = skip  # completions to let drain before measuring at the new level
        self._count = 0
        self._start = start

    def _cut(self) -> None:
        self._last_cut = self.clock()
        refused = self.in_flight + 1  # this attempt was in flight when the server refused it: its limit is below that
        self._refused_at = refused if self._refused_at is None else min(self._refused_at, refused)
        if self._good is not None and self._good < min(self.limit, refused):  # the last number that ran clean: a hard limit lies between
            self._set(self._good, f"server overloaded (429/503) at {refused} in flight: back to {self._good}, the last number without refusals")
        else:  # no clean number known below this one (or it was refused too): multiplicative back-off
            self._good = None
            self._set(self.limit // 2, f"server overloaded (429/503) at {refused} in flight: halved")
        self.adaptive = self._growing = True  # after a refusal even an advertised limit is probed back up to, never past
        self._factor, self._best = 1.25, 0.0
        self._new_window(skip=self.limit)

    def _observe(self) -> None:
        if not self._growing:
            return
        if self._skip > 0:
            self._skip -= 1
            if self._skip == 0:
                self._new_window(skip=0, start=self.clock())
            return
        self._count += 1
        if self._start is None:
            self._start = self.clock()
        elapsed = self.clock() - self._start
        if self._count < 2 * self.limit or elapsed < MIN_WINDOW_S:
            return
        rate = self._count / elapsed
        self._good = max(self._good or 0, self.limit)  # a whole window at this number without a refusal
        # below a number the server refused, the limit lies just under it: keep climbing while throughput holds
        need = 0.0 if self._refused_at is not None else GAIN
        if rate >= self._best * (1 + need):
            self._best = rate
            cap = self.ceiling if self._refused_at is None else max(1, self._refused_at - 1)
            target = min(cap, max(self.limit + 1, int(self.limit * self._factor)))
            if target > self.limit:
                self._set(target, f"throughput {rate:.1f}/s still rising: grow")
                self._new_window(skip=self.limit)
                return
        # no clear gain from the last step (or at the cap): the server's batch is full. Stay here: going back
        # would give up the last step's small gain (measured: fixed 128 beat 64 by ~8 % on the bench's batching
        # server), and a server that cannot take this many says so with 429/503
        self._growing = False
        self.history.append(Decision(round(self.clock() - self._t0, 3), self.limit, f"throughput {rate:.1f}/s: settle"))

    def describe(self) -> dict[str, Any]:
        return {"policy": "follow the server" if self.backs_off else "fixed",
                "source": self.source, "ceiling": self.ceiling, "final_limit": self.limit, "max_in_flight": self.max_in_flight,
                "changes": [d.__dict__ for d in self.history[:50]]}


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def advertised_limit(info: dict[str, Any]) -> tuple[int, str] | None:
    """The server's own limit on requests in flight, where it states one, and where it came from: TGI's
    `/info` `max_concurrent_requests` (read by the tgi engine, or found by the openai engine's server
    provenance when TGI serves its OpenAI-compatible route), llama.cpp's `/props` `total_slots` (requests
    beyond its slots only queue). vLLM states none (`--max-num-seqs` is not exposed): adaptive."""
    if (limit := _positive(info.get("max_concurrent_requests"))) is not None:
        return limit, "server /info max_concurrent_requests"
    server: dict[str, Any] = info["server"] if isinstance(info.get("server"), dict) else {}
    tgi, props = server.get("info"), server.get("props")
    if isinstance(tgi, dict) and (limit := _positive(tgi.get("max_concurrent_requests"))) is not None:
        return limit, "server /info max_concurrent_requests (TGI, OpenAI-compatible route)"
    if isinstance(props, dict) and (limit := _positive(props.get("total_slots"))) is not None:
        return limit, "llama.cpp /props total_slots"
    return None


__all__ = ["Gate", "START", "MAX_UNKNOWN", "advertised_limit"]
