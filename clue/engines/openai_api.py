"""Any OpenAI-compatible endpoint (vLLM, llama.cpp, TGI's Messages API, hosted APIs), both routes.

`--route chat`: chat messages go to `{base}/chat/completions` (the server applies its own chat
template; with `--prefill` the generation prefix goes as a final assistant message the server
continues — vLLM `continue_final_message`, llama.cpp by default). `--route completions`: the
kit renders the exact protocol prompt and it goes to `{base}/completions` (vLLM, llama.cpp,
Fireworks, Together tokenize it as given; BOS: a protocol that wants one BOS removes the template's
leading BOS text only where the server adds that same token — llama.cpp and vLLM are asked what they
add (`clue/engines/server_bos.py`, recorded in run.json), others are taken to add the model's BOS
as TGI does; the string is then sent unchanged). Which route a request takes follows from what it
carries (messages or a rendered prompt). The generation fields follow the model family's rules
(`clue/engines/families.py`: reasoning models get `max_completion_tokens`, no temperature/stop);
they are computed once per distinct `GenParams` and merged into the body at one point
(`openai_body.route`). Retries are the runner's; token usage (reasoning tokens too) and the
server's `system_fingerprint` are recorded, and `describe()` asks the server about itself
(`clue/engines/server_info.py`).

Why the kit builds the body and posts it itself (`clue/engines/openai_body.py`, over the connection
pool or httpx2 client the tgi engine uses: clue/engines/link.py) instead of calling the OpenAI SDK — measured
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
from typing import TYPE_CHECKING, Any

from clue import __version__
from clue.engines import families, openai_body, server_bos
from clue.engines.base import Engine, EngineError, connection_error, kind_for_status, parse_retry_after, redirect_error, server_message
from clue.engines.link import Link
from clue.engines.pool import Answer, as_response
from clue.engines.server_info import server_provenance
from clue.errors import EndpointError
from clue.types import Completion, Request

if TYPE_CHECKING:
    import httpx2

AZURE_HOSTS = (".openai.azure.com", ".cognitiveservices.azure.com")  # Azure OpenAI resources (both APIs; clue/engines/azure.py)


def _headers(api_key: str) -> dict[str, str]:
    headers = {"authorization": f"Bearer {api_key}", "content-type": "application/json", "accept": "application/json",
               "user-agent": f"clue-kit/{__version__}"}
    for env, name in (("OPENAI_ORG_ID", "openai-organization"), ("OPENAI_PROJECT_ID", "openai-project")):
        if os.environ.get(env):  # what the SDK sends when these are set
            headers[name] = os.environ[env]
    return headers


class OpenAIEngine(Engine):
    kind = "openai"

    def __init__(self, url: str, model: str, *, api_key: str, timeout_s: float = 300.0, key_env: str = "OPENAI_API_KEY",
                 route: str = "chat", family: str | None = None, reasoning_effort: str | None = None, prefill: bool = False):
        self.url = url.rstrip("/")
        self.key_env = key_env
        self.model = model
        self.route = route  # "chat" or "completions": what the run record says (requests carry messages or a prompt)
        self._family = families.family_for(model, family)  # clue/engines/families.py, resolved once
        families.check_effort(self._family, model, reasoning_effort)
        self.reasoning_effort = reasoning_effort
        self.prefill = prefill  # a final assistant message is continued (the generation prefix)
        self.server_kind = "unknown"  # set by describe(): llama.cpp answers a continued message with the prefix included
        self._fingerprints: set[str] = set()  # system_fingerprint values the server answered with
        self._fields: dict[Any, dict[str, Any]] = {}  # GenParams -> the family's generation fields (one per task)
        self._timeout = timeout_s
        self._api_key = api_key  # for the Batch API's SDK client (clue/engines/batch.py); never logged
        self._headers = self._make_headers(api_key)
        # plain-http loopback servers (vLLM, llama.cpp the kit drives): the kit's O(1) keep-alive pool, no httpx2;
        # everything else: an httpx2 client made on first use (clue/engines/link.py)
        self._link = Link(self.url, self._headers, self._new_client)

    def _new_client(self, transport: httpx2.AsyncBaseTransport | None) -> httpx2.AsyncClient:
        import httpx2

        return httpx2.AsyncClient(follow_redirects=False, timeout=self._timeout, transport=transport)

    def _make_headers(self, api_key: str) -> dict[str, str]:
        return _headers(api_key)

    def _url(self, path: str) -> str:
        """The URL of a route (`/chat/completions`, `/completions`) under the base URL."""
        return self.url + path

    def _hint_v1(self) -> bool:
        """Is a 404 likely the server root given instead of its /v1 base URL?"""
        return not self._versioned()

    def _not_found(self, message: str) -> str:
        return f"{self.url} does not serve model {self.model!r} ({message}) — check --model"

    def _status_error(self, response: httpx2.Response | Answer) -> EngineError:
        status = response.status_code
        if 300 <= status < 400:
            return redirect_error(self.url, status, response.headers.get("location"))
        message = server_message(response.content or f"HTTP {status}")
        if status == 404 and self._hint_v1():  # the usual mistake: the server root instead of its /v1 base URL
            return EngineError("fatal", f"{self.url} answered HTTP 404 ({message}) — is --endpoint the OpenAI-compatible base URL? "
                                        f"It usually ends in /v1 (try {self.url}/v1)", status)
        if status == 404:
            return EngineError("fatal", self._not_found(message), status)
        if status in (401, 403):
            return EngineError("fatal", f"{self.url} rejected the API key (HTTP {status}: {message}) — set {self.key_env} to a valid key "
                                        "(or name another variable with --api-key-env)", status)
        return EngineError(kind_for_status(status), message, status=status,
                           retry_after=parse_retry_after(response.headers.get("retry-after")))

    def _transport_error(self, exc: BaseException) -> EngineError:
        failed = connection_error(exc, self.url)  # timeouts and failed connections (the pool's or httpx2's)
        return failed if failed is not None else EngineError("permanent", f"{type(exc).__name__}: {exc}")

    def body(self, request: Request) -> dict[str, Any]:
        """The generation fields of the JSON body besides model and messages/prompt: the model family's rules, and
        the continuation flags when the last message is a prefilled assistant turn. Read-only (shared per params)."""
        fields = self._fields.get(request.params)
        if fields is None:
            fields = self._fields[request.params] = families.plan(self._family, request.params, self.reasoning_effort).fields
        if self.prefill and request.messages and request.messages[-1].get("role") == "assistant":
            return {**fields, "continue_final_message": True, "add_generation_prompt": False}  # vLLM; llama.cpp continues anyway
        return fields

    async def generate(self, request: Request) -> Completion:
        path, body = openai_body.route(self.model, request, self.body(request))
        start = time.perf_counter()
        url, data = self._url(path), json.dumps(body).encode()
        response: httpx2.Response | None = None
        try:
            direct = self._link.direct
            answer = await direct.post(url, data, self._timeout) if direct is not None else None
            if answer is None:  # not a loopback server: through httpx2 (hosted APIs)
                response = await self._link.http.post(url, content=data, headers=self._headers)
                answer = response.status_code, [], response.content
        except Exception as exc:  # noqa: BLE001 — every failure is classified, none escapes raw
            raise self._transport_error(exc) from None
        status, headers, content = answer
        if status >= 300:
            raise self._status_error(response if response is not None else as_response(status, headers, content, "POST", url))
        try:
            payload = json.loads(content)
            text, reason, usage = openai_body.parse_choice(payload, path == openai_body.CHAT_PATH)
        except ValueError:  # not JSON (an HTML page), or JSON without choices
            raise EngineError("transient", f"{self.url} sent a malformed response (no choices)", label="malformed") from None
        fingerprint = payload.get("system_fingerprint")
        if fingerprint and len(self._fingerprints) < 20:
            self._fingerprints.add(str(fingerprint))
        if self.prefill and self.server_kind == "llama.cpp" and request.messages:
            last = request.messages[-1]
            if last.get("role") == "assistant" and text.startswith(last["content"]):
                text = text[len(last["content"]):]  # the generated part only, as TGI's route and vLLM answer
        return Completion(text=text, finish_reason=reason, usage=usage, latency_s=time.perf_counter() - start)

    async def describe(self) -> dict[str, Any]:
        """List the served models; an unreachable endpoint, bad key or unknown model is a user error."""
        client = self._link.describer()  # the pool for a loopback server, else the httpx2 client
        try:
            response = await client.get(self.url + "/models", headers=self._headers, timeout=self._timeout)
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
        if served and self.model not in served and not self._azure_v1():
            shown = ", ".join(served[:5]) + (" …" if len(served) > 5 else "")
            raise EndpointError(f"{self.url} does not serve model {self.model!r} (it serves: {shown})", "fix --model")
        server = await server_provenance(client, self.url, self._headers)
        self.server_kind = server["kind"]
        if self.route == "completions":  # the kit renders the prompt: does the server add a BOS in front of it?
            bos = await server_bos.probe(client, self.url, self._headers, self.server_kind, self.model)
            if bos is not None:
                server["bos"] = bos
        return {"engine": "openai", "url": self.url, "model_id": self.model, "served_models": served[:20],
                "route": self.route, "server": server, "note": self._note(server.get("bos"))}

    def _note(self, bos: dict[str, Any] | None = None) -> str:
        if self.route == "completions":
            adds = (bos or {}).get("adds_in_front")
            said = ("the server was taken to add the model's BOS as TGI does" if adds is None else
                    f"the server said (/tokenize) it adds {' '.join(adds)} in front" if adds else
                    "the server said (/tokenize) it adds no BOS")
            return f"the kit rendered the prompt (chat template + generation prefix) and sent it to /v1/completions; {said}"
        return "the server applied its own chat template; " + (
            "generation prefixes were sent as a final assistant message to continue" if self.prefill
            else "generation prefixes could not be prefilled")

    def _azure_v1(self) -> bool:
        """Azure's v1 API lists models, not the deployment names that go in `model`: no check against it."""
        from urllib.parse import urlparse

        return (urlparse(self.url).hostname or "").endswith(AZURE_HOSTS)

    def sdk_client(self) -> Any:
        """An OpenAI SDK client for this endpoint, for the Batch API only (file upload, batch objects: off the
        per-request path, so the SDK's import cost is paid only by `--batch`). Redirects are not followed."""
        import openai

        return openai.AsyncOpenAI(base_url=self.url, api_key=self._api_key, max_retries=0, timeout=self._timeout,
                                  http_client=openai.DefaultAsyncHttpxClient(follow_redirects=False))

    def _versioned(self) -> bool:
        """Does the base URL end in a version segment (/v1, /v1beta, /openai/v1 …)?"""
        import re

        return bool(re.search(r"/v\d+[a-z0-9]*$", self.url))

    def identity(self) -> str:
        """What pins the answers besides the model name: this server (base URL) and the model it serves."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        return f"{urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip('/'), '', ''))}#{self.model}"

    def fingerprints(self) -> list[str]:
        """The `system_fingerprint` values the server answered with (at most 20), sorted."""
        return sorted(self._fingerprints)

    async def close(self) -> None:
        await self._link.aclose()
