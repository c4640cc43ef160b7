"""How many requests to keep in flight: a fixed number, or follow the server.

LLM servers batch continuously: throughput keeps rising with requests in flight up to the server's
own limit (TGI's `max_concurrent_requests`, vLLM's `--max-num-seqs`), and beyond it requests only
queue (vLLM) or are refused with 429 (TGI). So, unless `--concurrency` fixes a number:

* the server advertises its limit (TGI `/info` → `max_concurrent_requests`): keep exactly that many
  in flight — never more;
* it does not (OpenAI-compatible servers): start at `START` and grow while throughput grows —
  double while each step gains at least `GAIN`; when a step gains less, the server's batch is full:
  settle there (more in flight only queues) — up to `MAX_UNKNOWN`;
* either way, a 429 or 503 halves the number (once per round trip: answers to requests sent before
  the last cut don't cut again) and growth then resumes gently (×1.25), never above the number that
  was refused.

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
        self._last_cut = -math.inf  # when the limit was last cut (answers to earlier sends don't cut again)
        self._best = 0.0  # best throughput seen in this growth phase
        self._new_window(skip=0)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def fixed(cls, n: int) -> "Gate":
        return cls(limit=n, ceiling=n, adaptive=False, backs_off=False, source="--concurrency")

    @classmethod
    def for_server(cls, info: dict[str, Any]) -> "Gate":
        """Follow the server: its advertised limit when it has one, else adaptive growth."""
        advertised = info.get("max_concurrent_requests")
        if isinstance(advertised, int) and advertised > 0:
            return cls(limit=advertised, ceiling=advertised, adaptive=False, source="server /info max_concurrent_requests")
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
        self._refused_at = self.limit
        self._set(self.limit // 2, f"server overloaded (429/503) at {self.in_flight + 1} in flight: halved")
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
        if rate >= self._best * (1 + GAIN):
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


__all__ = ["Gate", "START", "MAX_UNKNOWN"]
