"""The fake server's request handler: routing, the generation routes TGI and OpenAI share, and faults.

GET: /health, /info (TGI), /v1/models, /props (llama.cpp), /version (vLLM), the Batch API's lookups.
POST: TGI's / and /generate, OpenAI's /v1/chat/completions and /v1/completions, Azure's
/openai/deployments/{d}/(chat/)completions, the Batch API and /tokenize. A generation request is counted
at arrival, its fault (if any) decided then, before auth and validation; validation failures answer TGI's
422; the answer waits for the latency and the ``answer_limit`` gate. Like TGI, the native generate routes
keep the matched stop sequence at the end of ``generated_text``; the chat route drops it.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import sys
import time
from typing import Any

from .errors import _ERRORS, _Invalid, _oai_error
from .openai_routes import OpenAIRoutes
from .responders import _chat_text, _limit, _n_tokens
from .tokenizer import TokenizeRoute


class _Handler(OpenAIRoutes, TokenizeRoute):
    def _route(self, path: str) -> tuple[str | None, bool]:
        """(kind, azure) of a generation route: kind chat / completion / generate, or None."""
        fake = self.server.fake
        m = re.fullmatch(r"/openai/deployments/([^/]+)/(chat/completions|completions)", path)
        if m:
            return ("chat" if m.group(2) == "chat/completions" else "completion"), True
        if path == "/v1/chat/completions":
            return "chat", False
        if path == "/v1/completions":
            return "completion", False
        if path in ("/", "/generate") and fake.tgi:
            return "generate", False
        return None, False

    # -- routes -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        fake, path = self.server.fake, self.path.split("?", 1)[0].rstrip("/") or "/"
        fake._looked()
        if path == "/health":
            ok = fake.healthy
            return self._send(200 if ok else 503, {} if ok else {"error": "unhealthy", "error_type": "healthcheck"})
        if not self._authorized():
            return
        if path == "/info" and fake.tgi:
            return self._send(200, fake.info())
        m = re.fullmatch(r"/v1/(batches|files)/([^/]+)(/content)?", path)
        if m and fake.batch_api:
            return self._batch_get(m.group(1), m.group(2))
        if path == "/v1/batches" and fake.batch_api:  # newest first, one page
            with fake._lock:
                data = [{k: v for k, v in b.items() if k != "polls"} for b in reversed(fake.batches.values())]
            return self._send(200, {"object": "list", "data": data, "has_more": False,
                                    "first_id": data[0]["id"] if data else None, "last_id": data[-1]["id"] if data else None})
        if path == "/props" and fake.props is not None:
            return self._send(200, fake.props)
        if path == "/version" and fake.vllm_version is not None:
            return self._send(200, {"version": fake.vllm_version})
        if path == "/v1/models":
            model = {"id": fake.model_id, "object": "model", "created": 0, "owned_by": "fake"}
            return self._send(200, {"object": "list", "data": [model]})
        self._send(404, {"error": f"Not Found: GET {path}"})

    def do_POST(self) -> None:
        fake, path = self.server.fake, self.path.split("?", 1)[0].rstrip("/") or "/"
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if path in ("/v1/files", "/v1/batches") and fake.batch_api:
            return self._batch_post(path, raw) if self._authorized() else None
        if path == "/tokenize" and fake.tokenizer is not None:
            return self._tokenize(raw) if self._authorized() else None
        kind, azure = self._route(path)
        if kind is None:
            return self._send(404, {"error": f"Not Found: POST {path}"})
        self._open, self._key, fault = True, None, fake._arrive()
        try:
            if fault:
                return self._fault(fault, "generate" if kind == "generate" else "chat")
            if not self._authorized(azure):
                return
            if azure and not self._azure_ok(path):
                return
            try:
                body = json.loads(raw or b"null")
                if not isinstance(body, dict):
                    raise _Invalid("the JSON body must be an object")
                with fake._lock:
                    fake.bodies.append(body)
                if azure:
                    body = {**body, "model": fake.model_id}  # the deployment names the model, not the body
                if fake.reasoning and kind != "generate" and not self._reasoning_ok(body):
                    return
                self._generate(kind, path, body)
            except ValueError as exc:  # _Invalid or a JSON decoding error
                self._send(422, {"error": f"Input validation error: {exc}", "error_type": "validation"})
        finally:
            if self._open:  # nothing was sent (reset, hang, stopping)
                self._open = False
                fake._leave(None)

    def _generate(self, kind: str, path: str, body: dict[str, Any]) -> None:
        fake = self.server.fake
        if body.get("stream"):
            raise _Invalid("streaming is not supported by the fake server")
        if kind == "generate":
            params = body.get("parameters") or {}
            if not isinstance(params, dict):
                raise _Invalid("`parameters` must be an object")
            prompt, max_tokens, stops = body.get("inputs"), params.get("max_new_tokens"), params.get("stop") or []
            if not isinstance(prompt, str) or not prompt:
                raise _Invalid("`inputs` cannot be empty")
            truncate = params.get("truncate")
            if truncate is not None and not (isinstance(truncate, int) and 0 < truncate <= fake.max_input_tokens):
                raise _Invalid(f"`truncate` must be strictly positive and less than {fake.max_input_tokens}. "
                               f"Given: {truncate}")
            n_input = min(_n_tokens(prompt), truncate or sys.maxsize)
            key, payload = prompt, prompt
        else:
            model, messages = body.get("model"), body.get("messages")
            if model not in (fake.model_id, "tgi"):
                msg = f"The model `{model}` does not exist."
                return self._send(404, _oai_error(msg, "invalid_request_error", "model_not_found"))
            if kind == "completion":
                prompt = body.get("prompt")
                if not isinstance(prompt, str) or not prompt:
                    raise _Invalid("`prompt` must be a non-empty string")
                n_input, key, payload = _n_tokens(prompt), prompt, prompt
            else:
                if not isinstance(messages, list) or not messages:
                    raise _Invalid("`messages` must be a non-empty list")
                n_input, key, payload = _n_tokens(_chat_text(messages)), json.dumps(messages), messages
            max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
            stops = [body["stop"]] if isinstance(body.get("stop"), str) else body.get("stop") or []
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 0):
            raise _Invalid(f"`max_new_tokens` must be strictly positive. Given: {max_tokens}")
        if not isinstance(stops, list) or not all(isinstance(stop, str) for stop in stops):
            raise _Invalid("`stop` must be a list of strings")
        if len(stops) > fake.max_stop_sequences:
            raise _Invalid(f"`stop` supports up to {fake.max_stop_sequences} stop sequences. Given: {len(stops)}")
        if n_input > fake.max_input_tokens:
            raise _Invalid(f"`inputs` must have less than {fake.max_input_tokens} tokens. Given: {n_input}")
        if n_input + (max_tokens or 0) > fake.max_total_tokens:
            raise _Invalid(f"`inputs` tokens + `max_new_tokens` must be <= {fake.max_total_tokens}. "
                           f"Given: {n_input} `inputs` tokens and {max_tokens} `max_new_tokens`")
        thought = fake.reasoning_tokens.get(body.get("reasoning_effort") or "medium", 0) if fake.reasoning else 0
        budget = None if max_tokens is None else max_tokens - thought
        answer = fake.responder("generate" if kind == "completion" else kind, payload)
        if budget is not None and budget <= 0:  # the reasoning used the whole budget: an empty answer
            text, reason, thought = "", "length", max_tokens
        else:
            text, reason = _limit(answer, budget, stops, keep_stop=kind == "generate")
        n_out = _n_tokens(text) + thought
        if not fake._sleep(fake.latency_s + fake.latency_per_token_s * n_out) or not fake._pass_gate():
            return
        if kind in ("chat", "completion"):
            self._key = key
            usage: dict[str, Any] = {"prompt_tokens": n_input, "completion_tokens": n_out, "total_tokens": n_input + n_out}
            if fake.reasoning:
                usage["completion_tokens_details"] = {"reasoning_tokens": thought}
            finish = "length" if reason == "length" else "stop"
            choice: dict[str, Any] = ({"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                                       "finish_reason": finish} if kind == "chat" else
                                      {"index": 0, "text": text, "logprobs": None, "finish_reason": finish})
            self._send(200, {
                "id": f"cmpl-{fake._count}", "object": "chat.completion" if kind == "chat" else "text_completion",
                "created": int(time.time()), "model": fake.model_id, "system_fingerprint": f"{fake.version}-native",
                "choices": [choice], "usage": usage})
        else:
            params = body.get("parameters") or {}
            out: dict[str, Any] = {"generated_text": prompt + text if params.get("return_full_text") else text}
            if params.get("details"):
                out["details"] = {
                    "finish_reason": reason, "generated_tokens": n_out,
                    "seed": params.get("seed") if params.get("do_sample") else None,
                    "prefill": [], "tokens": [], "best_of_sequences": None, "top_tokens": []}
            self._key = key
            self._send(200, [out] if path == "/" else out)

    def _fault(self, fault: str, kind: str) -> None:
        fake = self.server.fake
        if fault == "reset":  # RST instead of a response
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
        elif fault == "hang":  # no response at all; the client must time out
            fake._sleep(fake.hang_s)
            self.close_connection = True
        elif fault == "malformed":
            self._send(200, b'{"id": "chatcmpl-x", "choices": [{"me' if kind == "chat" else b'{"generated_text": "tru')
        else:
            status, tgi_body, chat_body = _ERRORS[fault]
            headers = {"Retry-After": str(fake.retry_after)} if fault == "429_retry_after" else None
            self._send(status, chat_body if kind == "chat" else tgi_body, headers)

