"""Any OpenAI-compatible chat-completions endpoint (vLLM, TGI's Messages API, hosted APIs).

The server applies its own chat template, so generation prefixes cannot be prefilled; the run
record says so. Temperature 0 is sent explicitly unless another is asked for; the SDK's own
retries are off (the runner retries); token usage is recorded.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from clue.engines.base import EngineError, kind_for_status, parse_retry_after, redirect_error, server_message
from clue.engines.families import body_fields
from clue.engines.server_info import server_provenance
from clue.engines.transport import make_transport
from clue.errors import EndpointError
from clue.types import Completion, Request


class OpenAIEngine:
    kind = "openai"
    route = "chat"

    def __init__(self, url: str, model: str, *, api_key: str, timeout_s: float = 300.0, key_env: str = "OPENAI_API_KEY",
                 family: str | None = None, reasoning_effort: str | None = None, prefill: bool = False):
        self.url = url.rstrip("/")
        self.key_env = key_env
        self.model = model
        self.family, self.reasoning_effort = family, reasoning_effort  # clue/engines/families.py
        self.prefill = prefill  # a final assistant message is continued (the generation prefix)
        self.server_kind = "unknown"  # set by describe(): llama.cpp answers a continued message with the prefix included
        self.fingerprints: set[str] = set()  # system_fingerprint values the server answered with
        transport = make_transport()  # plain-http local servers: O(1) connection reuse (clue/engines/transport.py)
        # never follow redirects (the SDK's client does by default): prompts go only to the checked endpoint
        http_client = openai.DefaultAsyncHttpxClient(follow_redirects=False, transport=transport)  # None: httpx2's own
        self._client = self._make_client(api_key, timeout_s, http_client)

    def _make_client(self, api_key: str, timeout_s: float, http_client: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.url, api_key=api_key, max_retries=0, timeout=timeout_s, http_client=http_client)

    def _not_found(self, message: str) -> str:
        return f"{self.url} does not serve model {self.model!r} ({message}) — check --model"

    def _translate(self, exc: BaseException) -> EngineError:
        if isinstance(exc, openai.APITimeoutError):
            return EngineError("transient", f"{self.url} timed out", label="timeout")
        if isinstance(exc, openai.APIConnectionError):
            return EngineError("transient", f"connection to {self.url} failed", label="connection")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if 300 <= status < 400:
                return redirect_error(self.url, status, exc.response.headers.get("location"))
            message = server_message(exc.body if exc.body is not None else exc.message)
            kind = kind_for_status(status)
            retry_after = parse_retry_after(exc.response.headers.get("retry-after"))
            if status == 404:
                return EngineError("fatal", self._not_found(message), status)
            if status in (401, 403):
                return EngineError("fatal", f"{self.url} rejected the API key (HTTP {status}: {message}) — set {self.key_env} to a valid key (or name another variable with --api-key-env)", status)
            return EngineError(kind, message, status=status, retry_after=retry_after)
        if isinstance(exc, (openai.APIResponseValidationError, ValueError)):
            return EngineError("transient", f"{self.url} sent a malformed response", label="malformed")
        return EngineError("permanent", f"{type(exc).__name__}: {exc}")

    async def generate(self, request: Request) -> Completion:
        assert request.messages is not None, "the openai engine sends chat messages"
        fields = self.body(request)
        start = time.perf_counter()
        try:
            resp = await self._client.chat.completions.create(
                model=self.model, messages=[dict(m) for m in request.messages], extra_body=fields  # type: ignore[arg-type]
            )
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from None
        if not getattr(resp, "choices", None):  # no choices, or not chat-completion JSON at all (an HTML page)
            raise EngineError("transient", f"{self.url} returned no choices", label="malformed")
        choice = resp.choices[0]
        text = choice.message.content or ""
        last = request.messages[-1] if self.prefill and request.messages else None
        if last is not None and last.get("role") == "assistant" and self.server_kind == "llama.cpp" \
                and text.startswith(last["content"]):
            text = text[len(last["content"]):]  # the generated part only, as TGI's route and vLLM answer
        return Completion(text=text, finish_reason=choice.finish_reason, usage=self._usage(resp),
                          latency_s=time.perf_counter() - start)

    def _usage(self, resp: Any) -> dict[str, int]:
        """Token usage (reasoning tokens too, when reported); notes the server's system_fingerprint."""
        if getattr(resp, "system_fingerprint", None) and len(self.fingerprints) < 20:
            self.fingerprints.add(str(resp.system_fingerprint))
        if resp.usage is None:
            return {}
        usage = {"prompt_tokens": resp.usage.prompt_tokens, "completion_tokens": resp.usage.completion_tokens}
        details = getattr(resp.usage, "completion_tokens_details", None)
        if details is not None and getattr(details, "reasoning_tokens", None):
            usage["reasoning_tokens"] = details.reasoning_tokens
        return usage

    def body(self, request: Request) -> dict[str, Any]:
        """The generation fields of the JSON body (the model family's rules), besides model and messages/prompt."""
        fields = body_fields(self.model, request.params, family=self.family, reasoning_effort=self.reasoning_effort).fields
        if self.prefill and request.messages and request.messages[-1].get("role") == "assistant":
            fields.update(continue_final_message=True, add_generation_prompt=False)  # vLLM; llama.cpp continues anyway
        return fields

    async def describe(self) -> dict[str, Any]:
        """List the served models; an unreachable endpoint, bad key or unknown model is a user error."""
        try:
            page = await self._client.models.list()
            served = [m.id for m in page.data]
        except openai.NotFoundError:
            served = []  # some hosted APIs have no model listing; generation will tell
        except Exception as exc:  # noqa: BLE001
            if not isinstance(exc, openai.OpenAIError):  # the SDK could not read the answer: HTML or other JSON
                raise EndpointError(f"{self.url}/models did not return OpenAI-compatible JSON ({type(exc).__name__})",
                                    "is --endpoint the OpenAI-compatible base URL (usually ending in /v1)?") from None
            err = self._translate(exc)
            if err.status is None:
                raise EndpointError(f"cannot reach {self.url} ({err.message})", "start the server or fix --endpoint") from None
            raise EndpointError(err.message.split(" — ")[0], err.message.split(" — ")[1] if " — " in err.message else "") from None
        if served and self.model not in served and not self._azure_v1():
            shown = ", ".join(served[:5]) + (" …" if len(served) > 5 else "")
            raise EndpointError(f"{self.url} does not serve model {self.model!r} (it serves: {shown})", "fix --model")
        server = await server_provenance(self._client, self.url)
        self.server_kind = server["kind"]
        return {"engine": "openai", "url": self.url, "model_id": self.model, "served_models": served[:20],
                "route": self.route, "server": server,
                "note": "the server applied its own chat template; " + (
                    "generation prefixes were sent as a final assistant message to continue" if self.prefill
                    else "generation prefixes could not be prefilled")}

    def _azure_v1(self) -> bool:
        """Azure's v1 API lists models, not the deployment names that go in `model`: no check against it."""
        from urllib.parse import urlparse

        from clue.engines.azure import AZURE_HOSTS

        return (urlparse(self.url).hostname or "").endswith(AZURE_HOSTS)

    async def close(self) -> None:
        await self._client.close()
