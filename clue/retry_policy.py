"""The retry policy's values and rules, apart from the scheduling that applies them (clue/runner.py).

Which errors are retried (`rate_limit` and `transient` ones), for how long (`max_attempts`, or for an outage — the
server restarting or loading a model — `outage_budget_s`), and how long each wait is (`_Wait`: a 429's Retry-After,
else jittered exponential backoff; a first overload refusal goes straight back to the concurrency gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clue.engines.base import EngineError

if TYPE_CHECKING:  # tenacity loads with the first retry: a run answered at once never needs it
    from tenacity import RetryCallState


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6  # for every retryable error except an outage
    attempt_timeout_s: float = 300.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0
    outage_budget_s: float = 600.0  # an outage (connection refused/dropped, 502/503/504) retries this long per request


OUTAGE_STATUSES = (502, 503, 504)  # a proxy without its backend, a server loading or restarting


def is_outage(exc: BaseException | None) -> bool:
    """The server is away (restarting, loading a model): retried for a time budget, not a number of attempts."""
    return isinstance(exc, EngineError) and exc.kind == "transient" and (exc.label == "connection" or exc.status in OUTAGE_STATUSES)


class _Stopped(Exception):
    """A request waiting to retry when the run was stopped: it is not sent again."""

    attempts = 0  # set when raised from the retry loop


class _Failed(Exception):
    """A request's retries ended in `error` after `attempts` attempts."""

    def __init__(self, error: EngineError, attempts: int):
        super().__init__(error.message)
        self.error, self.attempts = error, attempts


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, EngineError) and exc.kind in ("rate_limit", "transient")


class _Wait:
    """429 with Retry-After waits exactly that long (capped); everything else: jittered exponential.

    `requeue_overload` (the gate follows the server): a request's first 429/503 without Retry-After
    goes straight back to the gate instead of sleeping. The gate has just cut the number in flight
    for that refusal, so the request waits for a slot under the lower number — the server's own
    pace — rather than a second or more of backoff (`make bench`: a proxy refusing beyond a limit
    it does not state). A second such refusal of the same request backs off as usual."""

    def __init__(self, policy: RetryPolicy, requeue_overload: bool = False):
        from tenacity import wait_random_exponential

        self.policy = policy
        self.jitter = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)
        self.requeue = requeue_overload

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, EngineError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.retry_after_max_s)
        if self.requeue and isinstance(exc, EngineError) and exc.status in (429, 503):
            self.requeue = False
            return 0.0
        return self.jitter(state)
