"""The fake server's HTTP plumbing: the threading server and the handler base every route mixin builds on.

``_HTTPServer`` binds the ``FakeServer`` it serves (``server.fake``), keeps a large backlog and stays quiet
about client hang-ups. ``_HandlerBase`` speaks HTTP/1.1 keep-alive without Nagle delays, tracks open
connections (so ``stop()`` can drop them), writes JSON answers (``_send``, which settles a generation
request's accounting before the client can see the answer) and checks the API key (``_authorized``:
OpenAI's ``Authorization: Bearer`` or, on Azure routes, the ``api-key`` header).
"""

from __future__ import annotations

import json
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from .errors import _oai_error

if TYPE_CHECKING:
    from .controller import FakeServer


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops SYNs under concurrent load (1 s retransmits)
    fake: FakeServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # client hang-ups are expected here
            super().handle_error(request, client_address)


class _HandlerBase(BaseHTTPRequestHandler):
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
