"""Connections that cannot hold a run: reused settings, bytes replies, short timeouts."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest
import redis
import redis.sentinel
from loopback_redis import RedisServer

from toolkit import ConfigError
from toolkit._fleet.client import DirectConnection, Health, connect


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts connections and never answers (a hung Redis)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def test_url_gives_a_bytes_client_with_short_timeouts_and_no_retries() -> None:
    client, label = connect("redis://:s3cret@127.0.0.1:6399/2", socket_timeout=0.3)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["decode_responses"] is False
    assert kwargs["socket_timeout"] == 0.3 and kwargs["socket_connect_timeout"] == 0.3
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6399, 2)
    assert kwargs["password"] == "s3cret"
    retry = client.get_retry()
    assert retry is not None and retry._retries == 0
    assert "s3cret" not in label and "127.0.0.1:6399/2" in label
    client.close()


def test_decode_responses_client_is_accepted_in_bytes_mode(redis_server: RedisServer) -> None:
    text_client = redis.Redis("127.0.0.1", redis_server.port, db=3, decode_responses=True)
    client, label = connect(text_client)
    client.set("k", "v")
    assert client.get("k") == b"v"  # bytes, as pybreaker expects
    assert text_client.get("k") == "v"  # the same database: settings were reused
    assert label == f"redis://127.0.0.1:{redis_server.port}/3"
    text_client.close()
    client.close()


@pytest.mark.parametrize("bad", ["http://example.org", "redis//nope", "redis://:x@h:notaport"])
def test_bad_url_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"not a Redis URL"):
        connect(bad)


def test_bad_url_message_masks_credentials() -> None:
    with pytest.raises(ConfigError) as info:
        connect("http://user:hunter2@example.org")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize("bad", [object(), 6379, redis.asyncio.Redis()])
def test_not_a_client_is_refused_by_type(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"synchronous redis\.Redis client"):
        connect(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -1, 31, True, "1"])
def test_bad_socket_timeout_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="socket_timeout"):
        connect("redis://127.0.0.1:6379/0", socket_timeout=bad)  # type: ignore[arg-type]


def test_dead_redis_fails_at_once_without_retrying(redis_server: RedisServer) -> None:
    client, _ = connect(redis_server.url)
    redis_server.stop()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    # redis-py's default client retries ten times with backoff (about 4 s here)
    assert time.monotonic() - started < 0.5
    client.close()


def test_hung_redis_costs_one_socket_timeout(silent_port: int) -> None:
    client, _ = connect(f"redis://127.0.0.1:{silent_port}/0", socket_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    assert time.monotonic() - started < 1.0  # connect, then one 0.2 s read: no retry
    client.close()


def test_health_logs_an_outage_once_and_its_end_once(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client, label = connect(redis_server.url)
    health = Health(client, label, retry_first=0.05, retry_max=0.1)
    redis_server.stop()
    caplog.set_level(logging.INFO, logger="toolkit")
    for _ in range(50):
        try:
            client.ping()
        except redis.RedisError as exc:
            health.failed(exc)
    assert not health.ok and health.outages == 1
    assert not health.wait_ok(0.2)
    redis_server.start()
    assert health.wait_ok(5.0) and health.ok
    messages = [r.getMessage() for r in caplog.records if r.name == "toolkit"]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("answers again:" in m for m in messages) == 1
    assert all(r.exc_info is None for r in caplog.records)
    health.close()
    client.close()


def test_direct_connection_survives_a_redis_restart_without_an_outage(
    redis_server: RedisServer,
) -> None:
    client, _ = connect(redis_server.url)
    direct = DirectConnection(client)
    client.set("k", "v")
    packed = direct.pack("MGET", "k", "missing")
    assert direct.call(packed) == [b"v", None]
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        direct.call(packed)
    redis_server.start()
    client.set("k", "w")
    assert direct.call(packed) == [b"w", None]
    redis_server.stop()
    redis_server.start()  # its connection is now stale: retried once, silently
    assert direct.call(packed) == [None, None]
    direct.close()
    client.close()


def test_the_end_of_an_outage_is_logged_before_waiters_wake(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="toolkit")
    client, label = connect(redis_server.url)
    health = Health(client, label, retry_first=0.05, retry_max=0.1)
    seen: list[bool] = []

    class Recorder(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if f"{label} answers again" in record.getMessage():  # not another test's watcher
                seen.append(health.wait_ok(0))

    recorder = Recorder()
    logging.getLogger("toolkit").addHandler(recorder)
    try:
        redis_server.stop()
        health.failed(redis.ConnectionError("gone"))
        redis_server.start()
        assert health.wait_ok(5.0)
    finally:
        logging.getLogger("toolkit").removeHandler(recorder)
        health.close()
        client.close()
    assert seen == [False]


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/notadb", "redis://127.0.0.1:6379/1x"])
def test_a_database_that_is_not_a_number_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"not a number"):
        connect(url)


@pytest.mark.parametrize(
    "bad",
    [
        "redis+sentinel://127.0.0.1/mymaster",
        "redis+sentinel://127.0.0.1:26379/",
        "redis+sentinel://127.0.0.1:26379/mymaster/notadb",
        "redis+sentinel://127.0.0.1:99999/mymaster",
    ],
)
def test_a_bad_sentinel_url_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"not a Redis Sentinel URL"):
        connect(bad)


def test_a_sentinel_url_names_the_sentinels_service_db_and_password() -> None:
    client, label = connect("redis+sentinel://:s3cret@127.0.0.1:26379,127.0.0.1:26380/shop/2")
    pool = client.connection_pool
    assert isinstance(pool, redis.sentinel.SentinelConnectionPool)
    assert pool.service_name == "shop" and pool.connection_kwargs["db"] == 2
    assert pool.connection_kwargs["password"] == "s3cret"
    sentinels = [
        s.connection_pool.connection_kwargs["port"] for s in pool.sentinel_manager.sentinels
    ]
    assert sentinels == [26379, 26380]
    assert label == "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/shop/2"
    client.close()
