"""A lean HTTP/1.1 keep-alive transport for httpx2, for plain-http inference servers (local TGI / vLLM).

Why: httpx2's default pool (httpcore2) checks every pooled connection's socket on each request
(`has_expired` → `getpeername` …), so at 64 requests in flight its client CPU per request is
~0.75 ms — more than the whole budget that keeps a fast local server saturated (`make bench`).
This transport keeps a LIFO stack of idle asyncio stream connections per host: O(1) per request.

Scope: only `http://` URLs of loopback hosts (the TGI / vLLM servers the kit starts, where one
process must keep a fast server busy) that no environment proxy applies to; everything else
(other hosts, https hosted APIs, proxies) goes to httpx2's own transport unchanged. The SDKs above (huggingface_hub,
openai) see ordinary `httpx2.Response`s and httpx2 exceptions, so error handling is unchanged:
connection trouble → `httpx2.ConnectError` / `ReadError` / `RemoteProtocolError` (transient in the
runner's policy), timeouts → `httpx2.ConnectTimeout` / `ReadTimeout`. A connection is reused only
after a complete response; a cancelled or failed exchange closes it. A reused idle connection that
the server had closed (clean EOF before any byte of the answer: the keep-alive race) is retried on
a fresh one; a reset or a cut answer is an error for the runner to count and retry.
"""

from __future__ import annotations

import asyncio
import os
import urllib.request

import httpx2

from clue.phi import is_loopback_host


def _proxied(host: str) -> bool:
    """httpx2 would route plain http to `host` through HTTP_PROXY / ALL_PROXY (unless NO_PROXY): leave that to it."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get("http") or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)  # type: ignore[attr-defined]  # in the module, not the stubs


class _Stale(Exception):
    """A reused keep-alive connection turned out closed before any byte of the answer came."""


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()


class LeanTransport(httpx2.AsyncBaseTransport):
    def __init__(self, fallback: httpx2.AsyncBaseTransport | None = None):
        self._fallback = fallback
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._lean: dict[str, bool] = {}  # host → handled here (loopback, no proxy applies)

    def _other(self) -> httpx2.AsyncBaseTransport:
        if self._fallback is None:
            self._fallback = httpx2.AsyncHTTPTransport()
        return self._fallback

    def _handles(self, scheme: str, host: str) -> bool:
        lean = self._lean.get(host)
        if lean is None:
            lean = self._lean[host] = is_loopback_host(host) and not _proxied(host)
        return scheme == "http" and lean

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        if not self._handles(request.url.scheme, host):
            return await self._other().handle_async_request(request)
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
        lines += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        status, headers, content = await self.roundtrip(host, request.url.port or 80, head + body,
                                                        timeouts.get("connect"), timeouts.get("read"), request)
        return httpx2.Response(status, headers=headers, content=content, request=request,
                               extensions={"http_version": b"HTTP/1.1"})

    async def roundtrip(self, host: str, port: int, data: bytes, connect_timeout: float | None, read_timeout: float | None,
                        request: httpx2.Request | None = None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send one whole HTTP/1.1 request (`data`) on an idle keep-alive connection (or a new one); the answer."""
        idle = self._idle.get((host, port))
        if idle is None:
            idle = self._idle[(host, port)] = []
        while True:
            reused = bool(idle)
            conn = idle.pop() if reused else await self._connect(request, host, port, connect_timeout)
            if reused and not conn.usable():
                conn.close()
                continue
            try:
                status, headers, content, keep = await self._exchange(request, conn, data, reused, read_timeout)
            except _Stale:
                conn.close()
                continue
            except BaseException:
                conn.close()  # cancelled or failed mid-exchange: the connection's state is unknown
                raise
            if keep:
                idle.append(conn)
            else:
                conn.close()
            return status, headers, content

    def direct(self, headers: dict[str, str]) -> DirectPost:
        """JSON posts with these headers that skip httpx2's Request/Response objects (see `DirectPost`)."""
        return DirectPost(self, headers)

    async def _connect(self, request: httpx2.Request | None, host: str, port: int, timeout: float | None) -> _Conn:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        except TimeoutError:
            raise httpx2.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except OSError as exc:
            raise httpx2.ConnectError(f"{type(exc).__name__}: {exc}", request=request) from None
        return _Conn(reader, writer)

    async def _exchange(self, request: httpx2.Request | None, conn: _Conn, data: bytes, reused: bool,
                        timeout: float | None) -> tuple[int, list, bytes, bool]:
        try:
            conn.writer.write(data)
            async with asyncio.timeout(timeout):
                try:
                    block = await conn.reader.readuntil(b"\r\n\r\n")  # status line + headers (CRLF, as HTTP/1.1 requires)
                except asyncio.IncompleteReadError as exc:
                    if not exc.partial:
                        if reused:
                            raise _Stale from None
                        raise httpx2.RemoteProtocolError("server disconnected without sending a response", request=request) from None
                    raise httpx2.RemoteProtocolError("connection closed inside the response headers", request=request) from None
                except asyncio.LimitOverrunError:
                    raise httpx2.RemoteProtocolError("response headers over 1 MiB", request=request) from None
                lines = block.split(b"\r\n")
                parts = lines[0].split(None, 2)
                if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                    raise httpx2.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}", request=request)
                status = int(parts[1])
                headers, length, chunked, keep = [], None, False, parts[0] == b"HTTP/1.1"
                for line in lines[1:-2]:
                    name, _, value = line.partition(b":")
                    name, value = name.strip(), value.strip()
                    headers.append((name, value))
                    low = name.lower()
                    if low == b"content-length":
                        length = int(value)
                    elif low == b"transfer-encoding":
                        chunked = b"chunked" in value.lower()
                    elif low == b"connection":
                        keep = b"close" not in value.lower() if keep else b"keep-alive" in value.lower()
                if chunked:
                    content = await self._chunks(conn.reader)
                elif length is not None:
                    content = await conn.reader.readexactly(length)
                elif status in (204, 304) or 100 <= status < 200:
                    content = b""
                else:
                    content, keep = await conn.reader.read(), False  # delimited by the connection's end
            return status, headers, content, keep
        except TimeoutError:
            raise httpx2.ReadTimeout("no answer within the read timeout", request=request) from None
        except asyncio.IncompleteReadError:
            raise httpx2.RemoteProtocolError("connection closed before the whole response arrived", request=request) from None
        except (ConnectionError, OSError) as exc:
            if reused and isinstance(exc, BrokenPipeError):  # closed before our request went out
                raise _Stale from None
            raise httpx2.ReadError(f"{type(exc).__name__}: {exc}", request=request) from None
        except ValueError as exc:  # a non-numeric length or chunk size
            raise httpx2.RemoteProtocolError(f"malformed response ({exc})", request=request) from None

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        out: list[bytes] = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip(), 16)  # ValueError when malformed
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(out)
            out.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        if self._fallback is not None:
            await self._fallback.aclose()


