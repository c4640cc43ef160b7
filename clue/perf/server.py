"""A small, fast loopback inference server for the benchmark (raw asyncio HTTP/1.1, keep-alive).

It speaks just enough of TGI (`GET /info`, `GET /health`, `POST /` and `/generate`) and of the
OpenAI API (`GET /v1/models`, `POST /v1/chat/completions`) for the kit's real engines, and adds
`GET /stats` (requests served, most in flight) and `POST /reset`. It runs in its own process
(`serve_in_process`), so the client's CPU time is measured apart from the server's.

Latency per request is `latency_s + per_token_s × k`, where `k` (the number of output tokens) is
`output_tokens(prompt_text, max_new_tokens)` when `per_token_s` is set, else `fixed_tokens` — the
bench computes the ideal wall time from the same function.

With `batch_cap` set it simulates a continuously batching LLM server instead (answers of 1 … 2 ×
`fixed_tokens` − 1 tokens, spread by the same hash): every step decodes one
token for each running sequence (at most `batch_cap`; the rest queue, as in vLLM/TGI) and takes
`step_s × (1 + step_growth × running)` — a fuller batch is slightly slower per step but much faster
per token, so throughput rises with requests in flight up to the cap and is flat beyond it. `/info`
advertises `max_concurrent_requests` = `advertise` (unless `info` is off: a server that states no
limit); with `refuse_above` requests beyond `advertise` get 429 ("Model is overloaded"), like TGI's
router or a proxy's parallel-request limit. Only ever binds 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from typing import Any

HOST = "127.0.0.1"
MODEL_ID = "bench/model"


@dataclass(frozen=True)
class ServerConfig:
    latency_s: float = 0.0
    per_token_s: float = 0.0
    fixed_tokens: int = 20
    batch_cap: int = 0  # > 0: continuous-batching simulation (see the module docstring)
    step_s: float = 0.0
    step_growth: float = 0.0
    advertise: int = 1024  # /info max_concurrent_requests
    refuse_above: bool = False  # 429 beyond `advertise` requests in flight
    info: bool = True  # serve /info; False: an OpenAI-compatible server that states no limit (vLLM, a proxy)


def output_tokens(text: str, max_new_tokens: int) -> int:
    """Deterministic answer length for the per-token variant: 1…max_new_tokens, spread by a hash."""
    return 1 + zlib.crc32(text.encode("utf-8")) % max(1, max_new_tokens)


def _info(advertise: int = 1024) -> dict[str, Any]:
    return {"model_id": MODEL_ID, "model_sha": "b" * 40, "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": advertise, "max_best_of": 2, "max_stop_sequences": 4, "max_input_tokens": 8191,
            "max_total_tokens": 8192, "validation_workers": 2, "max_client_batch_size": 4,
            "router": "text-generation-router", "version": "3.3.7", "sha": "b" * 40, "docker_label": "sha-bench"}


class _Stats:
    def __init__(self) -> None:
        self.served = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.service_s = 0.0  # Σ (answer written − request fully read): the latency the server really gave
        self.refused = 0
        self.first_at = self.last_at = 0.0  # epoch seconds: the first generation request received, the last answered


class _Batcher:
    """The continuous-batching scheduler: one decode step at a time over the running sequences."""

    def __init__(self, cfg: ServerConfig):
        self.cfg = cfg
        self.queue: collections.deque[list[Any]] = collections.deque()
        self.running: list[list[Any]] = []
        self.wake = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def generate(self, tokens: int) -> None:
        done = asyncio.get_running_loop().create_future()
        self.queue.append([tokens, done])
        self.wake.set()
        await done

    async def _loop(self) -> None:
        cfg = self.cfg
        while True:
            if not self.running and not self.queue:
                self.wake.clear()
                await self.wake.wait()
            while self.queue and len(self.running) < cfg.batch_cap:
                self.running.append(self.queue.popleft())
            await asyncio.sleep(cfg.step_s * (1 + cfg.step_growth * len(self.running)))
            still = []
            for seq in self.running:
                seq[0] -= 1
                if seq[0] > 0:
                    still.append(seq)
                elif not seq[1].done():
                    seq[1].set_result(None)
            self.running = still


class _Handler(asyncio.Protocol):
    def __init__(self, cfg: ServerConfig, stats: _Stats, batcher: _Batcher | None = None):
        self.cfg = cfg
        self.stats = stats
        self.batcher = batcher
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.busy = False  # one request at a time per connection (HTTP/1.1 without pipelining)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._next()

    def _next(self) -> None:
        if self.busy:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buf[:end].decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buf) < end + 4 + length:
            return
        body = self.buf[end + 4:end + 4 + length]
        self.buf = self.buf[end + 4 + length:]
        method, path, _ = head.split(" ", 2)
        self.busy = True
        asyncio.get_running_loop().create_task(self._answer(method, path.split("?")[0], body, time.perf_counter()))

    async def _answer(self, method: str, path: str, body: bytes, received: float) -> None:
        try:
            status, payload = await self._route(method, path, body)
        except (ValueError, KeyError, TypeError) as exc:
            status, payload = 422, {"error": f"bad request: {exc}"}
        data = json.dumps(payload).encode()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"HTTP/1.1 %d OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                                 % (status, len(data), data))
        if path in ("/", "/generate", "/v1/chat/completions"):
            self.stats.service_s += time.perf_counter() - received
        self.busy = False
        self._next()

    async def _route(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        s = self.stats
        if method == "GET":
            if path == "/info" and self.cfg.info:
                return 200, _info(self.cfg.advertise)
            if path == "/health":
                return 200, {}
            if path == "/v1/models":
                return 200, {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "owned_by": "bench"}]}
            if path == "/stats":
                return 200, {"served": s.served, "max_in_flight": s.max_in_flight, "cpu_s": time.process_time(),
                             "service_s": s.service_s, "refused": s.refused, "first_at": s.first_at, "last_at": s.last_at}
            return 404, {"error": "not found"}
        if path == "/reset":
            s.served = s.max_in_flight = s.refused = 0
            s.service_s = s.first_at = s.last_at = 0.0
            return 200, {}
        req = json.loads(body)
        if path == "/v1/chat/completions":
            text_in, max_new = json.dumps(req["messages"]), int(req.get("max_tokens") or 16)
        elif path in ("/", "/generate"):
            text_in, max_new = req["inputs"], int((req.get("parameters") or {}).get("max_new_tokens") or 16)
        else:
            return 404, {"error": "not found"}
        cfg = self.cfg
        if cfg.batch_cap:  # answer lengths vary (1 … 2 × fixed_tokens − 1, mean fixed_tokens), as real ones do
            k = output_tokens(text_in, min(2 * cfg.fixed_tokens - 1, max_new))
        else:
            k = output_tokens(text_in, max_new) if cfg.per_token_s else min(cfg.fixed_tokens, max_new)
        if cfg.refuse_above and s.in_flight >= cfg.advertise:
            s.refused += 1
            return 429, {"error": "Model is overloaded", "error_type": "overloaded"}
        s.first_at = s.first_at or time.time()
        s.in_flight += 1
        s.max_in_flight = max(s.max_in_flight, s.in_flight)
        if self.batcher is not None:
            await self.batcher.generate(k)
        else:
            delay = cfg.latency_s + cfg.per_token_s * k
            if delay > 0:
                await asyncio.sleep(delay)
        s.in_flight -= 1
        s.served += 1
        s.last_at = time.time()
        text = " ".join(["token"] * k)
        reason = "length" if k >= max_new else "eos_token"
        if path.startswith("/v1"):
            return 200, {"id": f"chatcmpl-{s.served}", "object": "chat.completion", "created": 0, "model": MODEL_ID,
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "logprobs": None,
                                      "finish_reason": "length" if reason == "length" else "stop"}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": k, "total_tokens": k + 1}}
        out = {"generated_text": text, "details": {"finish_reason": reason, "generated_tokens": k, "seed": None,
                                                   "prefill": [], "tokens": [], "best_of_sequences": None, "top_tokens": []}}
        return 200, [out] if path == "/" else out


async def _serve(cfg: ServerConfig) -> None:
    stats = _Stats()
    loop = asyncio.get_running_loop()
    batcher = _Batcher(cfg) if cfg.batch_cap > 0 else None
    server = await loop.create_server(lambda: _Handler(cfg, stats, batcher), HOST, 0, backlog=1024)
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


class BenchServer:
    """`with BenchServer(ServerConfig(latency_s=0.05)) as srv: srv.url` — a server in a child process."""

    def __init__(self, cfg: ServerConfig = ServerConfig()):
        self.cfg = cfg
        self.url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> BenchServer:
        c = self.cfg
        self._proc = subprocess.Popen([sys.executable, "-m", "clue.perf.server", json.dumps(asdict(c))],
                                      stdout=subprocess.PIPE, text=True)
        line = self._proc.stdout.readline() if self._proc.stdout else ""
        if not line.startswith("READY "):
            self.__exit__()
            raise RuntimeError("the bench server did not start")
        self.url = f"http://{HOST}:{int(line.split()[1])}"
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def _call(self, path: str, data: bytes | None = None) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(urllib.request.Request(self.url + path, data=data), timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self._call("/stats")

    def reset(self) -> None:
        self._call("/reset", b"{}")


if __name__ == "__main__":
    asyncio.run(_serve(ServerConfig(**json.loads(sys.argv[1]))))
