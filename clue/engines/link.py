"""How the tgi and openai engines reach their server: one place for both.

A plain-http loopback server (the TGI / vLLM / llama.cpp server the kit starts) is reached over the kit's
connection pool (clue/engines/pool.py): generation posts through `DirectPost`, describe()'s few requests
through `DirectClient`, and httpx2 is not imported (~30 ms of `clue run`'s start-up) unless an answer is
an error that the httpx2-shaped error mappings read. Anything else — another host, https, a proxy that
applies — or CLUE_HTTP_TRANSPORT=httpx goes through an httpx2 client the engine makes (`make_client`) on
first use: over `transport.LeanTransport` (the same pool for loopback requests, httpx2's own transport for
the rest), or httpx2's default transport when CLUE_HTTP_TRANSPORT=httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from clue.engines.pool import ConnectionPool, DirectClient, DirectPost, lean_transport_enabled

if TYPE_CHECKING:
    import httpx2


class Link:
    def __init__(self, url: str, headers: dict[str, str],
                 make_client: Callable[[httpx2.AsyncBaseTransport | None], httpx2.AsyncClient]):
        self.pool = ConnectionPool() if lean_transport_enabled() else None
        self.direct = DirectPost(self.pool, headers) if self.pool is not None else None  # None: every post via `http`
        self._reads = DirectClient(self.pool) if self.pool is not None and self.pool.carries(url) else None
        self._make_client = make_client
        self._client: httpx2.AsyncClient | None = None

    @property
    def http(self) -> httpx2.AsyncClient:
        """The engine's httpx2 client, made on first use."""
        if self._client is None:
            from clue.engines.transport import LeanTransport

            self._client = self._make_client(LeanTransport(pool=self.pool) if self.pool is not None else None)
        return self._client

    def describer(self) -> DirectClient | httpx2.AsyncClient:
        """What describe() asks the server through: the pool for a server it carries, else the httpx2 client."""
        return self._reads if self._reads is not None else self.http

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self.pool is not None:
            await self.pool.aclose()
