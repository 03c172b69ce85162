"""The shared fixtures in conftest.py do what later tests rely on, against real servers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import conftest
import httpx
import pytest
import redis
from conftest import MakeRedisServer
from loopback_http import HUGE_BODY_BYTES, HttpServer
from loopback_redis import RedisServer

# --------------------------------------------------------------------------- redis


def test_redis_server_answers_ping_on_loopback(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.ping() is True
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"
    finally:
        client.close()
    assert redis_server.host == "127.0.0.1"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"


def test_redis_server_has_no_persistence_by_default(redis_server: RedisServer) -> None:
    client = redis_server.client(decode_responses=True)
    try:
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
    finally:
        client.close()


def test_redis_server_restarts_on_the_same_port(redis_server: RedisServer) -> None:
    port = redis_server.port
    redis_server.stop()
    assert not redis_server.running
    client = redis_server.client()
    try:
        with pytest.raises(redis.ConnectionError):
            client.ping()
        redis_server.start()
        assert redis_server.running
        assert redis_server.port == port
        assert client.ping() is True
    finally:
        client.close()


def test_each_test_gets_its_own_redis(make_redis_server: MakeRedisServer) -> None:
    first, second = make_redis_server(), make_redis_server()
    assert first.port != second.port
    assert first.directory != second.directory


def test_make_redis_server_options_keep_data_across_a_kill(
    make_redis_server: MakeRedisServer,
) -> None:
    server = make_redis_server(appendonly="yes", appendfsync="always")
    client = server.client(decode_responses=True)
    try:
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
        client.set("acknowledged", "1")
        server.kill()
        server.start()
        assert client.get("acknowledged") == "1"
    finally:
        client.close()


@pytest.fixture
def checked_after_teardown() -> Iterator[list[RedisServer]]:
    """Servers put here must be stopped once the fixtures set up after this one are gone."""
    servers: list[RedisServer] = []
    yield servers
    assert servers
    assert not any(server.running for server in servers)


def test_make_redis_server_stops_every_server_at_teardown(
    checked_after_teardown: list[RedisServer], make_redis_server: MakeRedisServer
) -> None:
    checked_after_teardown += [make_redis_server(), make_redis_server()]
    assert all(server.running for server in checked_after_teardown)


def test_missing_redis_skips_with_the_install_command(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TOOLKIT_REQUIRE_REDIS", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install redis-server"):
        request.getfixturevalue("redis_server")


def test_missing_redis_fails_when_required(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TOOLKIT_REQUIRE_REDIS", "1")
    with pytest.raises(pytest.fail.Exception, match="TOOLKIT_REQUIRE_REDIS=1"):
        request.getfixturevalue("redis_server")


# --------------------------------------------------------------------------- http


def test_http_ok_returns_json(http_server: HttpServer) -> None:
    response = httpx.get(http_server.url_for("/ok"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "value": 42}
    assert http_server.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("code", [200, 204, 301, 404, 418, 500, 503])
def test_http_status_returns_that_status(http_server: HttpServer, code: int) -> None:
    response = httpx.get(http_server.url_for(f"/status/{code}"))
    assert response.status_code == code
    if code != 204:
        assert response.json() == {"status": code}


def test_http_slow_waits_before_answering(http_server: HttpServer) -> None:
    started = time.monotonic()
    response = httpx.get(http_server.url_for("/slow/0.3"))
    assert time.monotonic() - started >= 0.3
    assert response.json() == {"status": "ok", "slept": 0.3}


def test_http_slow_times_out_a_client(http_server: HttpServer) -> None:
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(http_server.url_for("/slow/2"), timeout=0.2)
    assert httpx.get(http_server.url_for("/ok")).status_code == 200


async def test_http_server_answers_a_burst_of_concurrent_requests(http_server: HttpServer) -> None:
    async with httpx.AsyncClient(base_url=http_server.url) as client:
        started = time.monotonic()
        responses = await asyncio.gather(*(client.get("/slow/0.5") for _ in range(50)))
        elapsed = time.monotonic() - started
    assert [r.status_code for r in responses] == [200] * 50
    # Served in parallel and none held back in the listen backlog (a dropped connect
    # is retried after 1 s): about 0.5 s in all.
    assert elapsed < 1.4, f"50 concurrent requests of 0.5 s took {elapsed:.2f} s"


def test_http_invalid_json_claims_json(http_server: HttpServer) -> None:
    response = httpx.get(http_server.url_for("/invalid-json"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_http_redirect_points_to_ok(http_server: HttpServer) -> None:
    response = httpx.get(http_server.url_for("/redirect"))
    assert response.status_code == 302
    assert response.headers["location"] == "/ok"
    followed = httpx.get(http_server.url_for("/redirect"), follow_redirects=True)
    assert followed.json() == {"status": "ok", "value": 42}


def test_http_huge_streams_fifty_mebibytes(http_server: HttpServer) -> None:
    total = 0
    with httpx.stream("GET", http_server.url_for("/huge")) as response:
        assert response.headers["content-length"] == str(HUGE_BODY_BYTES)
        for chunk in response.iter_bytes():
            total += len(chunk)
    assert total == 50 * 1024 * 1024


def test_http_huge_survives_a_client_that_stops_reading(http_server: HttpServer) -> None:
    with httpx.stream("GET", http_server.url_for("/huge")) as response:
        first = next(response.iter_bytes())
        assert first
    assert httpx.get(http_server.url_for("/huge/10")).content == b"x" * 10


def test_http_echo_headers_returns_request_headers(http_server: HttpServer) -> None:
    response = httpx.get(
        http_server.url_for("/echo-headers"), headers={"Authorization": "Bearer t0k3n"}
    )
    headers = response.json()
    assert headers["authorization"] == "Bearer t0k3n"
    assert headers["host"] == f"127.0.0.1:{http_server.port}"


def test_http_head_and_post_are_served(http_server: HttpServer) -> None:
    head = httpx.head(http_server.url_for("/ok"))
    assert head.status_code == 200
    assert head.content == b""
    post = httpx.post(http_server.url_for("/ok"), content=b"payload")
    assert post.json() == {"status": "ok", "value": 42}


def test_http_unknown_path_is_404_and_hits_are_counted(http_server: HttpServer) -> None:
    assert httpx.get(http_server.url_for("/nope")).status_code == 404
    httpx.get(http_server.url_for("/ok?x=1"))
    httpx.get(http_server.url_for("/ok"))
    assert http_server.hits["/ok"] == 2
    assert http_server.hits["/nope"] == 1


def test_http_server_is_gone_after_close() -> None:
    server = HttpServer()
    url = server.url_for("/ok")
    assert httpx.get(url).status_code == 200
    server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


# --------------------------------------------------------------------------- browser


def test_chromium_opens_a_page_from_the_http_server(
    chromium_path: str, chromium_args: list[str], http_server: HttpServer
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=chromium_args)
        try:
            page = browser.new_page()
            page.goto(http_server.url_for("/ok"))
            assert "ok" in page.inner_text("body")
        finally:
            browser.close()


def test_missing_chromium_skips_with_the_install_command(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.delenv("TOOLKIT_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        request.getfixturevalue("chromium_path")


def test_missing_chromium_fails_when_required(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(conftest, "CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setenv("TOOLKIT_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="TOOLKIT_REQUIRE_BROWSER=1"):
        request.getfixturevalue("chromium_path")
