"""The kit's HTTP/1.1 keep-alive connections to a plain-http loopback server, in pure asyncio (no httpx2).

Why: httpx2's default pool (httpcore2) checks every pooled connection's socket on each request
(`has_expired` → `getpeername` …), so at 64 requests in flight its client CPU per request is
~0.75 ms — more than the whole budget that keeps a fast local server saturated (`make bench`).
`ConnectionPool` keeps a LIFO stack of idle asyncio stream connections per host: O(1) per request.
And importing httpx2 costs 25–37 ms of the ~0.24 s a `clue run` spends before its first request: a run
against a loopback server sends everything through this module (`DirectPost` for generation,
`DirectClient` for describe()'s few requests) and never imports httpx2 unless something fails.

Scope: only `http://` URLs of loopback hosts (the TGI / vLLM / llama.cpp servers the kit starts, where
one process must keep a fast server busy) that no environment proxy applies to (`ConnectionPool.handles`);
everything else (other hosts, https hosted APIs, proxies) goes through httpx2 (clue/engines/transport.py).
Failures raise `PoolError`, whose `kind` says what failed — connect, connect_timeout, read_timeout,
remote_protocol, read — and whose `name` is the httpx2 exception the lean httpx2 transport raises for it
(`ConnectError`, `ConnectTimeout`, `ReadTimeout`, `RemoteProtocolError`, `ReadError`), so the engines'
error mapping (`clue.engines.base.connection_error`) gives both the same EngineError. A connection is
reused only after a complete response; a cancelled or failed exchange closes it. A reused idle connection
that the server had closed (clean EOF before any byte of the answer: the keep-alive race) is retried on a
fresh one; a reset or a cut answer is an error for the runner to count and retry.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from clue.phi import is_loopback_host

if TYPE_CHECKING:
    import httpx2

Raw = tuple[int, list[tuple[bytes, bytes]], bytes]  # status, headers, body


def lean_transport_enabled() -> bool:
    """`CLUE_HTTP_TRANSPORT=httpx` falls back to httpx2's own pool everywhere (for comparison and debugging)."""
    return os.environ.get("CLUE_HTTP_TRANSPORT", "lean") != "httpx"


def _proxied(host: str) -> bool:
    """httpx2 would route plain http to `host` through HTTP_PROXY / ALL_PROXY (unless NO_PROXY): leave that to it."""
    if not any(name.lower() in ("http_proxy", "all_proxy") for name in os.environ):
        return False  # what getproxies_environment would find then has neither key: no need to import urllib.request
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    if not (proxies.get("http") or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)  # type: ignore[attr-defined]  # in the module, not the stubs


