"""Any OpenAI-compatible endpoint (vLLM, llama.cpp, TGI's Messages API, hosted APIs).

Chat messages go to `{base}/chat/completions` (the server applies its own chat template, so
generation prefixes cannot be prefilled; the run record says so); a request that carries a
rendered prompt instead goes to `{base}/completions`. Temperature 0 is sent explicitly unless
another is asked for; retries are the runner's; token usage is recorded.

Why the kit builds the body and posts it itself (`clue/engines/openai_body.py`, over the same httpx2
client + lean loopback transport the tgi engine uses) instead of calling the OpenAI SDK — measured
on this machine (`make bench`, issue 16): `import openai` costs ~0.5 s (its package init imports
every typed model in `openai.types`), which alone exceeds the 0.3 s start-up budget of `clue run`;
`chat.completions.create` costs ~2.3 ms CPU per request (argument transform over every message,
pydantic response models), the SDK's low-level `post` ~0.6 ms, a plain post of the same JSON
~0.3 ms. What the SDK would add here is small and is kept: the same JSON body (tested against
the SDK's wire bytes), `Authorization: Bearer <key>`, the `OpenAI-Organization` / `OpenAI-Project`
headers from OPENAI_ORG_ID / OPENAI_PROJECT_ID, the error body's `error.message`, Retry-After.
Redirects are never followed (prompts reach only the endpoint the PHI guard checked).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx2

from clue import __version__
from clue.engines import openai_body
from clue.engines.base import EngineError, kind_for_status, parse_retry_after, redirect_error, server_message
from clue.engines.transport import make_transport
from clue.errors import EndpointError
from clue.types import Completion, Request


def _headers(api_key: str) -> dict[str, str]:
    headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json", "accept": "application/json",
               "user-agent": f"clue-kit/{__version__}"}
    for env, name in (("OPENAI_ORG_ID", "openai-organization"), ("OPENAI_PROJECT_ID", "openai-project")):
        if os.environ.get(env):  # what the SDK sends when these are set
            headers[name] = os.environ[env]
    return headers


class OpenAIEngine:
    kind = "openai"

    def __init__(self, url: str, model: str, *, api_key: str, timeout_s: float = 300.0, key_env: str = "OPENAI_API_KEY"):
        self.url = url.rstrip("/")
        self.key_env = key_env
        self.model = model
        self._timeout = timeout_s
        self._headers = _headers(api_key)
        # plain-http loopback servers: the kit's O(1) keep-alive transport; everything else: httpx2's own
        self._http = httpx2.AsyncClient(follow_redirects=False, timeout=timeout_s,
                                        transport=make_transport())

    def _status_error(self, response: httpx2.Response) -> EngineError:
        status = response.status_code
        if 300 <= status < 400:
            return redirect_error(self.url, status, response.headers.get("location"))
        message = server_message(response.content or f"HTTP {status}")
        if status == 404 and not self._versioned():  # the usual mistake: the server root instead of its /v1 base URL
            return EngineError("fatal", f"{self.url} answered HTTP 404 ({message}) — is --endpoint the OpenAI-compatible base URL? "
                                        f"It usually ends in /v1 (try {self.url}/v1)", status)
        if status == 404:
            return EngineError("fatal", f"{self.url} does not serve model {self.model!r} ({message}) — check --model", status)
        if status in (401, 403):
            return EngineError("fatal", f"{self.url} rejected the API key (HTTP {status}: {message}) — set {self.key_env} to a valid key "
                                        "(or name another variable with --api-key-env)", status)
        return EngineError(kind_for_status(status), message, status=status,
                           retry_after=parse_retry_after(response.headers.get("retry-after")))

    def _transport_error(self, exc: BaseException) -> EngineError:
        if isinstance(exc, httpx2.TimeoutException):
            return EngineError("transient", f"{self.url} timed out", label="timeout")
        if isinstance(exc, httpx2.TransportError):
            return EngineError("transient", f"connection to {self.url} failed ({type(exc).__name__})", label="connection")
        return EngineError("permanent", f"{type(exc).__name__}: {exc}")

    async def generate(self, request: Request) -> Completion:
        path, body = openai_body.route(self.model, request)
        start = time.perf_counter()
        try:
            response = await self._http.post(self.url + path, content=json.dumps(body).encode(), headers=self._headers)
        except Exception as exc:  # noqa: BLE001 — every failure is classified, none escapes raw
            raise self._transport_error(exc) from None
        if response.status_code >= 300:
            raise self._status_error(response)
        try:
            text, reason, usage = openai_body.parse_choice(json.loads(response.content), path == openai_body.CHAT_PATH)
        except ValueError:  # not JSON (an HTML page), or JSON without choices
            raise EngineError("transient", f"{self.url} sent a malformed response (no choices)", label="malformed") from None
        return Completion(text=text, finish_reason=reason, usage=usage, latency_s=time.perf_counter() - start)

    async def describe(self) -> dict[str, Any]:
        """List the served models; an unreachable endpoint, bad key or unknown model is a user error."""
        try:
            response = await self._http.get(self.url + "/models", headers=self._headers)
        except Exception as exc:  # noqa: BLE001
            raise EndpointError(f"cannot reach {self.url} ({self._transport_error(exc).message})", "start the server or fix --endpoint") from None
        served: list[str] = []
        if response.status_code == 404 and not self._versioned():  # the server root instead of its /v1 base URL
            raise EndpointError(f"{self.url}/models was not found: {self.url} is not an OpenAI-compatible base URL",
                                f"it usually ends in /v1 — try --endpoint {self.url}/v1")
        if response.status_code != 404:  # some hosted APIs have no model listing; generation will tell
            if response.status_code >= 300:
                err = self._status_error(response)
                what, _, fix = err.message.partition(" — ")
                raise EndpointError(what, fix)
            try:
                served = [str(m["id"]) for m in json.loads(response.content)["data"]]
            except (ValueError, KeyError, TypeError):  # an HTML page or other JSON
                raise EndpointError(f"{self.url}/models did not return OpenAI-compatible JSON",
                                    "is --endpoint the OpenAI-compatible base URL (usually ending in /v1)?") from None
        if served and self.model not in served:
            shown = ", ".join(served[:5]) + (" …" if len(served) > 5 else "")
            raise EndpointError(f"{self.url} does not serve model {self.model!r} (it serves: {shown})", "fix --model")
        return {"engine": "openai", "url": self.url, "model_id": self.model, "served_models": served[:20],
                "note": "the server applied its own chat template; generation prefixes could not be prefilled"}

    def _versioned(self) -> bool:
        """Does the base URL end in a version segment (/v1, /v1beta, /openai/v1 …)?"""
        import re

        return bool(re.search(r"/v\d+[a-z0-9]*$", self.url))

    def identity(self) -> str:
        """What pins the answers besides the model name: this server (base URL) and the model it serves."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        return f"{urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip('/'), '', ''))}#{self.model}"

    async def close(self) -> None:
        await self._http.aclose()
