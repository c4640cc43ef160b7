"""The kit's loopback connection pool (clue/engines/pool.py) as an httpx2 transport, for the httpx2 routes.

The engines post to a plain-http loopback server through the pool directly (`pool.DirectPost`,
`pool.DirectClient`: no httpx2 at all). What still goes through an httpx2 client — any endpoint the pool
does not carry (other hosts, https hosted APIs, proxies: httpx2's own transport, unchanged), the OpenAI
SDK loops of `make bench`, CLUE_HTTP_TRANSPORT=httpx aside — gets `LeanTransport`: loopback requests
over the same O(1) keep-alive pool, everything else to the fallback. The SDKs above (huggingface_hub,
openai) see ordinary `httpx2.Response`s and httpx2 exceptions, so error handling is unchanged: the
pool's failures become `httpx2.ConnectError` / `ReadError` / `RemoteProtocolError` (transient in the
runner's policy) and `httpx2.ConnectTimeout` / `ReadTimeout` (`PoolError.name`), with the pool's message.
"""

from __future__ import annotations

import httpx2

from clue.engines.pool import ConnectionPool, DirectPost, PoolError, as_response, lean_transport_enabled


class LeanTransport(httpx2.AsyncBaseTransport):
    def __init__(self, fallback: httpx2.AsyncBaseTransport | None = None, pool: ConnectionPool | None = None):
        self._fallback = fallback
        self.pool = pool if pool is not None else ConnectionPool()

    def _other(self) -> httpx2.AsyncBaseTransport:
        if self._fallback is None:
            self._fallback = httpx2.AsyncHTTPTransport()
        return self._fallback

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        if not self.pool.handles(request.url.scheme, host):
            return await self._other().handle_async_request(request)
        body = await request.aread()
        timeouts = request.extensions.get("timeout") or {}
        lines = [b"%s %s HTTP/1.1" % (request.method.encode(), request.url.raw_path)]
        lines += [b"%s: %s" % (k, v) for k, v in request.headers.raw]
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        try:
            status, headers, content = await self.pool.roundtrip(host, request.url.port or 80, head + body,
                                                                 timeouts.get("connect"), timeouts.get("read"))
        except PoolError as exc:
            raise getattr(httpx2, exc.name)(str(exc), request=request) from None
        return httpx2.Response(status, headers=headers, content=content, request=request,
                               extensions={"http_version": b"HTTP/1.1"})

    def direct(self, headers: dict[str, str]) -> DirectPost:
        """JSON posts with these headers over the same connections, skipping httpx2's objects (see `pool.DirectPost`)."""
        return DirectPost(self.pool, headers)

    async def aclose(self) -> None:
        await self.pool.aclose()
        if self._fallback is not None:
            await self._fallback.aclose()


__all__ = ["LeanTransport", "DirectPost", "as_response", "lean_transport_enabled"]
