"""Redirects are never followed: a prompt goes only to the endpoint the user named (and the PHI guard
checked). A server answering 307 stops the run with one line naming where it pointed."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clue.engines.base import EngineError
from clue.engines.openai_api import OpenAIEngine
from clue.engines.tgi import TGIEngine
from clue.types import Endpoint, GenParams, Request


class _Server:
    """Loopback HTTP server: `redirect_to` set → 307 to it for every POST; else counts POSTs and answers 500."""

    def __init__(self, redirect_to: str | None = None):
        self.posts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.posts.append(self.path)
                if redirect_to:
                    self.send_response(307)
                    self.send_header("location", redirect_to + self.path)
                else:
                    self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    elsewhere = _Server()
    redirecting = _Server(redirect_to=elsewhere.url)
    yield redirecting, elsewhere
    redirecting.close()
    elsewhere.close()


def request(**kw) -> Request:
    return Request(task="meqsum", sample_id="1", params=GenParams(max_new_tokens=5), protocol="clue-v3",
                   endpoint=Endpoint("tgi", "m"), **kw)


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_tgi_engine_does_not_follow_a_redirect(servers, transport, monkeypatch):
    monkeypatch.setenv("CLUE_HTTP_TRANSPORT", transport)
    redirecting, elsewhere = servers
    engine = TGIEngine(redirecting.url)
    with pytest.raises(EngineError) as err:
        await engine.generate(request(prompt="patient text"))
    await engine.close()
    assert err.value.kind == "fatal" and "307" in err.value.message and elsewhere.url in err.value.message
    assert redirecting.posts == ["/generate"] and elsewhere.posts == []


@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["lean", "httpx"])
async def test_openai_engine_does_not_follow_a_redirect(servers, transport, monkeypatch):
    monkeypatch.setenv("CLUE_HTTP_TRANSPORT", transport)
    redirecting, elsewhere = servers
    engine = OpenAIEngine(redirecting.url + "/v1", "m", api_key="k")
    with pytest.raises(EngineError) as err:
        await engine.generate(request(messages=({"role": "user", "content": "patient text"},)))
    await engine.close()
    assert err.value.kind == "fatal" and "redirect" in err.value.message
    assert redirecting.posts == ["/v1/chat/completions"] and elsewhere.posts == []


def test_an_error_is_classified_by_its_own_response_not_one_it_was_raised_while_handling():
    import httpx2

    from clue.engines.tgi import translate

    refused = httpx2.Response(429, request=httpx2.Request("POST", "http://127.0.0.1:1/generate"))
    try:
        try:
            refused.raise_for_status()
        except httpx2.HTTPStatusError:
            raise ValueError("no generated_text in the answer")  # noqa: B904 — the implicit chaining is the point
    except ValueError as exc:
        assert exc.__context__ is not None
        assert translate(exc, "http://127.0.0.1:1").label == "malformed"
    try:
        try:
            refused.raise_for_status()
        except httpx2.HTTPStatusError as inner:
            raise RuntimeError("wrapped") from inner  # an explicit wrap (as hub errors do) keeps its response
    except RuntimeError as exc:
        assert translate(exc, "http://127.0.0.1:1").status == 429
