"""The kit's connection pool (clue/engines/pool.py) and its httpx2 transport (clue/engines/transport.py) against
small scripted loopback servers: keep-alive reuse, chunked bodies, the keep-alive race retried, resets and cut
answers raised as httpx2 transport errors, cancellation never returning a connection to the pool, proxies respected."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from clue.engines.pool import PoolError
from clue.engines.transport import LeanTransport

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"a\": \"ok\"}"


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


async def serve(script):
    """Start a server whose handler is `script(reader, writer, connection_index)`; returns (server, url, seen)."""
    seen = {"connections": 0, "requests": []}

    async def handle(reader, writer):
        index = seen["connections"]
        seen["connections"] += 1
        try:
            await script(reader, writer, index, seen)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


async def keep_alive(reader, writer, index, seen):
    while True:
        try:
            seen["requests"].append(await _read_request(reader))
        except asyncio.IncompleteReadError:
            return
        writer.write(OK)
        await writer.drain()


@pytest.mark.anyio
async def test_connections_are_reused_and_the_request_goes_out_intact():
    server, url, seen = await serve(keep_alive)
    async with server, httpx2.AsyncClient(transport=LeanTransport()) as client:
        for i in range(5):
            resp = await client.post(url + "/generate?x=1", json={"inputs": f"prompt {i}"}, headers={"authorization": "Bearer k"})
            assert resp.status_code == 200 and resp.json() == {"a": "ok"}
    assert seen["connections"] == 1 and len(seen["requests"]) == 5
    first = seen["requests"][0]
    assert first.startswith(b"POST /generate?x=1 HTTP/1.1\r\n")
    assert b"authorization: bearer k" in first.lower() and b"content-length:" in first.lower()
    assert first.endswith(b'"prompt 0"}')


@pytest.mark.anyio
async def test_chunked_body_and_error_status_reach_the_caller():
    async def script(reader, writer, index, seen):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ntransfer-encoding: chunked\r\n\r\n"
                     b"5\r\n{\"err\r\n9;ext=1\r\nor\": \"x\"}\r\n0\r\n\r\n")
        await writer.drain()
        await keep_alive(reader, writer, index, seen)

    server, url, seen = await serve(script)
    async with server, httpx2.AsyncClient(transport=LeanTransport()) as client:
        resp = await client.post(url, json={})
        assert resp.status_code == 429 and resp.headers["retry-after"] == "3" and resp.json() == {"error": "x"}
        assert (await client.post(url, json={})).status_code == 200
    assert seen["connections"] == 1  # the chunked answer was read to its end, so the connection was reusable


@pytest.mark.anyio
async def test_idle_connection_closed_by_the_server_is_replaced_quietly():
    async def one_then_close(reader, writer, index, seen):
        seen["requests"].append(await _read_request(reader))
        writer.write(OK)
        await writer.drain()  # then the handler returns and the server closes the idle connection

    server, url, seen = await serve(one_then_close)
    async with server, httpx2.AsyncClient(transport=LeanTransport()) as client:
        for _ in range(3):
            assert (await client.post(url, json={})).status_code == 200
            await asyncio.sleep(0.05)
    assert seen["connections"] == 3 and len(seen["requests"]) == 3  # each request sent once


@pytest.mark.anyio
async def test_reset_and_cut_answers_are_transport_errors_not_retried_here():
    async def reset(reader, writer, index, seen):
        seen["requests"].append(await _read_request(reader))
        if index == 0:
            writer.transport.abort()  # RST
        else:
            writer.write(OK[:-4])  # cut short of content-length
            await writer.drain()

    server, url, seen = await serve(reset)
    async with server, httpx2.AsyncClient(transport=LeanTransport()) as client:
        with pytest.raises(httpx2.TransportError):
            await client.post(url, json={})
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.post(url, json={})
    assert len(seen["requests"]) == 2  # the transport never re-sent a request on its own


@pytest.mark.anyio
async def test_cancelled_exchange_closes_its_connection():
    async def slow_first(reader, writer, index, seen):
        await _read_request(reader)
        if index == 0:
            await asyncio.sleep(5)
            return
        writer.write(OK)
        await writer.drain()
        await keep_alive(reader, writer, index, seen)

    server, url, seen = await serve(slow_first)
    transport = LeanTransport()
    async with server, httpx2.AsyncClient(transport=transport) as client:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.post(url, json={})
        assert (await client.post(url, json={})).status_code == 200
    assert seen["connections"] == 2  # the half-used connection was not reused


@pytest.mark.anyio
async def test_read_timeout_and_refused_connection_map_to_httpx2_errors():
    async def silent(reader, writer, index, seen):
        await _read_request(reader)
        await asyncio.sleep(5)

    server, url, seen = await serve(silent)
    async with server, httpx2.AsyncClient(transport=LeanTransport(), timeout=0.2) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.post(url, json={})
    port = int(url.rsplit(":", 1)[1])
    async with httpx2.AsyncClient(transport=LeanTransport()) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.post(f"http://127.0.0.1:{port}", json={})  # the server is gone


@pytest.mark.anyio
async def test_proxied_remote_and_https_hosts_go_to_the_fallback(monkeypatch):
    class Fallback(httpx2.AsyncBaseTransport):
        urls: list[str] = []

        async def handle_async_request(self, request):
            self.urls.append(str(request.url))
            return httpx2.Response(204, request=request)

    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "localhost")
    async with httpx2.AsyncClient(transport=LeanTransport(Fallback()), trust_env=False) as client:
        assert (await client.get("http://127.0.0.1:9/proxied")).status_code == 204  # loopback, but the proxy applies
        monkeypatch.delenv("HTTP_PROXY")
        assert (await client.get("http://example.invalid/x")).status_code == 204  # not loopback
        assert (await client.get("https://localhost/y")).status_code == 204  # not plain http
    assert Fallback.urls == ["http://127.0.0.1:9/proxied", "http://example.invalid/x", "https://localhost/y"]


@pytest.mark.anyio
async def test_direct_post_builds_the_request_itself_and_reuses_connections():
    server, url, seen = await serve(keep_alive)
    transport = LeanTransport()
    poster = transport.direct({"Authorization": "Bearer k", "user-agent": "clue-kit/test"})
    async with server:
        for i in range(3):
            status, headers, body = await poster.post(url + "/v1/chat/completions?api-version=1", b'{"n": %d}' % i, 5.0)
            assert status == 200 and body == b'{"a": "ok"}' and (b"content-length", b"11") in headers
        await transport.aclose()
    assert seen["connections"] == 1 and len(seen["requests"]) == 3
    head, _, body = seen["requests"][2].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/chat/completions?api-version=1 HTTP/1.1" and body == b'{"n": 2}'
    assert {b"host: " + url.split("//")[1].encode(), b"content-type: application/json", b"authorization: Bearer k",
            b"user-agent: clue-kit/test", b"content-length: 8"} == set(lines[1:])


@pytest.mark.anyio
async def test_direct_post_declines_what_the_lean_transport_does_not_carry():
    poster = LeanTransport().direct({})
    assert await poster.post("https://127.0.0.1:1/v1/completions", b"{}", 1.0) is None
    assert await poster.post("http://api.example.com/v1/completions", b"{}", 1.0) is None


@pytest.mark.anyio
async def test_an_answer_without_headers_and_a_cut_header_block():
    """The pool raises its own error for a cut header block; the httpx2 transport over it raises httpx2's, same words."""
    async def no_headers(reader, writer, index, seen):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n" if index == 0 else b"HTTP/1.1 200 OK\r\ncontent-len")
        await writer.drain()

    server, url, _ = await serve(no_headers)
    transport = LeanTransport()
    poster = transport.direct({})
    async with server:
        assert await poster.post(url + "/x", b"{}", 5.0) == (204, [], b"")
        transport.pool._idle.clear()  # next on a fresh connection
        with pytest.raises(PoolError, match="inside the response headers") as cut:
            await poster.post(url + "/x", b"{}", 5.0)
        assert cut.value.kind == "remote_protocol"
        async with httpx2.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx2.RemoteProtocolError, match="^connection closed inside the response headers$"):
                await client.post(url + "/x", json={})
