"""PooledTransport: one httpx transport over several connection pools.

httpcore's connection pool re-examines every connection for every waiting
request each time a request starts or ends, so its cost grows with the square of
the requests in flight (encode/httpcore#1035): 500 checks in one run spend
seconds there. Spreading requests over a few pools keeps each one small. A
request goes to the pool with the fewest requests in flight, the first on a tie,
so quiet traffic stays on one pool and keeps reusing its connections.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

POOLS = 64


class PooledTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` that spreads requests over ``pools`` connection pools."""

    def __init__(
        self, *, verify: ssl.SSLContext | bool, pools: int = POOLS, **options: Any
    ) -> None:
        self._pools = [httpx.AsyncHTTPTransport(verify=verify, **options) for _ in range(pools)]
        self._busy = [0] * pools

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` on the least busy pool; the pool stays busy until the body is closed."""
        index = self._busy.index(min(self._busy))
        self._busy[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._busy[index] -= 1
            raise
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, self._busy, index),  # type: ignore[arg-type]
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pool and its connections."""
        for pool in self._pools:
            await pool.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that marks its pool one request less busy once it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, busy: list[int], index: int) -> None:
        self._stream = stream
        self._busy = busy
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:
            self._open = False
            self._busy[self._index] -= 1
        await self._stream.aclose()
