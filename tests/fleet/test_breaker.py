"""RedisBreakerStorage: pybreaker's layout, one read per step, whole seconds, local fallback."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pybreaker
import pytest
import redis
from loopback_redis import RedisServer
from redis_counting import command_counts, commands_during

from toolkit import RedisStorage
from toolkit._fleet.breaker import RedisBreakerStorage


@pytest.fixture
def storage(redis_server: RedisServer) -> Iterator[RedisStorage]:
    shared = RedisStorage(redis_server.url, "ns", record_calls=False)
    yield shared
    shared.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


def plain_pybreaker(client: redis.Redis, name: str) -> pybreaker.CircuitBreaker:
    """A breaker as a worker without the toolkit would make it."""
    storage = pybreaker.CircuitRedisStorage(pybreaker.STATE_CLOSED, client, namespace=f"ns:{name}")
    return pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=storage)


def boom() -> None:
    raise RuntimeError("down")


def test_it_is_a_pybreaker_circuit_redis_storage(storage: RedisStorage) -> None:
    state = storage.state_storage("pay")
    assert isinstance(state, pybreaker.CircuitRedisStorage)
    assert state._namespace("state") == "ns:pay:pybreaker:state"


def test_creating_it_creates_pybreakers_keys(storage: RedisStorage, raw: redis.Redis) -> None:
    storage.state_storage("pay")
    assert raw.mget("ns:pay:pybreaker:state", "ns:pay:pybreaker:fail_counter") == [b"closed", b"0"]


def test_plain_pybreaker_opens_it_and_we_see_it(storage: RedisStorage, raw: redis.Redis) -> None:
    ours = pybreaker.CircuitBreaker(fail_max=2, state_storage=storage.state_storage("pay"))
    theirs = plain_pybreaker(raw, "pay")
    for _ in range(2):
        with pytest.raises((RuntimeError, pybreaker.CircuitBreakerError)):
            theirs.call(boom)
    assert ours.current_state == "open" and ours.fail_counter == 2
    with pytest.raises(pybreaker.CircuitBreakerError):
        ours.call(lambda: None)


def test_we_open_it_and_plain_pybreaker_sees_it(storage: RedisStorage, raw: redis.Redis) -> None:
    ours = pybreaker.CircuitBreaker(fail_max=1, state_storage=storage.state_storage("pay"))
    with pytest.raises(pybreaker.CircuitBreakerError):
        ours.call(boom)
    theirs = plain_pybreaker(raw, "pay")
    assert theirs.current_state == "open"
    with pytest.raises(pybreaker.CircuitBreakerError):
        theirs.call(lambda: None)


def test_batch_reads_all_five_keys_in_one_mget(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    before = command_counts(raw)
    with state.batch():
        _ = (state.state, state.counter, state.success_counter, state.opened_at, state.isolated)
        with state.batch():  # nested: still the same snapshot
            _ = state.state
    assert commands_during(raw, before) == {"mget": 1}


def test_reads_outside_a_batch_are_fresh(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    assert state.state == "closed"
    raw.set("ns:pay:pybreaker:state", "open")
    assert state.state == "open"


def test_unchanged_writes_are_skipped_in_a_batch(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    before = command_counts(raw)
    with state.batch():
        state.reset_counter()
        state.reset_success_counter()
        state.state = "closed"
        state.isolated = False
    assert commands_during(raw, before) == {"mget": 1}
    with state.batch():
        state.state = "open"
    assert commands_during(raw, before) == {"mget": 2, "set": 1}


def test_increment_takes_the_count_from_the_reply(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    raw.set("ns:pay:pybreaker:fail_counter", 5)  # another worker counted meanwhile
    with state.batch():
        state.increment_counter()
        assert state.counter == 6


def test_opened_at_is_rounded_up_to_the_second(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    now = datetime.fromtimestamp(math.floor(time.time()) - 100 + 0.25, UTC)
    state.opened_at = now
    assert raw.get("ns:pay:pybreaker:opened_at") == str(math.ceil(now.timestamp())).encode()
    opened = state.opened_at
    assert opened is not None and opened >= now  # the wait can only be longer, never shorter


def test_opened_at_only_moves_forward_unless_rewound(
    storage: RedisStorage, raw: redis.Redis
) -> None:
    state = storage.state_storage("pay")
    later = datetime.fromtimestamp(math.floor(time.time()) - 50, UTC)
    state.opened_at = later
    state.opened_at = later - timedelta(seconds=5)  # a slower worker opening it too
    assert state.opened_at == later
    state.rewind_opened_at(later - timedelta(seconds=5))
    opened = state.opened_at
    assert opened is not None and opened <= later - timedelta(seconds=5)
    assert opened == datetime.fromtimestamp(1, UTC)  # before any worker's wait: over for all
    assert raw.get("ns:pay:pybreaker:opened_at") == b"1"


def test_isolated_is_a_key_every_worker_reads(storage: RedisStorage, raw: redis.Redis) -> None:
    one, two = storage.state_storage("pay"), storage.state_storage("pay")
    one.isolated = True
    assert raw.get("ns:pay:toolkit:isolated") == b"1" and two.isolated
    two.isolated = False
    assert raw.exists("ns:pay:toolkit:isolated") == 0 and not one.isolated


def test_garbage_in_redis_reads_as_closed(storage: RedisStorage, raw: redis.Redis) -> None:
    state = storage.state_storage("pay")
    raw.set("ns:pay:pybreaker:state", "sideways")
    raw.set("ns:pay:pybreaker:fail_counter", "many")
    assert state.state == "closed" and state.counter == 0


def test_dead_redis_keeps_the_last_shared_state_locally(
    redis_server: RedisServer, storage: RedisStorage, caplog: pytest.LogCaptureFixture
) -> None:
    state = storage.state_storage("pay")
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=60, state_storage=state)
    breaker.open()
    redis_server.stop()
    caplog.set_level(logging.DEBUG)
    for _ in range(20):
        assert state.state == "open"  # not pybreaker's fallback "closed"
        with pytest.raises(pybreaker.CircuitBreakerError):
            breaker.call(lambda: None)
    assert not storage.available
    assert [r for r in caplog.records if r.levelno >= logging.WARNING and "Redis" in r.message]
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1
    assert all(r.exc_info is None for r in caplog.records)


def test_failures_keep_counting_locally_while_redis_is_down(
    redis_server: RedisServer, storage: RedisStorage
) -> None:
    state = storage.state_storage("pay")
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=60, state_storage=state)
    redis_server.stop()
    for _ in range(3):
        with pytest.raises((RuntimeError, pybreaker.CircuitBreakerError)):
            breaker.call(boom)
    assert breaker.current_state == "open" and state.counter == 3


def test_redis_state_wins_when_it_returns(redis_server: RedisServer, storage: RedisStorage) -> None:
    state = storage.state_storage("pay")
    redis_server.stop()
    state.increment_counter()  # counted locally: Redis is down
    assert state.counter == 1
    redis_server.start()
    client = redis_server.client()
    client.mset({"ns:pay:pybreaker:state": "open", "ns:pay:pybreaker:fail_counter": 7})
    assert storage.health.wait_ok(5.0)
    assert state.state == "open" and state.counter == 7
    client.close()


def test_breaker_redis_lost_is_written_back_from_local_state(
    redis_server: RedisServer, storage: RedisStorage
) -> None:
    state = storage.state_storage("pay")
    pybreaker.CircuitBreaker(state_storage=state).open()
    opened = state.opened_at
    redis_server.stop()  # no persistence: it comes back empty
    state.state  # noqa: B018  (notices the outage)
    redis_server.start()
    assert storage.health.wait_ok(5.0)
    assert state.state == "open" and state.opened_at == opened
    client = redis_server.client()
    assert client.get("ns:pay:pybreaker:state") == b"open"
    client.close()


def test_storage_made_while_redis_is_down_recovers(redis_server: RedisServer) -> None:
    redis_server.stop()
    started = time.monotonic()
    shared = RedisStorage(redis_server.url, "ns", record_calls=False)
    state = shared.state_storage("pay")
    assert isinstance(state, RedisBreakerStorage) and state.state == "closed"
    assert not shared.available and time.monotonic() - started < 1.0
    redis_server.start()
    assert shared.health.wait_ok(5.0)
    assert state.state == "closed"
    client = redis_server.client()
    assert client.get("ns:pay:pybreaker:state") == b"closed"  # created on recovery
    client.close()
    shared.close()


def test_an_interrupted_batch_entry_leaves_later_reads_fresh(
    storage: RedisStorage, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = storage.state_storage("pay")

    def interrupted(packed: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(state._direct, "call", interrupted)
    with pytest.raises(KeyboardInterrupt), state.batch():
        pass
    monkeypatch.undo()
    raw.set("ns:pay:pybreaker:state", "open")
    assert state.state == "open"  # not served from a batch that never began
    with state.batch():
        assert state.state == "open"
    raw.set("ns:pay:pybreaker:state", "closed")
    assert state.state == "closed"


@pytest.mark.parametrize(
    ("key", "value"), [("fail_counter", "inf"), ("opened_at", "1e400"), ("opened_at", "9" * 14)]
)
def test_unparsable_numbers_never_raise_nor_wedge_the_batch(
    storage: RedisStorage, raw: redis.Redis, key: str, value: str
) -> None:
    state = storage.state_storage("pay")
    raw.set("ns:pay:pybreaker:state", "open")
    raw.set(f"ns:pay:pybreaker:{key}", value)
    with state.batch():
        assert state.state == "open"
        _ = (state.counter, state.opened_at)
    opened = state.opened_at
    # far ahead reads as the moment this worker first saw it: its wait is its own
    assert opened is None or opened <= datetime.now(UTC)
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, state_storage=state)
    with contextlib.suppress(pybreaker.CircuitBreakerError):  # the trial may be due: no error
        breaker.call(lambda: None)
    raw.set("ns:pay:pybreaker:state", "closed")
    raw.set(f"ns:pay:pybreaker:{key}", 0)
    with state.batch():
        assert state.state == "closed"


def test_a_snapshot_that_cannot_be_parsed_keeps_the_local_state(
    storage: RedisStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = storage.state_storage("pay")
    state.state = "open"

    def unparsable(values: object) -> object:
        raise ValueError("garbage")

    monkeypatch.setattr("toolkit._fleet.breaker.parse_snapshot", unparsable)
    with state.batch():
        assert state.state == "open"
    assert state._serving == {}


def test_rewind_ends_the_wait_of_a_plain_pybreaker_with_a_longer_reset_timeout(
    storage: RedisStorage, raw: redis.Redis
) -> None:
    ours = pybreaker.CircuitBreaker(
        fail_max=1, reset_timeout=5, state_storage=storage.state_storage("pay")
    )
    theirs = pybreaker.CircuitBreaker(
        fail_max=1,
        reset_timeout=10 * 365 * 86400,
        state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, raw, namespace="ns:pay"
        ),
    )
    ours.open()
    storage.state_storage("pay").rewind_opened_at(datetime.now(UTC) - timedelta(seconds=6))
    assert theirs.call(lambda: "trial") == "trial" and theirs.current_state == "closed"


def test_creating_it_lists_its_name_in_the_namespaces_set(
    storage: RedisStorage, raw: redis.Redis
) -> None:
    storage.state_storage("pay")
    storage.state_storage("mail")
    assert raw.smembers("ns:toolkit:breakers") == {b"pay", b"mail"}
