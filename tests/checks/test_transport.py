"""PooledTransport: requests spread over small connection pools, quiet traffic on one."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from loopback_http import HttpServer

from toolkit._checks.client import ssl_context
from toolkit._checks.transport import PooledTransport


def connections(transport: PooledTransport) -> list[int]:
    """How many connections each pool holds."""
    return [len(pool._pool.connections) for pool in transport._pools]


async def test_quiet_traffic_stays_on_the_first_pool_and_reuses_its_connection(
    http_server: HttpServer,
) -> None:
    transport = PooledTransport(verify=ssl_context(True), pools=4)
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(5):
            assert (await client.get(http_server.url_for("/ok"))).status_code == 200
        assert connections(transport) == [1, 0, 0, 0]
        assert transport._busy == [0, 0, 0, 0]


async def test_concurrent_requests_are_spread_over_the_pools(http_server: HttpServer) -> None:
    transport = PooledTransport(verify=ssl_context(True), pools=4)
    async with httpx.AsyncClient(transport=transport) as client:
        url = http_server.url_for("/slow/0.2")
        responses = await asyncio.gather(*(client.get(url) for _ in range(8)))
        assert all(r.status_code == 200 for r in responses)
        assert connections(transport) == [2, 2, 2, 2]
        assert transport._busy == [0, 0, 0, 0]


async def test_a_pool_is_busy_until_the_body_is_closed(http_server: HttpServer) -> None:
    transport = PooledTransport(verify=ssl_context(True), pools=2)
    async with httpx.AsyncClient(transport=transport) as client:
        async with client.stream("GET", http_server.url_for("/ok")) as response:
            assert transport._busy == [1, 0]
            await response.aread()
        assert transport._busy == [0, 0]


async def test_a_failed_request_leaves_its_pool_idle() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = PooledTransport(verify=ssl_context(True), pools=2)
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")
        assert transport._busy == [0, 0]