class Target(NamedTuple):
    """The parts of a URL the pool needs, as `httpx2.URL` gives them (`port` None when it is the scheme's default)."""

    scheme: str
    host: str
    port: int | None
    netloc: str  # the Host header
    raw_path: str  # path and query, percent-encoded
    userinfo: str = ""  # user:password@ — httpx2's client turns it into Basic auth


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PLAIN = re.compile(rf"http://(localhost|{_OCTET}(?:\.{_OCTET}){{3}}|\[::1\])(?::([1-9]\d{{0,4}}))?"
                    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*)?(\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?")
_DOTS = re.compile(r"(?:^|/)\.\.?(?:/|$)")


def target(url: str) -> Target:
    """`url`'s parts. A plain loopback URL (what the kit's servers have: no characters to encode, no dot segments) is
    read here; any other goes through `httpx2.URL` itself (importing it), so every URL reads as httpx2 reads it."""
    m = _PLAIN.fullmatch(url)
    if m and not _DOTS.search(m.group(3) or "") and int(m.group(2) or 0) <= 65535:
        host, port = m.group(1), int(m.group(2)) if m.group(2) and m.group(2) != "80" else None
        netloc = host if port is None else f"{host}:{port}"
        return Target("http", host.strip("[]"), port, netloc, (m.group(3) or "/") + (m.group(4) or ""))
    import httpx2

    parsed = httpx2.URL(url)
    return Target(parsed.scheme, parsed.host, parsed.port, parsed.netloc.decode("ascii"), parsed.raw_path.decode("ascii"),
                  parsed.userinfo.decode("ascii"))


class PoolError(Exception):
    """A failed exchange. `kind`: connect, connect_timeout, read_timeout, remote_protocol, read."""

    NAMES = {"connect": "ConnectError", "connect_timeout": "ConnectTimeout", "read_timeout": "ReadTimeout",
             "remote_protocol": "RemoteProtocolError", "read": "ReadError"}

    def __init__(self, kind: str, message: str):
        assert kind in self.NAMES, kind
        super().__init__(message)
        self.kind = kind

    @property
    def name(self) -> str:
        """The httpx2 exception class for this failure (what the lean httpx2 transport raises, messages name)."""
        return self.NAMES[self.kind]

    @property
    def timeout(self) -> bool:
        return self.kind.endswith("_timeout")


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


class ConnectionPool:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Conn]] = {}
        self._lean: dict[str, bool] = {}  # host → carried here (loopback, no proxy applies)

    def handles(self, scheme: str, host: str) -> bool:
        lean = self._lean.get(host)
        if lean is None:
            lean = self._lean[host] = is_loopback_host(host) and not _proxied(host)
        return scheme == "http" and lean

    def carries(self, url: str) -> bool:
        """Whether describe()'s requests to `url` go over the pool: not for a URL httpx2 cannot read (its client then says
        what is wrong, as a user error, when the engine first asks), nor one with user:password@ (its client sends that
        as Basic auth)."""
        try:
            parts = target(url)
        except Exception:  # noqa: BLE001 — httpx2.InvalidURL and kin: left for the httpx2 client to report
            return False
        return not parts.userinfo and self.handles(parts.scheme, parts.host)

    async def roundtrip(self, host: str, port: int, data: bytes, connect_timeout: float | None, read_timeout: float | None) -> Raw:
        """Send one whole HTTP/1.1 request (`data`) on an idle keep-alive connection (or a new one); the answer."""
        idle = self._idle.get((host, port))
        if idle is None:
            idle = self._idle[(host, port)] = []
        while True:
            reused = bool(idle)
            conn = idle.pop() if reused else await self._connect(host, port, connect_timeout)
            if reused and not conn.usable():
                conn.close()
                continue
            try:
                status, headers, content, keep = await self._exchange(conn, data, reused, read_timeout)
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

    @staticmethod
    async def _connect(host: str, port: int, timeout: float | None) -> _Conn:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        except TimeoutError:
            raise PoolError("connect_timeout", f"connecting to {host}:{port} timed out") from None
        except OSError as exc:
            raise PoolError("connect", f"{type(exc).__name__}: {exc}") from None
        return _Conn(reader, writer)

    async def _exchange(self, conn: _Conn, data: bytes, reused: bool, timeout: float | None) -> tuple[int, list, bytes, bool]:
        try:
            conn.writer.write(data)
            async with asyncio.timeout(timeout):
                try:
                    block = await conn.reader.readuntil(b"\r\n\r\n")  # status line + headers (CRLF, as HTTP/1.1 requires)
                except asyncio.IncompleteReadError as exc:
                    if not exc.partial:
                        if reused:
                            raise _Stale from None
                        raise PoolError("remote_protocol", "server disconnected without sending a response") from None
                    raise PoolError("remote_protocol", "connection closed inside the response headers") from None
                except asyncio.LimitOverrunError:
                    raise PoolError("remote_protocol", "response headers over 1 MiB") from None
                lines = block.split(b"\r\n")
                parts = lines[0].split(None, 2)
                if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
                    raise PoolError("remote_protocol", f"malformed status line {lines[0][:80]!r}")
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
            raise PoolError("read_timeout", "no answer within the read timeout") from None
        except asyncio.IncompleteReadError:
            raise PoolError("remote_protocol", "connection closed before the whole response arrived") from None
        except (ConnectionError, OSError) as exc:
            if reused and isinstance(exc, BrokenPipeError):  # closed before our request went out
                raise _Stale from None
            raise PoolError("read", f"{type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # a non-numeric length or chunk size
            raise PoolError("remote_protocol", f"malformed response ({exc})") from None

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


def _head(method: str, parts: Target, fields: dict[str, str]) -> bytes:
    """The request line and header lines (no blank line yet): Host first, then `fields` (lower-case names)."""
    lines = "".join(f"{k}: {v}\r\n" for k, v in {"host": parts.netloc, **fields}.items())
    return f"{method} {parts.raw_path} HTTP/1.1\r\n{lines}".encode("latin-1")


def _framed(head: bytes, body: bytes | None) -> bytes:
    """A whole request: `head` (from `_head`), then Content-Length and `body` where there is one, else the blank line."""
    return head + b"\r\n" if body is None else b"%scontent-length: %d\r\n\r\n%s" % (head, len(body), body)


class DirectPost:
    """POST JSON straight over the pool's connections, skipping httpx2's client objects.

    What httpx2's client adds per request (URL merging and parsing, Headers/Request/Response objects,
    event hooks) is ~40 % of the engines' client CPU at 64 requests in flight (`make bench`); here each
    URL's request head is built once and only Content-Length changes. `post` answers the raw
    (status, headers, body), or None for a URL the pool does not carry (not plain-http loopback:
    the engine then posts through httpx2); failures raise `PoolError`.
    """

    def __init__(self, pool: ConnectionPool, headers: dict[str, str]):
        self.pool = pool
        self._fields = {k.lower(): v for k, v in headers.items()}
        self._heads: dict[str, tuple[str, int, bytes] | None] = {}

    def _target(self, url: str) -> tuple[str, int, bytes] | None:
        parts = target(url)
        if not self.pool.handles(parts.scheme, parts.host):
            return None
        return parts.host, parts.port or 80, _head("POST", parts, {"content-type": "application/json", **self._fields})

    async def post(self, url: str, body: bytes, timeout: float | None) -> Raw | None:
        try:
            found = self._heads[url]
        except KeyError:
            found = self._heads[url] = self._target(url)
        if found is None:
            return None
        host, port, head = found
        return await self.pool.roundtrip(host, port, _framed(head, body), timeout, timeout)


def as_response(status: int, headers: list[tuple[bytes, bytes]], content: bytes, method: str, url: str) -> httpx2.Response:
    """A direct answer as the httpx2 response an SDK-style error mapping expects (error paths only: imports httpx2)."""
    import httpx2

    return httpx2.Response(status, headers=headers, content=content, request=httpx2.Request(method, url))


class Answer:
    """A `DirectClient` answer: what describe() reads of an `httpx2.Response` on success (status_code, content,
    json()); its headers and a failed `raise_for_status()` are the httpx2 response's (error paths, importing httpx2)."""

    __slots__ = ("status_code", "raw_headers", "content", "method", "url")

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], content: bytes, method: str, url: str):
        self.status_code, self.raw_headers, self.content, self.method, self.url = status, raw_headers, content, method, url

    def json(self) -> Any:
        return json.loads(self.content)

    def httpx(self) -> httpx2.Response:
        return as_response(self.status_code, self.raw_headers, self.content, self.method, self.url)

    @property
    def headers(self) -> httpx2.Headers:
        return self.httpx().headers

    def raise_for_status(self) -> Answer:
        if not 200 <= self.status_code < 300:
            self.httpx().raise_for_status()  # raises httpx2.HTTPStatusError, as the httpx2 client's response would
        return self


class DirectClient:
    """`get` / `post` like an `httpx2.AsyncClient`'s, as far as describe() uses them, over the pool (the caller checked
    that the pool carries the URLs: `ConnectionPool.carries`); failures raise `PoolError`."""

    def __init__(self, pool: ConnectionPool):
        self.pool = pool

    async def get(self, url: str, *, headers: dict[str, str], timeout: float | None) -> Answer:
        return await self._send("GET", url, headers, None, timeout)

    async def post(self, url: str, *, content: bytes, headers: dict[str, str], timeout: float | None) -> Answer:
        return await self._send("POST", url, headers, content, timeout)

    async def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None, timeout: float | None) -> Answer:
        parts = target(url)
        head = _head(method, parts, {k.lower(): v for k, v in headers.items()})
        status, raw, content = await self.pool.roundtrip(parts.host, parts.port or 80, _framed(head, body), timeout, timeout)
        return Answer(status, raw, content, method, url)


__all__ = ["ConnectionPool", "PoolError", "DirectPost", "DirectClient", "Answer", "Target", "target", "as_response",
           "lean_transport_enabled"]
