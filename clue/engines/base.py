"""The engine interface and the error classes the runner's retry policy understands.

Each engine translates its SDK's exceptions into an `EngineError` with a `kind`:
  rate_limit — HTTP 429: wait Retry-After when the server sends it, else jittered backoff;
  transient  — 408, 5xx, connection drop, timeout, malformed response: jittered backoff;
  permanent  — any other 4xx: this request fails at once with the server's message;
  fatal      — 401/403 and "no such model": the whole run stops, nothing more is sent.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Literal, Protocol

from clue.types import Completion, Request

Kind = Literal["rate_limit", "transient", "permanent", "fatal"]


class EngineError(Exception):
    def __init__(self, kind: Kind, message: str, status: int | None = None, retry_after: float | None = None,
                 label: str | None = None):
        self.kind = kind
        self.label = label  # what went wrong when there is no HTTP status: timeout, connection, malformed
        self.status = status
        self.retry_after = retry_after
        self.message = message
        super().__init__(message)

    @property
    def cause(self) -> str:
        """Short label for counting retries by cause (e.g. 'http_429', 'timeout', 'connection', 'malformed')."""
        return f"http_{self.status}" if self.status else self.label or self.kind


def redirect_error(url: str, status: int, location: str | None) -> EngineError:
    """Redirects are never followed: a prompt (possibly patient text) must reach only the endpoint the
    user named, which the PHI guard checked. The run stops with the place to point at instead."""
    where = f" to {location}" if location else ""
    return EngineError("fatal", f"{url} answered HTTP {status} (a redirect{where}); the kit does not follow redirects, "
                                f"so prompts go only where you point — pass the final URL as --endpoint", status)


def connection_error(exc: BaseException, url: str) -> EngineError | None:
    """A timeout or failed connection — the kit's pool's `PoolError` or httpx2's `TransportError`, each checked only
    when its module is loaded (otherwise none can exist; this module stays light: asyncio, httpx2 load with an
    engine) — as the runner's transient error; None for any other exception."""
    pool = sys.modules.get("clue.engines.pool")
    if pool is not None and isinstance(exc, pool.PoolError):
        timeout, name = exc.timeout, exc.name  # the httpx2 class the same failure raises on the httpx2 route
    else:
        httpx2 = sys.modules.get("httpx2")
        if httpx2 is None or not isinstance(exc, httpx2.TransportError):
            return None
        timeout, name = isinstance(exc, httpx2.TimeoutException), type(exc).__name__
    if timeout:
        return EngineError("transient", f"{url} timed out", label="timeout")
    return EngineError("transient", f"connection to {url} failed ({name})", label="connection")


def kind_for_status(status: int) -> Kind:
    if status == 429:
        return "rate_limit"
    if status == 408 or status >= 500:
        return "transient"
    if status in (401, 403):
        return "fatal"
    return "permanent"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare for APIs and treated as absent)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def server_message(body: Any) -> str:
    """The human message inside a TGI ({"error": str}) or OpenAI ({"error": {"message"}}) error body."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, TypeError):
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return " ".join(text.split())[:200]
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Gemini's OpenAI-compatible errors: a list
        body = body[0]
    if isinstance(body, dict):
        err = body.get("error", body.get("message", body))
        if isinstance(err, dict):
            err = err.get("message", err)
        return str(err)[:300]
    return str(body)[:300]


class Engine(Protocol):
    """What a run asks of an engine. The three `async` methods are required; `identity` and `fingerprints` are
    optional capabilities whose defaults (nothing) an engine inherits by subclassing `Engine`.

    - `describe()`: the server's own account (model id, limits, version), read once before any request; it goes to
      run.json's `engine`, and an unreachable server, bad key or unknown model is an `EndpointError` here.
    - `identity()`: what pins the answers besides the model name (e.g. the server's base URL): when not None it goes
      into every request's key (`Endpoint.identity`), so answers from another server are never reused. The default,
      None, leaves the key as it is — changing it for an engine re-keys every cached answer of that engine.
    - `fingerprints()`: the build fingerprints the server answered with so far (OpenAI's `system_fingerprint`),
      recorded in run.json after the run; none by default.
    """

    kind: str

    async def generate(self, request: Request) -> Completion: ...

    async def describe(self) -> dict[str, Any]: ...

    async def close(self) -> None: ...

    def identity(self) -> str | None:
        return None

    def fingerprints(self) -> list[str]:
        return []
