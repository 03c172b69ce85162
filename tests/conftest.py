"""Shared fixtures: real servers on 127.0.0.1 for tests that need them.

- ``redis_server`` / ``make_redis_server``: a private ``redis-server`` per test, no
  persistence unless asked for, restartable on the same port and data directory
  (``loopback_redis.RedisServer``).
- ``sentinel_cluster``: a primary, a replica and three ``redis-sentinel`` processes
  (``loopback_sentinel.SentinelCluster``).
- ``http_server``: a threaded stdlib HTTP server with the routes HTTP checks need
  (``loopback_http.HttpServer`` lists them).
- ``chromium_path`` / ``chromium_args``: Debian's Chromium for Playwright.
- ``prometheus_binary``: Debian's Prometheus server, for a real scrape.

A test whose server binary is missing is skipped with the ``apt-get`` command that
installs it. ``.ci/run`` sets ``TOOLKIT_REQUIRE_REDIS=1``, ``TOOLKIT_REQUIRE_BROWSER=1``
and ``TOOLKIT_REQUIRE_PROMETHEUS=1``, which turn those skips into failures. Tests using
the Redis, Chromium or Prometheus fixtures get the ``redis``, ``browser`` or ``prometheus``
marker automatically, so
``pytest -m "not redis"`` works without marking each test by hand.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import NoReturn, Protocol

import pytest
from loopback_http import HttpServer
from loopback_redis import RedisServer, free_port
from loopback_sentinel import SentinelCluster

REDIS_MISSING = "redis-server not installed: apt-get install redis-server"
SENTINEL_MISSING = "redis-sentinel not installed: apt-get install redis-sentinel"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS: list[str] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Flags for a headless Chromium run as root on a machine with no outside network."""


def skip_unless_required(env_var: str, reason: str) -> NoReturn:
    """Skip the test, or fail it when ``env_var`` is ``1`` (CI must not skip)."""
    if os.environ.get(env_var) == "1":
        pytest.fail(f"{reason} ({env_var}=1 requires it)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the server fixtures they use, so ``-m`` can select them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & {"redis_server", "make_redis_server", "redis_server_binary"}:
            item.add_marker(pytest.mark.redis)
        if "chromium_path" in names:
            item.add_marker(pytest.mark.browser)
        if "prometheus_binary" in names:
            item.add_marker(pytest.mark.prometheus)


# --------------------------------------------------------------------------- redis


class MakeRedisServer(Protocol):
    """Signature of the ``make_redis_server`` factory."""

    def __call__(self, **options: str) -> RedisServer: ...


@pytest.fixture
def redis_server_binary() -> str:
    """Path of ``redis-server``; skips (or fails under TOOLKIT_REQUIRE_REDIS=1) if absent."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_unless_required("TOOLKIT_REQUIRE_REDIS", REDIS_MISSING)
    return binary


@pytest.fixture
def make_redis_server(
    redis_server_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MakeRedisServer]:
    """Factory for started Redis servers; every one is stopped at teardown.

    Keyword arguments become ``--name value`` options (underscores turn into dashes)
    and override the defaults ``save=""`` and ``appendonly="no"``, e.g.
    ``make_redis_server(appendonly="yes", appendfsync="always")``.
    """
    servers: list[RedisServer] = []

    def make(**options: str) -> RedisServer:
        merged = {"save": "", "appendonly": "no"}
        merged.update({key.replace("_", "-"): value for key, value in options.items()})
        last_error: RuntimeError | None = None
        for _ in range(3):  # another process may take the free port before redis binds it
            server = RedisServer(
                redis_server_binary, free_port(), tmp_path_factory.mktemp("redis"), merged
            )
            servers.append(server)
            try:
                server.start()
            except RuntimeError as exc:
                last_error = exc
                continue
            return server
        raise RuntimeError(f"could not start redis-server: {last_error}")

    try:
        yield make
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def redis_server(make_redis_server: MakeRedisServer) -> RedisServer:
    """A fresh Redis on 127.0.0.1 for this test alone, without persistence.

    One per test (it starts in about 20 ms), so a test may stop or kill it freely.
    """
    return make_redis_server()


@pytest.fixture
def sentinel_cluster(
    redis_server_binary: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SentinelCluster]:
    """A primary, a replica and three ``redis-sentinel`` processes on 127.0.0.1, started."""
    binary = shutil.which("redis-sentinel")
    if binary is None:
        skip_unless_required("TOOLKIT_REQUIRE_REDIS", SENTINEL_MISSING)
    cluster = SentinelCluster(redis_server_binary, binary, tmp_path_factory.mktemp("sentinel"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


# --------------------------------------------------------------------------- prometheus

PROMETHEUS_MISSING = "prometheus not installed: apt-get install prometheus"


@pytest.fixture
def prometheus_binary() -> str:
    """Debian's Prometheus server; skips (or fails under TOOLKIT_REQUIRE_PROMETHEUS=1)."""
    binary = shutil.which("prometheus")
    if binary is None:
        skip_unless_required("TOOLKIT_REQUIRE_PROMETHEUS", PROMETHEUS_MISSING)
    return binary


# --------------------------------------------------------------------------- http


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A fresh HTTP server on 127.0.0.1 for this test; see ``HttpServer`` for routes."""
    server = HttpServer()
    try:
        yield server
    finally:
        server.close()


# --------------------------------------------------------------------------- browser


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium; skips (or fails under TOOLKIT_REQUIRE_BROWSER=1) if absent.

    Launch it with Playwright as ``chromium.launch(executable_path=chromium_path,
    args=CHROMIUM_ARGS)``; ``playwright install`` is never needed.
    """
    if not os.access(CHROMIUM, os.X_OK):
        skip_unless_required(
            "TOOLKIT_REQUIRE_BROWSER", f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        )
    return CHROMIUM


@pytest.fixture
def chromium_args() -> list[str]:
    """A copy of ``CHROMIUM_ARGS`` for ``chromium.launch(args=...)``."""
    return list(CHROMIUM_ARGS)
