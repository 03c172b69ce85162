"""Fleet: every breaker under a namespace, plain pybreaker ones too, steered fleet-wide."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pybreaker
import pytest
import redis
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import (
    ConfigError,
    Fleet,
    IntegrationRunner,
    RedisStorage,
    UnknownIntegrationError,
    frames,
)
from toolkit._engine.errors import StorageError


@pytest.fixture
def fleet(redis_server: RedisServer) -> Iterator[Fleet]:
    with Fleet(redis_server.url, "ns") as view:
        yield view


@pytest.fixture
def runner(redis_server: RedisServer) -> Iterator[IntegrationRunner]:
    storage = RedisStorage(redis_server.url, "ns", worker="w1")
    probes = [Probe("pay"), Probe("mail", "raise"), Probe("maps")]
    made = IntegrationRunner(
        registry_of(*probes), storage=storage, timeout=1.0, fail_max=2, reset_timeout=30.0
    )
    yield made
    made.close()
    storage.close()


def plain_pybreaker(redis_server: RedisServer, name: str) -> pybreaker.CircuitBreaker:
    storage = pybreaker.CircuitRedisStorage(
        pybreaker.STATE_CLOSED, redis_server.client(), namespace=f"ns:{name}"
    )
    return pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60, state_storage=storage)


def test_breakers_lists_ours_and_plain_pybreakers(
    fleet: Fleet, runner: IntegrationRunner, redis_server: RedisServer
) -> None:
    legacy = plain_pybreaker(redis_server, "legacy")
    with pytest.raises(pybreaker.CircuitBreakerError):
        legacy.call(lambda: 1 / 0)
    runner.run_all_sync()
    runner.run_all_sync()
    runner.storage.flush(5.0)  # type: ignore[attr-defined]
    frame = fleet.breakers()
    assert list(frame.columns) == [
        "name", "state", "failures", "fail_max", "opened_at", "trial_in_s",
        "reset_timeout_s", "timeout_s", "worker",
    ]  # fmt: skip
    assert list(frame["name"]) == ["legacy", "mail", "maps", "pay"]  # open first, then by name
    rows: dict[str, Any] = {row["name"]: row for row in frame.to_dict("records")}
    mail, legacy, pay = rows["mail"], rows["legacy"], rows["pay"]
    assert mail["state"] == "open" and mail["failures"] == 2
    assert mail["fail_max"] == 2 and mail["worker"] == "w1"
    assert 28.0 < mail["trial_in_s"] <= 31.0
    assert legacy["state"] == "open" and legacy["failures"] == 1
    assert pd.isna(legacy["fail_max"]) and pd.isna(legacy["worker"])
    assert legacy["reset_timeout_s"] == 60.0  # the Fleet's assumption without a policy
    assert pay["state"] == "closed" and np.isnan(pay["trial_in_s"])
    assert str(frame["opened_at"].dtype) == "datetime64[ns, UTC]"
    assert list(frame["state"].cat.categories) == ["closed", "half-open", "open", "isolated"]


def test_an_empty_namespace_has_an_empty_frame_with_its_columns(fleet: Fleet) -> None:
    frame = fleet.breakers()
    assert frame.empty and "trial_in_s" in frame.columns
    assert fleet.calls().empty and fleet.latency().columns[0] == "name"


def test_trip_stops_calls_in_every_worker_and_reset_resumes_them(
    fleet: Fleet, runner: IntegrationRunner, redis_server: RedisServer
) -> None:
    legacy = plain_pybreaker(redis_server, "pay")
    fleet.trip("pay")
    pay = runner.integrations["pay"]
    runner.run_all_sync()
    assert pay.calls == 0 and runner.status("pay").state == "open"  # type: ignore[attr-defined]
    with pytest.raises(pybreaker.CircuitBreakerError):
        legacy.call(lambda: None)
    fleet.reset("pay")
    runner.run_all_sync()
    assert pay.calls == 1 and runner.status("pay").state == "closed"  # type: ignore[attr-defined]
    assert legacy.call(lambda: "through") == "through"


def test_trip_starts_the_wait_now(fleet: Fleet, runner: IntegrationRunner) -> None:
    fleet.trip("pay")
    status = fleet.status("pay")
    assert status.opened_at is not None and abs(status.opened_at - time.time()) <= 1.0
    assert status.trial_in_s is not None and 30.0 <= status.trial_in_s <= 31.0


def test_isolate_holds_every_worker_until_reset(fleet: Fleet, runner: IntegrationRunner) -> None:
    fleet.isolate("pay")
    runner.expire("pay")
    runner.run_all_sync()
    assert runner.status("pay").state == "isolated" and fleet.status("pay").state == "isolated"
    assert runner.integrations["pay"].calls == 0  # type: ignore[attr-defined]
    fleet.reset("pay")
    assert runner.status("pay").state == "closed" and runner.run_one_sync("pay").success


def test_expire_makes_the_next_call_the_trial(fleet: Fleet, runner: IntegrationRunner) -> None:
    fleet.trip("pay")
    fleet.expire("pay")
    assert fleet.status("pay").trial_in_s == 0.0
    runner.run_all_sync()
    assert runner.integrations["pay"].calls == 1 and fleet.status("pay").state == "closed"  # type: ignore[attr-defined]


def test_expire_leaves_a_closed_or_isolated_breaker_alone(
    fleet: Fleet, runner: IntegrationRunner
) -> None:
    fleet.expire("pay")
    assert fleet.status("pay").state == "closed"
    fleet.isolate("maps")
    fleet.expire("maps")
    assert fleet.status("maps").state == "isolated"


def test_unknown_names_are_refused_with_the_known_ones(
    fleet: Fleet, runner: IntegrationRunner
) -> None:
    for control in (fleet.trip, fleet.reset, fleet.isolate, fleet.expire, fleet.status):
        with pytest.raises(UnknownIntegrationError, match="'pay'"):
            control("payy")


def test_reset_all_closes_every_breaker(fleet: Fleet, runner: IntegrationRunner) -> None:
    fleet.trip("pay")
    fleet.isolate("maps")
    fleet.reset_all()
    assert set(fleet.breakers()["state"]) == {"closed"}


def test_calls_and_latency_from_every_worker(
    fleet: Fleet, runner: IntegrationRunner, redis_server: RedisServer
) -> None:
    other_storage = RedisStorage(redis_server.url, "ns", worker="w2")
    other = IntegrationRunner(registry_of(Probe("pay")), storage=other_storage)
    for _ in range(3):
        runner.run_all_sync()
        other.run_all_sync()
    other.close()
    other_storage.close()
    runner.storage.flush(5.0)  # type: ignore[attr-defined]
    calls = fleet.calls()
    assert list(calls.columns) == ["worker", *frames.calls(runner).columns]
    assert calls.groupby("worker").size().to_dict() == {"w1": 9, "w2": 3}
    assert str(calls["started_at"].dtype) == "datetime64[ns, UTC]"
    latency = fleet.latency().set_index("name")
    assert latency.loc["pay", "calls"] == 6 and latency.loc["pay", "ok"] == 6
    assert latency.loc["mail", "circuit_open"] == 1  # opened after two failures
    assert list(fleet.calls(last=2)["worker"]) == list(calls["worker"][-2:])


def test_latency_of_one_worker_equals_the_runners_own(
    fleet: Fleet, runner: IntegrationRunner
) -> None:
    for _ in range(4):
        runner.run_all_sync()
    runner.storage.flush(5.0)  # type: ignore[attr-defined]
    ours = fleet.latency().set_index("name").sort_index()
    local = frames.latency(runner).set_index("name").sort_index()
    pd.testing.assert_frame_equal(ours, local, check_exact=False, rtol=1e-9)


def test_a_decode_responses_client_is_accepted(
    redis_server: RedisServer, runner: IntegrationRunner
) -> None:
    client = redis.Redis("127.0.0.1", redis_server.port, decode_responses=True)
    with Fleet(client, "ns") as view:
        view.trip("pay")
        assert view.status("pay").state == "open"
    client.close()


def test_dead_redis_raises_a_storage_error(redis_server: RedisServer) -> None:
    with Fleet(redis_server.url, "ns") as view:
        redis_server.stop()
        assert not view.ping()
        for read in (view.breakers, view.calls, view.latency, lambda: view.trip("pay")):
            with pytest.raises(StorageError, match=r"Redis at redis://127\.0\.0\.1"):
                read()


@pytest.mark.parametrize("bad", [-1.0, math.inf, "60", True])
def test_bad_reset_timeout_is_refused(bad: object) -> None:
    with pytest.raises(ConfigError, match="reset_timeout"):
        Fleet("redis://127.0.0.1:6379/0", "ns", reset_timeout=bad)  # type: ignore[arg-type]


def test_bad_last_is_refused(fleet: Fleet) -> None:
    with pytest.raises(ConfigError, match="last"):
        fleet.calls(last=0)


@pytest.mark.parametrize(
    ("key", "value"), [("fail_counter", "inf"), ("opened_at", "1e400"), ("opened_at", "9" * 14)]
)
def test_unparsable_numbers_in_redis_never_raise_out_of_the_fleet(
    fleet: Fleet, redis_server: RedisServer, key: str, value: str
) -> None:
    client = redis_server.client()
    client.set("ns:pay:pybreaker:state", "open")
    client.set(f"ns:pay:pybreaker:{key}", value)
    frame = fleet.breakers()
    assert list(frame["name"]) == ["pay"] and list(frame["state"]) == ["open"]
    assert fleet.status("pay").state == "open"
    client.close()


def test_expire_reaches_workers_with_a_longer_wait_than_the_published_one(
    fleet: Fleet, runner: IntegrationRunner, redis_server: RedisServer
) -> None:
    with RedisStorage(redis_server.url, "ns", worker="slow", record_calls=False) as storage:
        probe = Probe("pay")
        slow = IntegrationRunner(registry_of(probe), storage=storage, reset_timeout=3600.0)
        runner.set_policy("pay", reset_timeout=5.0)  # the last policy published: 5 s
        runner.run_all_sync()
        assert runner.storage.flush(5.0)  # type: ignore[attr-defined]
        fleet.trip("pay")
        fleet.expire("pay")
        slow.run_all_sync()
        assert probe.calls == 1 and fleet.status("pay").state == "closed"
        slow.close()


def test_trip_keeps_an_isolation_only_reset_ends_it(
    fleet: Fleet, runner: IntegrationRunner
) -> None:
    fleet.isolate("pay")
    fleet.trip("pay")
    assert fleet.status("pay").state == "isolated"
    runner.run_all_sync()
    assert runner.integrations["pay"].calls == 0 and runner.status("pay").state == "isolated"  # type: ignore[attr-defined]
    fleet.reset("pay")
    assert fleet.status("pay").state == "closed"
