"""Client tracking: a run reads only the breakers that changed, and never misses a change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybreaker
import pytest
import redis
from loopback_redis import RedisServer, free_port
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import IntegrationRunner, RedisStorage
from toolkit._fleet import run as fleet_run
from toolkit._fleet.tracking import Tracker

NAMES = [f"p{i}" for i in range(20)]


class Worker:
    """A runner of twenty healthy integrations on its own ``RedisStorage``."""

    def __init__(self, url: str, **options: Any) -> None:
        self.probes = [Probe(name, "ok") for name in NAMES]
        self.storage = RedisStorage(url, "ns", worker="w", record_calls=False, **options)
        self.runner = IntegrationRunner(
            registry_of(*self.probes), storage=self.storage, fail_max=3, reset_timeout=60.0
        )

    def calls(self) -> dict[str, int]:
        return {probe.name: probe.calls for probe in self.probes}

    def close(self) -> None:
        self.runner.close()
        self.storage.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


@pytest.fixture
def worker(redis_server: RedisServer) -> Iterator[Worker]:
    made = Worker(redis_server.url)
    made.runner.run_all_sync()  # keys created and read clean
    made.runner.run_all_sync()
    yield made
    made.close()


def open_elsewhere(raw: redis.Redis, name: str) -> None:
    """What another worker's opening leaves in Redis."""
    raw.set(f"ns:{name}:pybreaker:state", "open")
    raw.set(f"ns:{name}:pybreaker:opened_at", int(time.time()))


def test_a_run_of_unchanged_breakers_sends_one_ping(worker: Worker, raw: redis.Redis) -> None:
    before, trips = command_counts(raw), worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert worker.storage.io.round_trips - trips == 1
    assert commands_during(raw, before) == {"ping": 1}
    assert set(worker.calls().values()) == {3}


def test_a_breaker_another_worker_opened_is_read_in_the_same_round_trip(
    worker: Worker, raw: redis.Redis
) -> None:
    open_elsewhere(raw, "p7")
    before, trips = command_counts(raw), worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert worker.storage.io.round_trips - trips == 1  # the push came before the read was built
    counted = commands_during(raw, before)
    assert counted["evalsha"] == 1 and counted["mget"] == 1 and "ping" not in counted
    assert worker.calls()["p7"] == 2
    assert [r.outcome for r in worker.runner.history if r.name == "p7"][-1] == "circuit_open"
    assert sum(1 for n, c in worker.calls().items() if c == 3) == 19


def test_a_change_made_while_the_read_travels_is_read_again_before_calls_launch(
    worker: Worker, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fleet_run._Read.build
    changed: list[bool] = []

    def build_then_change(self: Any) -> Any:
        commands = build(self)
        if not changed:  # after the pushes were read, before the read is sent
            changed.append(True)
            open_elsewhere(raw, "p3")
        return commands

    monkeypatch.setattr(fleet_run._Read, "build", build_then_change)
    trips = worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert changed and worker.storage.io.round_trips - trips == 2  # the PING, then p3 again
    assert worker.calls()["p3"] == 2 and worker.runner.status("p3").state == "open"


def test_a_plain_pybreaker_opening_reaches_a_tracked_worker(
    worker: Worker, raw: redis.Redis
) -> None:
    plain = pybreaker.CircuitBreaker(
        fail_max=1, state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, raw, namespace="ns:p11"
        ),
    )  # fmt: skip
    with pytest.raises(pybreaker.CircuitBreakerError):
        plain.call(lambda: 1 / 0)
    worker.runner.run_all_sync()
    assert worker.calls()["p11"] == 2 and worker.runner.status("p11").state == "open"


def test_a_new_connection_forgets_what_was_read_clean(worker: Worker, raw: redis.Redis) -> None:
    tracking = [c for c in raw.client_list() if "t" in c["flags"]]
    assert len(tracking) == 1  # the I/O connection, the only one that tracks
    raw.client_kill_filter(_id=tracking[0]["id"])
    open_elsewhere(raw, "p5")  # no push can reach a closed connection
    before = command_counts(raw)
    worker.runner.run_all_sync()
    assert commands_during(raw, before)["client|tracking"] == 1  # connected again, tracking
    assert worker.calls()["p5"] == 2 and worker.runner.status("p5").state == "open"
    assert worker.storage.available


