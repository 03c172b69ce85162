"""SharedWindow: one time window for the fleet, in Redis, so every worker's outcomes count."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from loopback_redis import RedisServer
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import IntegrationRunner, RedisStorage
from toolkit._fleet.window import BUCKETS, SharedWindow

SHARED: dict[str, Any] = {
    "window_s": 60.0, "min_calls": 4, "failure_rate": 0.7, "shared_window": True,
    "reset_timeout": 30.0,
}  # fmt: skip


class Worker:
    """One worker: its own storage (its own connection) and runner, one integration."""

    def __init__(self, url: str, name: str, behaviour: str, **policy: Any) -> None:
        self.storage = RedisStorage(url, "ns", worker=name, record_calls=False)
        self.probe = Probe("pay", behaviour)
        self.runner = IntegrationRunner(
            registry_of(self.probe), storage=self.storage, policies={"pay": policy or SHARED}
        )

    def call(self) -> str:
        self.runner.run_one_sync("pay")
        return self.runner.history[-1].outcome

    def close(self) -> None:
        self.runner.close()
        self.storage.close()


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[list[Worker]]:
    made: list[Worker] = []
    yield made
    for worker in made:
        worker.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


def test_one_workers_failures_alone_do_not_open_the_breaker_for_all(
    redis_server: RedisServer, workers: list[Worker]
) -> None:
    bad = Worker(redis_server.url, "bad-network", "raise")
    good = Worker(redis_server.url, "fine", "ok")
    workers += [bad, good]
    for _ in range(4):
        assert bad.call() == "error" and good.call() == "ok"
    assert bad.runner.status("pay").state == "closed"  # never 70% of the fleet's calls failed
    # each sees the fleet as of its last run's read, plus its own call since
    assert bad.runner.status("pay").window_failure_rate == 4 / 7  # good's last call unseen
    assert good.runner.status("pay").window_failure_rate == 0.5  # all 8 calls
    alone = Worker(redis_server.url, "alone", "raise", **{**SHARED, "shared_window": False})
    workers.append(alone)
    assert [alone.call() for _ in range(4)][-1] == "error"
    assert alone.runner.status("pay").state == "open"  # its own window: 4 of 4 failed


def test_a_failing_service_opens_the_breaker_for_every_worker(
    redis_server: RedisServer, workers: list[Worker]
) -> None:
    a = Worker(redis_server.url, "a", "raise")
    b = Worker(redis_server.url, "b", "raise")
    workers += [a, b]
    a.call()
    b.call()
    a.call()
    assert b.call() == "error"  # the fourth failure in the fleet's window opens it
    assert a.call() == "circuit_open" and b.call() == "circuit_open"
    assert a.probe.calls == 2 and b.probe.calls == 2


def test_an_opening_starts_an_empty_window_for_every_worker(
    redis_server: RedisServer, workers: list[Worker]
) -> None:
    a = Worker(redis_server.url, "a", "raise")
    b = Worker(redis_server.url, "b", "raise")
    workers += [a, b]
    for _ in range(2):
        a.call()
        b.call()
    assert a.runner.status("pay").state == "open"
    a.runner.expire("pay")
    a.probe.behaviour = b.probe.behaviour = "ok"
    assert a.call() == "ok"  # the trial closes the breaker
    assert b.runner.status("pay").state == "closed"
    assert math.isnan(b.runner.status("pay").window_failure_rate)  # nothing recorded since
    b.probe.behaviour = "raise"
    for worker in (b, b, a):
        worker.call()
    assert math.isnan(a.runner.status("pay").window_failure_rate)  # 3 calls: below min_calls
    a.call()  # the trial is not in the window: 2 failed of the 4 recorded since the close
    assert a.runner.status("pay").window_failure_rate == 0.5
    assert math.isnan(b.runner.status("pay").window_failure_rate)  # read before a's calls
    assert b.call() == "error"  # its run reads a's calls: 3 failed of 5, below 70%
    assert b.runner.status("pay").window_failure_rate == 3 / 5
    assert b.runner.status("pay").state == "closed"
    assert a.runner.status("pay").window_failure_rate == 0.5  # b's call reaches a at its next run


def test_a_run_of_shared_windows_costs_no_more_round_trips_than_the_run_budget(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    names = [f"p{i}" for i in range(10)]
    storage = RedisStorage(redis_server.url, "ns", worker="w", record_calls=False)
    runner = IntegrationRunner(
        registry_of(*(Probe(name, "ok") for name in names)),
        storage=storage,
        policies=dict.fromkeys(names, SHARED),
    )
    try:
        for _ in range(3):
            runner.run_all_sync()  # scripts loaded, keys created, 3 calls each recorded
        before, trips = command_counts(raw), storage.io.round_trips
        runner.run_all_sync()
        assert storage.io.round_trips - trips == 2  # the run's read and its write, no more
        counted = commands_during(raw, before)
        # one script call reads the ten windows (inside it a GET and HGETALL each); the
        # write adds one HINCRBY per counter and one PEXPIRE per window
        assert counted["get"] == 10 and counted["hgetall"] == 10
        assert counted["hincrby"] == 10 and counted["pexpire"] == 10
        # the windows' read; the breakers were read clean, and no push said they changed
        assert counted["evalsha"] == 1 and "mget" not in counted
        assert all(raw.hvals(f"ns:{name}:toolkit:window") == [b"4"] for name in names)
        before = command_counts(raw)
        assert runner.status("p3").window_failure_rate == 0.0  # 0 failed of the fleet's 4
        assert storage.io.round_trips - trips == 2
        assert not {"get", "hgetall", "evalsha", "eval"} & set(commands_during(raw, before))
    finally:
        runner.close()
        storage.close()


def test_stale_buckets_and_epochs_are_deleted_and_the_hash_expires(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    storage = RedisStorage(redis_server.url, "ns", record_calls=False)
    clock = [1000.0]
    storage.windows.clock = lambda: clock[0]  # simulated time places the run's read

    def run(now: float) -> None:
        """One run's read and write of the windows, as a run at ``now`` sends them."""
        clock[0] = now
        ext = storage.windows
        ext.read_replies(["pay"], storage.io.call(ext.read_commands(["pay"]), 5.0))
        ext.write_replies(["pay"], storage.io.call(ext.write_commands(["pay"]), 5.0))

    try:
        breaker = storage.state_storage("pay")
        window = breaker.shared_window(20.0)
        assert isinstance(window, SharedWindow) and window.bucket_s == 20.0 / BUCKETS
        run(1000.0)
        window.add(1000.0, True, False)
        window.add(1010.0, False, True)
        assert window.counts(1010.0) == (2, 1, 1)  # counted before they are written
        assert window.counts(1020.5) == (1, 0, 1)  # the first call's bucket left the window
        run(1010.0)  # written, then read back by the next run
        assert sorted(raw.hkeys("ns:pay:toolkit:window")) == [
            b"0:1000:f", b"0:1000:n", b"0:1010:n", b"0:1010:s",
        ]  # fmt: skip
        run(1020.5)
        assert window.counts(1020.5) == (1, 0, 1)
        assert sorted(raw.hkeys("ns:pay:toolkit:window")) == [b"0:1010:n", b"0:1010:s"]
        assert 0 < raw.pttl("ns:pay:toolkit:window") <= 40_000
        raw.set("ns:pay:pybreaker:opened_at", 2000)  # another worker's opening: a new epoch
        run(1020.5)
        assert window.counts(1020.5) == (0, 0, 0)
        assert raw.exists("ns:pay:toolkit:window") == 0
    finally:
        storage.close()


def test_while_redis_is_away_the_worker_counts_its_own_outcomes(
    redis_server: RedisServer, workers: list[Worker], caplog: pytest.LogCaptureFixture
) -> None:
    a = Worker(redis_server.url, "a", "raise")
    workers.append(a)
    a.call()
    redis_server.stop()
    for _ in range(3):
        assert a.call() == "error"
    status = a.runner.status("pay")
    assert status.state == "open" and not status.storage_ok  # 4 of its own 4 calls failed
