"""text-generation-inference's native generate route (POST /generate) and `GET /info`: to a loopback
server over the kit's connection pool (clue/engines/link.py: no httpx2 unless an answer is an error),
anywhere else over one httpx2 client, made on first use and set up the way huggingface_hub configures
its own (offline-mode hook, no redirects). `/info` no longer goes through
`huggingface_hub.AsyncInferenceClient`: importing it costs ~0.3 s, the whole start-up budget of
`clue run` (issue 16, `python -X importtime`), for one GET.

The prompt is the fully rendered string (chat template + generation prefix), as CLUE v3 sent
it; decoding is greedy unless a temperature is given; `stop` and `truncate` go as TGI
parameters. `describe()` reads `/info` (model_id, model_sha, version, docker_label, limits).
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from clue.engines.base import Engine, EngineError, connection_error, kind_for_status, parse_retry_after, redirect_error, server_message
from clue.engines.link import Link
from clue.engines.pool import as_response, target
from clue.errors import EndpointError
from clue.types import Completion, Request

if TYPE_CHECKING:
    import httpx2


def _response_of(exc: BaseException) -> Any:
    """The HTTP response behind an exception: its own, or one it was explicitly raised from (`raise … from`, as
    hub errors wrap the HfHubHTTPError that has it). Never an exception that was merely being handled when this one
    was raised (`__context__`): that may be an earlier attempt's answer (a malformed body after a 429 was once
    counted as a 429 that way)."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if response is not None:
            return response
        seen = seen.__cause__
    return None


def translate(exc: BaseException, url: str, key_env: str = "TGI_API_KEY") -> EngineError:
    """Map a hub/httpx/connection-pool exception onto the runner's retry classes."""
    if isinstance(exc, EngineError):
        return exc
    failed = connection_error(exc, url)  # timeouts and failed connections (the pool's or httpx2's)
    if failed is not None:
        return failed
    hub_errors = sys.modules.get("huggingface_hub.errors")  # not imported (~25 ms): then no hub error can exist
    if hub_errors is not None and isinstance(exc, hub_errors.InferenceTimeoutError):
        return EngineError("transient", f"{url} timed out", label="timeout")
    response = _response_of(exc)
    if response is not None:
        status = response.status_code
        if 300 <= status < 400:
            return redirect_error(url, status, response.headers.get("location"))
        message = server_message(getattr(response, "content", b"") or str(exc))
        kind = kind_for_status(status)
        if status == 404:
            kind, message = "fatal", f"{url} has no TGI generate route (HTTP 404: {message}) — is --endpoint the root URL of a TGI server?"
        elif kind == "fatal":
            message = f"{url} refused the request (HTTP {status}: {message}) — set {key_env} to the server's --api-key"
        return EngineError(kind, message, status=status, retry_after=parse_retry_after(response.headers.get("retry-after")))
    if isinstance(exc, ValueError):  # JSON decoding of a malformed body
        return EngineError("transient", f"{url} sent a malformed response ({type(exc).__name__})", label="malformed")
    return EngineError("permanent", f"{type(exc).__name__}: {exc}")


NO_TOKEN = "no-token"


def _endpoint_client_factory(host: str):
    """huggingface_hub's async client, except that HF_HUB_OFFLINE blocks the Hub and not our own TGI server.

    Offline GPU machines set HF_HUB_OFFLINE=1 (the TGI container gets it too); the hub's default
    request hook would then refuse even http://127.0.0.1:8080. Requests to `host` go through;
    anything else still obeys offline mode. httpx2 loads when the client is made, the hub's constants on its first request.
    """

    async def on_request(request: httpx2.Request) -> None:
        from huggingface_hub import constants

        if constants.is_offline_mode() and request.url.host != host:
            from huggingface_hub.errors import OfflineModeIsEnabled

            raise OfflineModeIsEnabled(f"Cannot reach {request.url}: offline mode is enabled (HF_HUB_OFFLINE)")

    async def on_response(response: httpx2.Response) -> None:
        if response.status_code >= 400:  # keep the body so the server's message reaches the error
            await response.aread()

    def factory(transport: httpx2.AsyncBaseTransport | None = None) -> httpx2.AsyncClient:
        import httpx2

        return httpx2.AsyncClient(event_hooks={"request": [on_request], "response": [on_response]},
                                  follow_redirects=False, timeout=None, transport=transport)  # see redirect_error

    return factory