def test_after_flushall_every_breaker_is_read_and_written_back(
    worker: Worker, raw: redis.Redis
) -> None:
    raw.flushall()
    worker.runner.run_all_sync()
    assert raw.get("ns:p0:pybreaker:state") == b"closed"
    assert raw.smembers("ns:toolkit:breakers") == {name.encode() for name in NAMES}
    assert set(worker.calls().values()) == {3}


def test_a_change_redis_never_saw_is_read_over_once_redis_answers(
    worker: Worker, raw: redis.Redis
) -> None:
    health = worker.storage.health
    health.failed(redis.ConnectionError("a command failed"))  # Redis away for a moment
    worker.runner.trip("p2")  # kept in this process only
    assert health.wait_ok(5.0)  # answers again; the I/O connection never dropped
    worker.runner.run_all_sync()  # Redis's state wins: p2 was never opened there
    assert worker.calls()["p2"] == 3 and worker.runner.status("p2").state == "closed"


class OldRedis(RedisServer):
    """A Redis that knows no ``HELLO``, as one older than 6 (or a proxy) answers RESP2 only."""

    def command(self) -> list[str]:
        return [*super().command(), "--rename-command", "HELLO", ""]

    def client(self, **kwargs: Any) -> redis.Redis:
        return super().client(protocol=2, **kwargs)


@pytest.fixture
def old_redis(redis_server_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    server = OldRedis(redis_server_binary, free_port(), tmp_path, {"save": ""})
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("refusal", ["no HELLO", "ACL"])
def test_a_redis_that_refuses_tracking_is_read_whole_every_run(
    redis_server: RedisServer, old_redis: RedisServer, refusal: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    server = old_redis if refusal == "no HELLO" else redis_server
    raw = server.client()
    if refusal == "ACL":  # as a managed Redis may
        raw.execute_command("ACL", "SETUSER", "default", "-client|tracking")
    with caplog.at_level("INFO", logger="toolkit"):
        made = Worker(server.url)
        try:
            for _ in range(3):
                made.runner.run_all_sync()
            open_elsewhere(raw, "p4")
            before = command_counts(raw)
            made.runner.run_all_sync()
            assert commands_during(raw, before)["evalsha"] == 1  # all twenty, read again
            assert made.calls()["p4"] == 3 and made.runner.status("p4").state == "open"
            assert made.storage.available and not made.storage.io.tracker.enabled
        finally:
            made.close()
            raw.close()
    said = [r.getMessage() for r in caplog.records if "does not track keys" in r.getMessage()]
    why = "HELLO 3 was refused" if refusal == "no HELLO" else "CLIENT TRACKING was refused"
    assert len(said) == 1 and why in said[0]


def test_client_tracking_false_reads_every_breaker_every_run(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    made = Worker(redis_server.url, client_tracking=False)
    try:
        made.runner.run_all_sync()
        before = command_counts(raw)
        made.runner.run_all_sync()
        counted = commands_during(raw, before)
        assert counted["evalsha"] == 1 and "client|tracking" not in counted
        assert all("t" not in c["flags"] for c in raw.client_list())
    finally:
        made.close()


def test_a_mark_after_a_newer_push_does_not_count_as_clean() -> None:
    class Storage:
        invalidated = 0
        watched = True

        def tracked_keys(self) -> list[str]:
            return ["k"]

    tracker = Tracker("test")
    storage = Storage()
    tracker.watch(storage)
    tracker.on_push([b"invalidate", [b"k"]])  # a change after the reply (seq 0) was read
    Tracker.mark(tracker.clean, storage, seq=0)
    assert storage not in tracker.clean
    Tracker.mark(tracker.clean, storage, seq=tracker.seq)  # a reply after that push
    assert storage in tracker.clean
    tracker.on_push([b"invalidate", None])  # FLUSHALL: nothing is known clean any more
    assert storage not in tracker.clean
