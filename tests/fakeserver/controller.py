"""The FakeServer controller: configuration, lifecycle, counters and waiting, plus the script-mode ``main``.

``FakeServer(...)`` serves on 127.0.0.1 in a daemon thread (``start``/``stop`` or ``with``); ``url``; ``stats``
(a ``Stats`` snapshot), ``reset_stats``, ``wait_until(predicate, proc, what)`` (woken by every counter change,
never a fixed sleep), ``release`` (opens the ``answer_limit`` gate), ``info`` (TGI's /info document). The
handler calls back into it (``_arrive``: count and draw the fault; ``_leave``; ``_looked``; ``_pass_gate``;
``_sleep``: interruptible by ``stop``; ``_track``). ``main`` is the process entry point (see ``__main__``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from .base import _HTTPServer
from .errors import FAULT_KINDS
from .handler import _Handler
from .responders import OracleResponder, Responder, echo_responder
from .tokenizer import LlamaTokenizer

HOST = "127.0.0.1"
_STEP = 0.02  # granularity of interruptible sleeps


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