class TGIEngine(Engine):
    kind = "tgi"

    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 300.0, key_env: str = "TGI_API_KEY"):
        self.url = url.rstrip("/")
        self.key_env = key_env
        # With token=None the hub client would send the user's HF token to this URL; a placeholder
        # bearer keeps it home (TGI without --api-key ignores the header).
        token = token or NO_TOKEN
        host = target(self.url).host  # a URL httpx2 cannot read fails here, as it did when the client was made here
        # Generation posts TGI's native JSON itself: AsyncInferenceClient.text_generation costs ~0.15 ms of
        # client CPU per request (dataclass parsing, a thread hop) — a third of the budget that keeps a
        # local server saturated (`make bench`). Same route semantics, same error mapping.
        self._headers = {"authorization": f"Bearer {token}"}
        self._timeout = timeout_s
        # a loopback server (the TGI container the kit starts): requests skip httpx2 (pool.DirectPost, DirectClient);
        # the offline hook has nothing to check there (the engine's own host) and error bodies are read whole anyway
        self._link = Link(self.url, self._headers, _endpoint_client_factory(host))

    async def generate(self, request: Request) -> Completion:
        """POST /generate {inputs, parameters} (greedy unless a temperature is given; details for usage)."""
        assert request.prompt is not None, "the tgi engine sends rendered prompts"
        p = request.params
        sampling = p.temperature is not None and p.temperature > 0
        params: dict[str, Any] = {"details": True, "max_new_tokens": p.max_new_tokens, "do_sample": sampling}
        if p.stop:
            params["stop"] = list(p.stop)
        if p.truncate is not None:
            params["truncate"] = p.truncate
        if sampling:
            params["temperature"] = p.temperature
        if p.seed is not None:
            params["seed"] = p.seed
        body = {"inputs": request.prompt, "parameters": params, "stream": False}
        start = time.perf_counter()
        try:
            url = self.url + "/generate"
            direct = self._link.direct
            answer = await direct.post(url, json.dumps(body).encode(), self._timeout) if direct is not None else None
            if answer is not None:
                status, headers, content = answer
                if status >= 300:  # the rare path: an httpx2 response, for the same error mapping
                    as_response(status, headers, content, "POST", url).raise_for_status()
                out = json.loads(content)
            else:
                response = await self._link.http.post(url, json=body, headers=self._headers, timeout=self._timeout)
                response.raise_for_status()
                out = response.json()
            out = out[0] if isinstance(out, list) and out else out
            if not isinstance(out, dict) or not isinstance(out.get("generated_text"), str):
                raise ValueError("no generated_text in the answer")
        except Exception as exc:  # noqa: BLE001 — every failure is classified, none escapes raw
            raise translate(exc, self.url, self.key_env) from None
        details = out.get("details") if isinstance(out.get("details"), dict) else None
        usage = {"completion_tokens": details["generated_tokens"]} if details and "generated_tokens" in details else {}
        return Completion(
            text=out["generated_text"],
            finish_reason=str(details["finish_reason"]) if details and details.get("finish_reason") is not None else None,
            usage=usage,
            latency_s=time.perf_counter() - start,
        )

    async def describe(self) -> dict[str, Any]:
        """GET /info; an unreachable or non-TGI endpoint is a user error."""
        try:
            response = await self._link.describer().get(self.url + "/info", headers=self._headers, timeout=30.0)
            response.raise_for_status()
            info = response.json()
        except Exception as exc:  # noqa: BLE001
            err = translate(exc, self.url, self.key_env)
            if err.status in (401, 403):
                raise EndpointError(f"TGI at {self.url} rejected the API key (HTTP {err.status})",
                                    f"set {self.key_env} to the server's --api-key (or --api-key-env NAME)") from None
            if err.status == 404 and self.url.endswith("/v1"):  # TGI's OpenAI route: --engine tgi wants the root
                raise EndpointError(f"{self.url} has no /info route: --engine tgi takes the server's root URL, not its OpenAI /v1 path",
                                    f"drop /v1: --endpoint {self.url[:-3]}") from None
            if err.status == 404:
                raise EndpointError(f"{self.url} has no /info route: not a TGI server", "use --engine openai for OpenAI-compatible servers") from None
            if err.label == "malformed":  # an answer, but not JSON: a web page, a login portal, another service
                raise EndpointError(f"{self.url}/info did not return TGI's Info JSON", "is --endpoint the root URL of a TGI server?") from None
            if err.status is None:
                raise EndpointError(f"cannot reach TGI at {self.url} ({err.message})", "start the server (clue serve up) or fix --endpoint") from None
            raise EndpointError(f"TGI at {self.url} answered /info with HTTP {err.status}: {err.message}", "check the server's logs") from None
        if not isinstance(info, dict) or "model_id" not in info:
            raise EndpointError(f"{self.url}/info did not return TGI's Info JSON", "is --endpoint a TGI server?")
        keep = ("model_id", "model_sha", "model_pipeline_tag", "max_concurrent_requests", "max_best_of", "max_stop_sequences",
                "max_input_tokens", "max_total_tokens", "max_client_batch_size", "router", "version", "sha", "docker_label")
        return {"engine": "tgi", "url": self.url, **{k: info.get(k) for k in keep}}

    async def close(self) -> None:
        await self._link.aclose()
