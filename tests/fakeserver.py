"""Loopback fake inference server for the test suite and benchmarks (stdlib only).

Imitates text-generation-inference (TGI) 3.x and an OpenAI-compatible server closely
enough for the real clients (``huggingface_hub.AsyncInferenceClient`` and
``openai.AsyncOpenAI``) to talk to it, with scripted outputs and injectable faults:

    with FakeServer(responder=OracleResponder({"input": "reference"}), faults={"429": 0.1}) as srv:
        client = AsyncInferenceClient(base_url=srv.url)          # TGI native: POST /
        oai = AsyncOpenAI(base_url=srv.url + "/v1", api_key="k")  # POST /v1/chat/completions
        ...
        assert srv.stats.completed == n_items

Routes: GET /health, GET /info (TGI Info), POST / and /generate (TGI generate), GET /v1/models,
POST /v1/chat/completions, POST /v1/completions (a prompt string), and Azure OpenAI's classic
POST /openai/deployments/{deployment}/(chat/)completions?api-version=… (`api-key` header; no
api-version or an unknown deployment: Azure's 404). ``reasoning=True`` imitates an OpenAI reasoning
model: ``max_tokens``, ``stop`` and a temperature other than 1 are rejected with OpenAI's 400
messages (temperature is accepted with ``reasoning_effort: "none"``); ``max_completion_tokens``
counts ``reasoning_tokens`` (per effort) first, so a small budget answers "" with finish_reason
"length". Every generation body received is kept in ``srv.bodies``. OpenAI's Batch API: POST /v1/files
(multipart upload), POST /v1/batches, GET /v1/batches (the list, newest first), GET /v1/batches/{id} (the batch runs its lines through the
responder on the ``batch_polls``-th look, then is "completed"), GET /v1/files/{id}/content; ``batch_api=False``:
all of these answer 404, like a vLLM or llama.cpp server.
``props=`` answers GET /props like llama.cpp's llama-server; ``tokenizer=LlamaTokenizer(...)`` answers its
POST /tokenize (``content``, ``add_special``, ``with_pieces``), adding a BOS in front or not; with
``vllm_version=`` it answers GET /version and /tokenize the way vLLM does (``prompt``, ``add_special_tokens``,
``return_token_strs``) instead.
Tokens are whitespace-split words. Like TGI, the native generate
routes keep the matched stop sequence at the end of ``generated_text``; the chat route drops it
(OpenAI semantics). ``tgi=False`` imitates a non-TGI server: /info, / and /generate answer 404.
Faults are decided at arrival on the generation routes, before auth and validation, by one
``random.Random(seed)`` draw per request (or by ``fault_plan``). Counters are updated before the
answer is written, so a client that got its answer can assert on ``srv.stats`` at once.

Waiting without a clock: ``srv.wait_until(lambda s: s.completed >= 4, proc, "4 answers")`` returns as soon as
the counters (``Stats``) satisfy the predicate — every change notifies it — and fails the test with that text if
``proc`` (a client subprocess) ends first or a 120 s safety net passes (it never gives up silently).
``answer_limit=N`` answers the first N successful generation requests and holds every later one in flight
(unanswered, no timer) until ``srv.release()``; ``answer_limit=0`` holds them all.

Script mode: ``python tests/fakeserver.py --port 0 [--oracle map.json] [--model-id ID]
[--latency S] [--api-key K] [--fault KIND=P ...] [--seed N] [--answer-limit N]`` prints ``READY <url>`` and serves
until SIGTERM/SIGINT, then prints one JSON stats line. Only ever binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Responder = Callable[[str, Any], str]
FAULT_KINDS = ("429", "429_retry_after", "503", "500", "408", "reset", "hang", "malformed", "400", "401", "404")
HOST = "127.0.0.1"
_STEP = 0.02  # granularity of interruptible sleeps


@dataclass(frozen=True)
class LlamaTokenizer:
    """A llama.cpp-shaped /tokenize: special-token texts are parsed as one token each (llama.cpp's
    parse_special), other text splits into words and single whitespace characters with ids from their
    crc32; ``add_special`` puts ``bos`` in front only when ``add_bos`` (the GGUF's add_bos_token)."""

    specials: dict[str, int]
    bos: str | None = None
    add_bos: bool = True

    def tokenize(self, content: str, add_special: bool) -> list[tuple[int, str]]:
        import zlib

        names = "|".join(re.escape(t) for t in sorted(self.specials, key=len, reverse=True))
        out: list[tuple[int, str]] = []
        for chunk in re.split(f"({names})", content) if names else [content]:
            if chunk in self.specials:
                out.append((self.specials[chunk], chunk))
            else:
                out += [(1000 + zlib.crc32(w.encode()) % 90000, w) for w in re.findall(r"\S+|\s", chunk)]
        if add_special and self.add_bos and self.bos is not None:
            out.insert(0, (self.specials[self.bos], self.bos))
        return out


def echo_responder(kind: str, payload: Any) -> str:
    """Echo: the last user message's content (chat) or the last 200 chars of the prompt (generate)."""
    if kind == "chat":
        users = [m.get("content") for m in payload if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users and isinstance(users[-1], str) else ""
    return str(payload)[-200:]


def constant_responder(text: str) -> Responder:
    """Always answer ``text``."""
    return lambda kind, payload: text


class OracleResponder:
    """Answer the reference of the input that occurs last in the prompt.

    Prompts hold few-shot examples before the real input, so among the keys found in the prompt
    (chat: the message contents joined by newlines) the one whose last occurrence ends furthest
    right wins (ties: the longer key). Unknown input -> "".
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = {k: v for k, v in mapping.items() if k}

    def __call__(self, kind: str, payload: Any) -> str:
        text = _chat_text(payload) if kind == "chat" else str(payload)
        best: tuple[int, int] | None = None
        answer = ""
        for key, ref in self.mapping.items():
            pos = text.rfind(key)
            if pos >= 0 and (best is None or (pos + len(key), len(key)) > best):
                best, answer = (pos + len(key), len(key)), ref
        return answer


@dataclass
class Stats:
    """Snapshot of the server's counters (also subscriptable: ``stats["completed"]``)."""

    requests: int = 0  # generation requests received (faulted and rejected ones included)
    completed: int = 0  # successful generation responses sent
    faulted: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    lookups: int = 0  # GET requests received (/health, /info, /v1/models …)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


def _chat_text(messages: Any) -> str:
    parts = []
    for m in messages if isinstance(messages, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        parts.append(content if isinstance(content, str) else json.dumps(content) if content else "")
    return "\n".join(parts)


def _n_tokens(text: str) -> int:
    return len(text.split())


def _limit(text: str, max_tokens: int | None, stops: list[str], keep_stop: bool) -> tuple[str, str]:
    """Apply the token limit, then the earliest stop sequence; return (text, TGI finish_reason)."""
    reason = "eos_token"
    if max_tokens is not None:
        words = list(re.finditer(r"\S+", text))
        if len(words) > max_tokens:
            text, reason = text[: words[max_tokens - 1].end()] if max_tokens > 0 else "", "length"
    hits = [(i, s) for s in stops if s and (i := text.find(s)) >= 0]
    if hits:
        i, s = min(hits)
        text, reason = text[: i + len(s)] if keep_stop else text[:i], "stop_sequence"
    return text, reason


class _Invalid(ValueError):
    """A TGI-style 422 validation error."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops SYNs under concurrent load (1 s retransmits)
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # client hang-ups are expected here
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    _open = False  # a generation request whose accounting is pending
    _key: str | None = None  # what to record in completed_inputs when it succeeds

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls
        self.server.fake._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, False)

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        if self._open:  # account before the client can see the answer
            self._open = False
            self.server.fake._leave(self._key)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self, azure: bool = False) -> bool:
        key = self.server.fake.api_key
        if azure:
            if not key or self.headers.get("api-key") == key:
                return True
            self._send(401, {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong "
                                                                 "API endpoint. Make sure to provide a valid key for an "
                                                                 "active subscription and use a correct regional API "
                                                                 "endpoint for your resource."}})
            return False
        if not key or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send(401, _oai_error("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
        return False

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

    def _tokenize(self, raw: bytes) -> None:
        """llama.cpp's POST /tokenize: {"tokens": [id, …]} or, with ``with_pieces``, [{"id", "piece"}, …]."""
        fake = self.server.fake
        body = json.loads(raw or b"{}")
        with fake._lock:
            fake.tokenize_bodies.append(body)
        if fake.vllm_version is not None:  # vLLM: add_special_tokens defaults to true; token_strs only when asked
            tokens = fake.tokenizer.tokenize(str(body.get("prompt", "")), bool(body.get("add_special_tokens", True)))
            return self._send(200, {"count": len(tokens), "max_model_len": fake.max_total_tokens, "tokens": [i for i, _ in tokens],
                                    "token_strs": [p for _, p in tokens] if body.get("return_token_strs") else None})
        tokens = fake.tokenizer.tokenize(str(body.get("content", "")), bool(body.get("add_special", False)))
        self._send(200, {"tokens": [{"id": i, "piece": p} for i, p in tokens] if body.get("with_pieces")
                         else [i for i, _ in tokens]})

    # -- OpenAI Batch API ------------------------------------------------------------------------
    def _batch_post(self, path: str, raw: bytes) -> None:
        fake = self.server.fake
        with fake._lock:
            n = len(fake.files) + len(fake.batches)
            if path == "/v1/files":
                from email.parser import BytesParser

                msg = BytesParser().parsebytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw)
                content = next(p.get_payload(decode=True) for p in msg.get_payload() if p.get_param("name", header="content-disposition") == "file")
                fid = f"file-{n}"
                fake.files[fid] = content
                return self._send(200, {"id": fid, "object": "file", "bytes": len(content), "created_at": 0,
                                        "filename": "batch.jsonl", "purpose": "batch", "status": "processed"})
            body = json.loads(raw)
            if body.get("input_file_id") not in fake.files:
                return self._send(400, _oai_error("Invalid input_file_id", "invalid_request_error", None))
            bid = f"batch_{n}"
            fake.batches[bid] = {"id": bid, "object": "batch", "endpoint": body["endpoint"], "input_file_id": body["input_file_id"],
                                 "completion_window": "24h", "status": "in_progress", "created_at": int(time.time()),
                                 "metadata": body.get("metadata"),
                                 "output_file_id": None, "error_file_id": None, "polls": 0,
                                 "request_counts": {"total": fake.files[body["input_file_id"]].count(b"\n"), "completed": 0, "failed": 0}}
            return self._send(200, {k: v for k, v in fake.batches[bid].items() if k != "polls"})

    def _batch_get(self, what: str, ident: str) -> None:
        fake = self.server.fake
        if not self._authorized():
            return
        with fake._lock:
            if what == "files":
                if ident not in fake.files:
                    return self._send(404, _oai_error("No such file", "invalid_request_error", None))
                return self._send(200, fake.files[ident])
            batch = fake.batches.get(ident)
            if batch is None:
                return self._send(404, _oai_error("No such batch", "invalid_request_error", None))
            batch["polls"] += 1
            if batch["status"] == "in_progress" and batch["polls"] >= fake.batch_polls:
                out = []
                for line in fake.files[batch["input_file_id"]].decode().splitlines():
                    item = json.loads(line)
                    req = item["body"]
                    text, reason = _limit(fake.responder("chat", req["messages"]) if "messages" in req else
                                          fake.responder("generate", req["prompt"]),
                                          req.get("max_completion_tokens", req.get("max_tokens")),
                                          [req["stop"]] if isinstance(req.get("stop"), str) else req.get("stop") or [], False)
                    n_in = _n_tokens(_chat_text(req["messages"]) if "messages" in req else req["prompt"])
                    choice = ({"index": 0, "message": {"role": "assistant", "content": text}} if "messages" in req
                              else {"index": 0, "text": text})
                    choice["finish_reason"] = "length" if reason == "length" else "stop"
                    out.append(json.dumps({"id": "r", "custom_id": item["custom_id"], "error": None, "response": {
                        "status_code": 200, "request_id": "q", "body": {
                            "id": "x", "object": "chat.completion", "created": 0, "model": req["model"], "choices": [choice],
                            "usage": {"prompt_tokens": n_in, "completion_tokens": _n_tokens(text),
                                      "total_tokens": n_in + _n_tokens(text)}}}}))
                    fake.batch_completed.append(item["custom_id"])
                fid = f"file-out-{ident}"
                fake.files[fid] = ("\n".join(out) + "\n").encode()
                batch.update(status="completed", output_file_id=fid)
                batch["request_counts"]["completed"] = len(out)
            return self._send(200, {k: v for k, v in batch.items() if k != "polls"})

    def _azure_ok(self, path: str) -> bool:
        """Azure's classic routes: api-version is required and the deployment must exist."""
        fake = self.server.fake
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        if not re.search(r"(^|&)api-version=[^&]+", query):
            self._send(404, {"error": {"code": "404", "message": "Resource not found"}})
            return False
        deployment = path.split("/")[3]
        if deployment not in fake.deployments:
            self._send(404, {"error": {"code": "DeploymentNotFound", "message": "The API deployment for this resource "
                                       "does not exist. If you created the deployment within the last 5 minutes, please "
                                       "wait a moment and try again."}})
            return False
        return True

    def _reasoning_ok(self, body: dict[str, Any]) -> bool:
        """An OpenAI reasoning model's parameter checks (messages as the API words them)."""
        def reject(message: str, param: str, code: str) -> bool:
            self._send(400, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}})
            return False

        if "max_tokens" in body:
            return reject("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                          "'max_completion_tokens' instead.", "max_tokens", "unsupported_parameter")
        temperature = body.get("temperature")
        if temperature is not None and temperature != 1 and body.get("reasoning_effort") != "none":
            return reject(f"Unsupported value: 'temperature' does not support {temperature:g} with this model. Only the "
                          f"default (1) value is supported.", "temperature", "unsupported_value")
        if body.get("stop"):
            return reject("Unsupported parameter: 'stop' is not supported with this model.", "stop", "unsupported_parameter")
        return True

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


def _oai_error(message: str, type_: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


_OVERLOADED = {"error": "Model is overloaded", "error_type": "overloaded"}  # TGI's queue-full answer
_ERRORS: dict[str, tuple[int, dict[str, Any], dict[str, Any]]] = {  # kind -> (status, TGI body, chat body)
    "429": (429, _OVERLOADED, _OVERLOADED),  # TGI answers its chat route the same way
    "429_retry_after": (429, _OVERLOADED, _oai_error("Rate limit reached.", "rate_limit_error", "rate_limit_exceeded")),
    "500": (500, {"error": "Request failed during generation: incomplete generation",  # TGI's own 500
                  "error_type": "incomplete_generation"}, _oai_error("Internal server error", "server_error", None)),
    "503": (503, {"error": "Service Unavailable"}, _oai_error("Service Unavailable", "server_error", None)),  # gateway
    "408": (408, {"error": "Request Timeout"}, _oai_error("Request Timeout", "server_error", None)),  # gateway
    # permanent: a proxy's rejection, a revoked key, a route or model that went away mid-run
    "400": (400, {"error": "Bad Request: request rejected by policy", "error_type": "bad_request"},
            _oai_error("Bad Request: request rejected by policy", "invalid_request_error", None)),
    "401": (401, {"error": "Unauthorized: the API key was revoked", "error_type": "authentication"},
            _oai_error("Unauthorized: the API key was revoked", "invalid_request_error", "invalid_api_key")),
    "404": (404, {"error": "Not Found: the route went away", "error_type": "not_found"},
            _oai_error("The model went away.", "invalid_request_error", "model_not_found")),
}


class FakeServer:
    """A TGI/OpenAI look-alike on 127.0.0.1 in a daemon thread; see the module docstring."""

    version = "3.3.7"

    def __init__(
        self, *, port: int = 0, responder: Responder = echo_responder, model_id: str = "fake/model",
        model_sha: str = "0" * 40, api_key: str | None = None, tgi: bool = True, healthy: bool = True,
        faults: dict[str, float] | None = None, fault_plan: list[str | None] | None = None, seed: int = 0,
        retry_after: float = 1, hang_s: float = 30.0, latency_s: float = 0.0, latency_per_token_s: float = 0.0,
        max_input_tokens: int = 4095, max_total_tokens: int = 4096, max_stop_sequences: int = 4,
        reasoning: bool = False, reasoning_tokens: dict[str, int] | None = None, deployments: tuple[str, ...] | None = None,
        props: dict[str, Any] | None = None, batch_api: bool = True, tokenizer: LlamaTokenizer | None = None,
        vllm_version: str | None = None, answer_limit: int | None = None,
    ) -> None:
        for kind in [*(faults or {}), *(k for k in fault_plan or [] if k)]:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if sum((faults or {}).values()) > 1:
            raise ValueError("fault probabilities sum to more than 1")
        self.port, self.responder, self.model_id, self.model_sha = port, responder, model_id, model_sha
        self.api_key, self.tgi, self.healthy = api_key, tgi, healthy
        self.faults, self.fault_plan = dict(faults or {}), fault_plan
        self.retry_after = int(retry_after) if float(retry_after).is_integer() else retry_after
        self.hang_s, self.latency_s, self.latency_per_token_s = hang_s, latency_s, latency_per_token_s
        self.max_input_tokens, self.max_total_tokens = max_input_tokens, max_total_tokens
        self.max_stop_sequences = max_stop_sequences
        self.reasoning = reasoning  # imitate an OpenAI reasoning model (see the module docstring)
        self.reasoning_tokens = reasoning_tokens or {"none": 0, "minimal": 4, "low": 16, "medium": 64, "high": 256}
        self.deployments = set(deployments or (model_id,))  # Azure deployment names
        self.props = props  # served at GET /props (llama.cpp) when set
        self.tokenizer = tokenizer  # answers POST /tokenize (llama.cpp) when set
        self.vllm_version = vllm_version  # GET /version and a vLLM-shaped /tokenize when set
        self.tokenize_bodies: list[dict[str, Any]] = []  # every /tokenize JSON body received
        self.bodies: list[dict[str, Any]] = []  # every generation JSON body received
        self.files: dict[str, bytes] = {}  # Batch API uploads and outputs
        self.batches: dict[str, dict[str, Any]] = {}
        self.batch_polls = 1  # the batch completes on this look at it
        self.batch_completed: list[str] = []  # custom_ids the batches answered
        self.batch_api = batch_api  # False: /v1/files and /v1/batches answer 404, like vLLM or llama.cpp
        self._rng, self._lock, self._stop = random.Random(seed), threading.Lock(), threading.Event()
        self._changed = threading.Condition(self._lock)  # notified on every counter change, gate opening and stop
        self.answer_limit, self._passed = answer_limit, 0  # the gate: answers let through so far
        self._conns: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.reset_stats()

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("FakeServer is not started")
        return f"http://{HOST}:{self._httpd.server_address[1]}"

    def start(self) -> FakeServer:
        self._stop.clear()
        self._httpd = _HTTPServer((HOST, self.port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fakeserver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving: wakes hanging handlers and drops open (keep-alive) connections."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters ---------------------------------------------------------------------------
    @property
    def stats(self) -> Stats:
        with self._lock:
            return replace(self._stats, faulted=dict(self._stats.faulted))

    def reset_stats(self) -> None:
        """Zero the counters, ``completed_inputs`` and the ``fault_plan`` position (not the RNG)."""
        with self._lock:
            self._stats, self._count = Stats(), 0
            self.completed_inputs: list[str] = []  # prompt / json.dumps(messages) per success
            self._changed.notify_all()

    def wait_until(self, predicate: Callable[[Stats], bool], proc: Any = None, what: str = "",
                   safety_net_s: float = 120.0) -> Stats:
        """Block until ``predicate(stats)`` holds (woken by every counter change); return those stats.

        Fails the test (AssertionError naming ``what``) if ``proc`` — a ``subprocess.Popen`` client — exits first,
        or if the safety net passes: a wait never gives up silently. The net is no timing claim, only a bound on a
        hung test; the only polling is of ``proc`` (a process's exit cannot notify this condition)."""
        give_up = time.monotonic() + safety_net_s
        with self._changed:
            while not predicate(stats := replace(self._stats, faulted=dict(self._stats.faulted))):
                if proc is not None and proc.poll() is not None:
                    raise AssertionError(f"waiting for {what or predicate}: the client exited ({proc.returncode}) first; "
                                         f"server stats {stats}")
                if time.monotonic() > give_up:
                    raise AssertionError(f"waiting for {what or predicate}: not reached in {safety_net_s:g} s "
                                         f"(safety net); server stats {stats}")
                self._changed.wait(0.05 if proc is not None else 1.0)
        return stats

    def release(self) -> None:
        """Open the gate: answer every held request and all later ones."""
        with self._changed:
            self.answer_limit = None
            self._changed.notify_all()

    def info(self) -> dict[str, Any]:
        """The TGI 3.x ``/info`` document."""
        return {
            "model_id": self.model_id, "model_sha": self.model_sha, "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": 128, "max_best_of": 2, "max_stop_sequences": self.max_stop_sequences,
            "max_input_tokens": self.max_input_tokens, "max_total_tokens": self.max_total_tokens,
            "validation_workers": 2, "max_client_batch_size": 4, "router": "text-generation-router",
            "version": self.version, "sha": "fa4e" * 10, "docker_label": "sha-fa4efa4"}

    # -- used by the handler ----------------------------------------------------------------
    def _arrive(self) -> str | None:
        with self._lock:
            index, self._count = self._count, self._count + 1
            s = self._stats
            s.requests, s.in_flight = s.requests + 1, s.in_flight + 1
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
            if self.fault_plan is not None:
                fault = self.fault_plan[index] if index < len(self.fault_plan) else None
            else:
                fault, draw = None, self._rng.random() if self.faults else 1.0
                for kind, p in self.faults.items():
                    if draw < p:
                        fault = kind
                        break
                    draw -= p
            if fault:
                s.faulted[fault] = s.faulted.get(fault, 0) + 1
            self._changed.notify_all()
            return fault

    def _leave(self, completed_key: str | None) -> None:
        with self._lock:
            self._stats.in_flight -= 1
            if completed_key is not None:
                self._stats.completed += 1
                self.completed_inputs.append(completed_key)
            self._changed.notify_all()

    def _looked(self) -> None:
        with self._lock:
            self._stats.lookups += 1
            self._changed.notify_all()

    def _pass_gate(self) -> bool:
        """Wait (no timer) while ``answer_limit`` answers have been let through; False if the server is stopping."""
        with self._changed:
            while self.answer_limit is not None and self._passed >= self.answer_limit and not self._stop.is_set():
                self._changed.wait()
            self._passed += 1
            return not self._stop.is_set()

    def _sleep(self, seconds: float) -> bool:
        """Sleep in small steps; False if the server is stopping."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.wait(min(_STEP, left)):
                return False
        return not self._stop.is_set()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Loopback fake TGI/OpenAI server (tests and benchmarks).")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--oracle", help="JSON file {input_text: reference} for OracleResponder (default: echo)")
    ap.add_argument("--model-id", default="fake/model")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds to sleep before each answer")
    ap.add_argument("--api-key")
    ap.add_argument("--fault", action="append", default=[], metavar="KIND=P", help="fault probability, repeatable")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--answer-limit", type=int, help="answer this many generation requests, hold the rest until stopped")
    args = ap.parse_args(argv)
    responder: Responder = echo_responder
    if args.oracle:
        with open(args.oracle, encoding="utf-8") as fh:
            responder = OracleResponder(json.load(fh))
    faults = {kind: float(p) for kind, p in (f.split("=", 1) for f in args.fault)}
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with FakeServer(port=args.port, responder=responder, model_id=args.model_id, latency_s=args.latency,
                    api_key=args.api_key, faults=faults, seed=args.seed, answer_limit=args.answer_limit) as srv:
        print(f"READY {srv.url}", flush=True)
        while not done.wait(0.2):
            pass
    print(json.dumps({**asdict(srv.stats), "distinct_completed": len(set(srv.completed_inputs))}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
