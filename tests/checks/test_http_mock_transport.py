"""HttpCheck with a client of one's own: ``httpx.MockTransport`` answers are judged like any."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit._engine.errors import HttpStatusError, InvalidJsonError
from toolkit.integrations import HttpCheck


def client_of(handler: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_a_mock_transport_answer_is_read_and_judged() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "ok", "items": [{"id": 7}]})

    async with client_of(handler) as client:
        check = HttpCheck("api", "http://api.test/health", json_key="items.0.id", client=client)
        result = await check.fetch()
    assert result.success and result.data is not None
    assert result.data["value"] == 7 and result.data["status"] == 200
    assert result.data["size"] == len(b'{"status":"ok","items":[{"id":7}]}')  # httpx's compact JSON
    assert seen[0].url == "http://api.test/health"


async def test_mock_answers_fail_the_way_real_ones_do() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/down":
            return httpx.Response(503, text="busy")
        return httpx.Response(200, content=b"{not json")

    async with client_of(handler) as client:
        with pytest.raises(HttpStatusError, match="HTTP 503"):
            await HttpCheck("down", "http://api.test/down", client=client).fetch()
        with pytest.raises(InvalidJsonError, match="not valid JSON"):
            await HttpCheck("bad", "http://api.test/x", json_key="a", client=client).fetch()


async def test_a_mock_body_is_capped_compressed_or_streamed() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/gzip":
            body = gzip.compress(json.dumps({"n": 1}).encode())
            return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})
        if request.url.path == "/stream":
            return httpx.Response(200, content=chunks())
        return httpx.Response(200, content=b"y" * 5000)

    async with client_of(handler) as client:
        gz = await HttpCheck("gz", "http://t/gzip", json_key="n", client=client).fetch()
        big = await HttpCheck("big", "http://t/big", max_body_bytes=100, client=client).fetch()
        streamed = await HttpCheck(
            "s", "http://t/stream", max_body_bytes=2500, client=client
        ).fetch()
    assert gz.data is not None and gz.data["value"] == 1
    assert big.data is not None and big.data["size"] == 100 and big.data["truncated"]
    assert (
        streamed.data is not None and streamed.data["size"] == 2500 and streamed.data["truncated"]
    )


async def test_a_runner_runs_mock_transport_checks_and_leaves_the_client_open() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"ok": True})

    async with client_of(handler) as client:
        registry = IntegrationRegistry()
        registry.register(HttpCheck("one", "http://t/1", client=client))
        registry.register(HttpCheck("two", "http://t/2", client=client))
        async with IntegrationRunner(registry, timeout=2) as runner:
            results = await runner.run_all()
        assert all(s.success for s in results.sections)
        assert not client.is_closed  # the caller's client is the caller's to close