class DirectPost:
    """POST JSON straight over `LeanTransport`'s connections, skipping httpx2's client objects.

    What httpx2's client adds per request (URL merging and parsing, Headers/Request/Response objects,
    event hooks) is ~40 % of the engines' client CPU at 64 requests in flight (`make bench`); here each
    URL's request head is built once and only Content-Length changes. `post` answers the raw
    (status, headers, body), or None for a URL this transport does not carry (not plain-http loopback:
    the engine then posts through httpx2); errors are the httpx2 exceptions the transport raises anyway.
    """

    def __init__(self, transport: LeanTransport, headers: dict[str, str]):
        self.transport = transport
        self._fields = {k.lower(): v for k, v in headers.items()}
        self._heads: dict[str, tuple[str, int, bytes] | None] = {}

    def _head(self, url: str) -> tuple[str, int, bytes] | None:
        parsed = httpx2.URL(url)
        if not self.transport._handles(parsed.scheme, parsed.host):
            return None
        fields = {"host": parsed.netloc.decode("ascii"), "content-type": "application/json", **self._fields}
        head = b"POST " + parsed.raw_path + b" HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode("latin-1")
        return parsed.host, parsed.port or 80, head

    async def post(self, url: str, body: bytes, timeout: float | None) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        try:
            target = self._heads[url]
        except KeyError:
            target = self._heads[url] = self._head(url)
        if target is None:
            return None
        host, port, head = target
        data = b"%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)
        return await self.transport.roundtrip(host, port, data, timeout, timeout)


def as_response(status: int, headers: list[tuple[bytes, bytes]], content: bytes, method: str, url: str) -> httpx2.Response:
    """A `DirectPost` answer as the httpx2 response an SDK-style error mapping expects (error paths only)."""
    return httpx2.Response(status, headers=headers, content=content, request=httpx2.Request(method, url))


def lean_transport_enabled() -> bool:
    """`CLUE_HTTP_TRANSPORT=httpx` falls back to httpx2's own pool everywhere (for comparison and debugging)."""
    return os.environ.get("CLUE_HTTP_TRANSPORT", "lean") != "httpx"


def make_transport() -> httpx2.AsyncBaseTransport | None:
    """The transport an engine's httpx2 client should use (None: httpx2's default)."""
    return LeanTransport() if lean_transport_enabled() else None


__all__ = ["LeanTransport", "DirectPost", "as_response", "make_transport", "lean_transport_enabled"]
