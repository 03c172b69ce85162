"""RedisStorage under a runner: breakers shared by workers, two round trips a call, dead Redis."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pybreaker
import pytest
import redis
from loopback_redis import RedisServer
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import Dashboard, Fleet, IntegrationRunner, RedisStorage, frames

Worker = Callable[..., tuple[IntegrationRunner, list[Probe]]]


def round_trips(runner: IntegrationRunner) -> int:
    """Pipelines the runner's Redis storage has exchanged so far."""
    storage = runner.storage
    assert isinstance(storage, RedisStorage)
    return storage.io.round_trips


@pytest.fixture
def worker(redis_server: RedisServer) -> Iterator[Worker]:
    """Makes runners that share breakers through the test's Redis, like worker processes."""
    made: list[tuple[IntegrationRunner, RedisStorage]] = []

    def make(
        *behaviours: str, name: str = "w1", url: str | None = None, record_calls: bool = True,
        deadline: float | None = None, client_tracking: bool = True, **policy: float,
    ) -> tuple[IntegrationRunner, list[Probe]]:  # fmt: skip
        probes = [Probe(f"p{i}", b, delay=0.05) for i, b in enumerate(behaviours)]
        # a generous deadline where a loaded machine must not count as a slow Redis
        bounds: dict[str, Any] = {}
        if deadline is not None:
            bounds = {"deadline": deadline, "socket_timeout": deadline}
        storage = RedisStorage(
            url or redis_server.url, "ns", worker=name, record_calls=record_calls,
            client_tracking=client_tracking, **bounds,
        )  # fmt: skip
        settings = {"timeout": 1.0, "fail_max": 2, "reset_timeout": 60.0, **policy}
        runner = IntegrationRunner(registry_of(*probes), storage=storage, **settings)  # type: ignore[arg-type]
        made.append((runner, storage))
        return runner, probes

    yield make
    for runner, storage in made:
        runner.close()
        storage.close()


def test_breaker_opened_by_one_worker_refuses_calls_in_another(worker: Worker) -> None:
    one, [failing_one] = worker("raise", name="one")
    two, [failing_two] = worker("raise", name="two")
    one.run_all_sync()
    one.run_all_sync()
    assert one.status("p0").state == "open"
    result = two.run_one_sync("p0")
    assert failing_two.calls == 0 and not result.success
    assert two.status("p0").state == "open" and two.history[-1].outcome == "circuit_open"
    assert failing_one.calls == 2


@pytest.mark.parametrize("tracking", [True, False])
def test_a_run_that_changes_nothing_costs_one_round_trip(
    worker: Worker, redis_server: RedisServer, tracking: bool
) -> None:
    runner, _ = worker(*["ok"] * 150, record_calls=False, client_tracking=tracking)
    runner.run_all_sync()
    client = redis_server.client()
    before, trips = command_counts(client), round_trips(runner)
    runner.run_all_sync()
    assert round_trips(runner) - trips == 1
    if tracking:  # every breaker was read clean, and Redis pushed no change since
        assert commands_during(client, before) == {"ping": 1}
    else:  # one read script for every breaker (an MGET per 1,000 inside it), nothing written
        assert commands_during(client, before) == {"script|load": 1, "evalsha": 1, "mget": 1}
    client.close()


def test_failed_calls_add_one_pipelined_write(worker: Worker, redis_server: RedisServer) -> None:
    runner, _ = worker(*["raise"] * 10, record_calls=False, fail_max=100)
    runner.run_all_sync()
    client = redis_server.client()
    before, trips = command_counts(client), round_trips(runner)
    runner.run_all_sync()
    assert round_trips(runner) - trips == 2
    counted = commands_during(client, before)
    assert counted["incr"] == 10 and counted["evalsha"] == 11 and counted["mget"] == 1
    assert client.get("ns:p3:pybreaker:fail_counter") == b"2"
    client.close()


@pytest.mark.parametrize("behaviour", ["ok", "raise"])
def test_round_trips_per_run_do_not_grow_with_the_number_of_integrations(
    worker: Worker, behaviour: str
) -> None:
    counts = []
    for size in (3, 300):
        runner, _ = worker(*[behaviour] * size, name=f"w{size}", fail_max=2, deadline=2.0)
        for run in range(3):  # counted, opened, then (the wait ended by hand) the trials
            if run == 2:
                for name in runner.names:
                    runner.expire(name)
            trips = round_trips(runner)
            runner.run_all_sync()
            counts.append((size, round_trips(runner) - trips))
    small = [c for s, c in counts if s == 3]
    large = [c for s, c in counts if s == 300]
    assert small == large and max(large) <= 2 and runner.storage.available
    assert runner.history[-1].state_before == ("closed" if behaviour == "ok" else "half-open")


def test_run_one_costs_at_most_two_round_trips(worker: Worker) -> None:
    runner, _ = worker("raise", "ok", fail_max=1)
    for i in range(4):  # a failure opens it, then trials that fail and open it again
        if i:
            runner.expire("p0")
        trips = round_trips(runner)
        runner.run_one_sync("p0")
        assert round_trips(runner) - trips <= 2
    assert [r.state_before for r in runner.history] == ["closed"] + ["half-open"] * 3
    assert runner.status("p0").state == "open"


def test_dead_redis_run_finishes_within_timeouts_and_shows_storage_down(
    worker: Worker, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    runner, probes = worker("ok", "hang", "raise", timeout=0.5)
    runner.run_all_sync()
    redis_server.stop()
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        started = time.monotonic()
        results = runner.run_all_sync()
        took = time.monotonic() - started
        # the hanging integration's 0.5 s timeout and 0.25 s grace, plus at most one Redis
        # timeout (refused here: immediate); 1.5 s leaves room for a loaded machine
        assert took < 0.5 + 0.25 + 1.5
        assert results.get_section("p0").success  # type: ignore[union-attr]
    frame = frames.breakers(runner)
    assert set(frame["storage"]) == {"redis"} and not frame["storage_ok"].any()
    assert probes[0].calls == 4  # nothing crashed, calls went on
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and "Redis" in r.message]
    assert len(problems) == 1 and all(r.exc_info is None for r in caplog.records)


def test_hung_redis_costs_one_socket_timeout_per_outage(worker: Worker) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        runner, probes = worker(*["ok"] * 5, url=url, timeout=0.5)
        made = time.monotonic() - started
        started = time.monotonic()
        runner.run_all_sync()
        ran = time.monotonic() - started
    # connect plus one 0.25 s read for the first command, then nobody waits for Redis
    assert made < 0.5 + 1.0 and ran < 0.5
    assert all(p.calls == 1 for p in probes) and not runner.storage.available


def test_open_breaker_stays_open_while_redis_is_down(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, [probe] = worker("raise")
    runner.run_all_sync()
    runner.run_all_sync()
    assert probe.calls == 2
    redis_server.stop()
    for _ in range(3):
        runner.run_all_sync()
    assert probe.calls == 2  # pybreaker's own fallback ("closed") would have called it
    assert runner.status("p0").state == "open"


def test_runs_share_state_again_after_redis_returns(
    worker: Worker, redis_server: RedisServer
) -> None:
    two, [probe] = worker("ok", name="two")
    redis_server.stop()
    one, _ = worker("ok", name="one")  # created while Redis is down
    one.run_all_sync()
    assert not one.storage.available
    redis_server.start()
    assert one.storage.health.wait_ok(5.0)  # type: ignore[attr-defined]
    one.trip("p0")
    two.run_all_sync()
    assert probe.calls == 0 and two.status("p0").state == "open"


def test_expire_makes_the_next_call_in_any_worker_the_trial(worker: Worker) -> None:
    one, _ = worker("ok", name="one")
    two, [probe] = worker("ok", name="two")
    one.trip("p0")
    two.run_all_sync()
    assert probe.calls == 0 and two.status("p0").trial_in_s > 55  # type: ignore[operator]
    one.expire("p0")  # opened_at moves back, though pybreaker only ever moves it forward
    assert two.status("p0").trial_label == "trial due"
    two.run_all_sync()
    assert probe.calls == 1 and two.status("p0").state == "closed"


def test_trial_never_comes_before_reset_timeout_and_countdown_says_when(
    worker: Worker,
) -> None:
    runner, [probe] = worker("ok", reset_timeout=1.0)
    tripped = time.time()
    runner.trip("p0")
    status = runner.status("p0")
    assert status.trial_in_s is not None and 1.0 - 0.05 <= status.trial_in_s <= 2.0
    predicted = status.taken_at.timestamp() + status.trial_in_s
    while probe.calls == 0:
        started = time.time()
        runner.run_all_sync()
        time.sleep(0.02)
    # whole seconds in Redis are rounded up: the wait is at least reset_timeout
    assert started - tripped >= 1.0
    assert abs(started - predicted) < 0.25  # the countdown matched what happened


def test_isolation_holds_in_every_worker_until_reset(worker: Worker) -> None:
    one, _ = worker("ok", name="one", reset_timeout=0.0)
    two, [probe] = worker("ok", name="two", reset_timeout=0.0)
    one.isolate("p0")
    two.run_all_sync()
    two.expire("p0")
    two.run_all_sync()
    assert probe.calls == 0 and two.status("p0").state == "isolated"
    assert two.history[-1].error == "circuit isolated: held open until reset"
    two.reset("p0")
    one.run_all_sync()
    assert one.status("p0").state == "closed" and two.run_one_sync("p0").success


def test_calls_of_every_worker_reach_the_stream(worker: Worker, redis_server: RedisServer) -> None:
    one, _ = worker("ok", "raise", name="one")
    two, _ = worker("ok", "raise", name="two")
    one.run_all_sync()
    two.run_all_sync()
    two.run_all_sync()
    one.close()  # closing a runner sends what it still holds
    two.close()
    with Fleet(redis_server.url, "ns") as fleet:
        calls = fleet.calls()
        breakers = fleet.breakers().set_index("name")
    assert calls.groupby("worker").size().to_dict() == {"one": 2, "two": 4}
    # p1 failed once in each worker: with fail_max=2 shared, worker two's next call is refused
    outcomes = sorted(calls.loc[calls["worker"] == "two", "outcome"])
    assert outcomes == ["circuit_open", "error", "ok", "ok"]
    assert breakers.loc["p1", "fail_max"] == 2 and breakers.loc["p1", "reset_timeout_s"] == 60.0


def test_policy_changes_are_published_with_the_next_call(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, _ = worker("ok", "ok", record_calls=False)
    runner.run_all_sync()
    runner.set_policy("p0", reset_timeout=12.0, fail_max=7)
    client = redis_server.client()
    before, trips = command_counts(client), round_trips(runner)
    runner.run_all_sync()
    # the changed policy rides in the run's write: no round trip, and no HSET, of its own
    assert round_trips(runner) - trips == 2
    assert commands_during(client, before) == {"ping": 1, "hset": 1}  # both read clean before
    with Fleet(redis_server.url, "ns") as fleet:
        status = fleet.status("p0")
        assert (status.fail_max, status.reset_timeout_s, status.worker) == (7, 12.0, "w1")
        assert fleet.status("p1").reset_timeout_s == 60.0
    before, trips = command_counts(client), round_trips(runner)
    runner.run_all_sync()  # published once: the next run writes nothing
    assert round_trips(runner) - trips == 1 and "hset" not in commands_during(client, before)
    client.close()


def test_runner_dashboard_says_when_redis_is_unreachable(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, _ = worker("ok")
    dashboard = Dashboard(runner)
    try:
        assert dashboard.head["storage"] == {"kind": "redis", "ok": True, "text": ""}
        redis_server.stop()
        runner.run_all_sync()
        dashboard.refresh()
        storage = dashboard.head["storage"]
        assert storage["ok"] is False
        assert storage["text"] == "redis storage unreachable: breaker state kept locally"
    finally:
        dashboard.close()


def test_a_decode_responses_client_shares_breakers_with_plain_pybreaker(
    redis_server: RedisServer,
) -> None:
    text_client = redis.Redis("127.0.0.1", redis_server.port, decode_responses=True)
    storage = RedisStorage(text_client, "ns", record_calls=False)
    probe = Probe("pay", "raise")
    runner = IntegrationRunner(registry_of(probe), storage=storage, fail_max=1)
    try:
        runner.run_all_sync()
        plain = pybreaker.CircuitRedisStorage("closed", redis_server.client(), namespace="ns:pay")
        assert plain.state == "open" and runner.status("pay").state == "open"
        assert runner.status("pay").storage_ok
    finally:
        runner.close()
        storage.close()
        text_client.close()


def test_two_storages_under_one_worker_name_keep_all_their_calls(
    worker: Worker, redis_server: RedisServer
) -> None:
    first, _ = worker("ok", name="api-1")
    first.run_all_sync()
    first.run_all_sync()
    first.close()
    restarted, _ = worker("ok", name="api-1")  # seq starts at 1 again
    restarted.run_all_sync()
    restarted.close()
    with Fleet(redis_server.url, "ns") as fleet:
        assert len(fleet.calls()) == 3
        assert fleet.latency().set_index("name")["calls"].to_dict() == {"p0": 3}


def test_policies_are_published_without_recording_calls(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, _ = worker("ok", record_calls=False, reset_timeout=42.0)
    runner.run_all_sync()
    with Fleet(redis_server.url, "ns") as fleet:
        assert fleet.status("p0").reset_timeout_s == 42.0
        assert fleet.entries() == []


def test_policies_are_published_again_after_redis_restarts_empty(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, _ = worker("ok", reset_timeout=42.0)
    redis_server.stop()
    runner.run_all_sync()  # notices the outage
    redis_server.start()
    assert runner.storage.health.wait_ok(5.0)  # type: ignore[attr-defined]
    runner.run_all_sync()
    assert runner.storage.flush(5.0)  # type: ignore[attr-defined]
    with Fleet(redis_server.url, "ns") as fleet:
        assert (fleet.status("p0").reset_timeout_s, fleet.status("p0").worker) == (42.0, "w1")


def test_an_opened_at_in_the_future_waits_only_this_workers_reset_timeout(
    worker: Worker, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    runner, _ = worker("ok", reset_timeout=2.0)
    runner.trip("p0")
    client = redis_server.client()
    client.set("ns:p0:pybreaker:opened_at", int(time.time()) + 3600)  # a clock an hour ahead
    status = runner.status("p0")
    assert status.state == "open" and status.trial_in_s is not None
    assert status.trial_in_s < 2.1  # not 3601: the wait is this worker's own (from now)
    assert any("ahead of this worker's clock" in r.message for r in caplog.records)
    with Fleet(redis_server.url, "ns") as fleet:
        assert fleet.status("p0").trial_in_s < 2.1  # type: ignore[operator]
    runner.reset("p0")  # a reset clears it, in Redis too
    assert client.get("ns:p0:pybreaker:opened_at") is None
    runner.trip("p0")
    assert runner.status("p0").trial_in_s <= 3.0  # type: ignore[operator]
    client.close()


def test_fleet_reset_clears_a_future_opened_at(worker: Worker, redis_server: RedisServer) -> None:
    runner, _ = worker("ok", reset_timeout=2.0)
    runner.trip("p0")
    client = redis_server.client()
    client.set("ns:p0:pybreaker:opened_at", int(time.time()) + 3600)
    with Fleet(redis_server.url, "ns") as fleet:
        fleet.reset("p0")
        assert client.get("ns:p0:pybreaker:opened_at") is None
        fleet.trip("p0")  # whole seconds, rounded up: the wait is up to 1 s longer
        assert fleet.status("p0").trial_in_s <= 3.0  # type: ignore[operator]
    assert runner.status("p0").trial_in_s <= 3.0  # type: ignore[operator]
    client.close()


def test_a_fail_counter_that_is_no_number_is_written_over_and_the_breaker_opens(
    worker: Worker, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    runner, [probe] = worker("raise", fail_max=2)
    client = redis_server.client()
    client.set("ns:p0:pybreaker:fail_counter", "many")
    runner.run_all_sync()
    assert client.get("ns:p0:pybreaker:fail_counter") == b"1"  # counting starts again
    runner.run_all_sync()
    assert runner.status("p0").state == "open" and probe.calls == 2
    text = " ".join(r.message for r in caplog.records)
    assert "fail_counter held 'many'" in text and "kept locally" not in text
    client.close()


def test_a_huge_fail_counter_never_breaks_the_frames(
    worker: Worker, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    runner, _ = worker("ok")
    client = redis_server.client()
    client.set("ns:p0:pybreaker:fail_counter", "1e30")
    frame = frames.breakers(runner)
    assert list(frame["failures"]) == [0]
    with Fleet(redis_server.url, "ns") as fleet:
        assert list(fleet.breakers()["failures"]) == [0]
    warned = [r.message for r in caplog.records if "fail_counter held '1e30'" in r.message]
    assert len(warned) == 2  # the worker and the Fleet, once each
    runner.run_all_sync()  # a success writes 0 over it
    assert client.get("ns:p0:pybreaker:fail_counter") == b"0"
    client.close()


def test_after_flushall_policies_and_the_breaker_set_are_published_again(
    worker: Worker, redis_server: RedisServer
) -> None:
    runner, _ = worker("ok", reset_timeout=42.0, fail_max=5)
    runner.run_all_sync()
    client = redis_server.client()
    client.flushall()  # emptied without an outage
    runner.run_all_sync()
    runner.run_all_sync()
    assert runner.storage.flush(5.0)  # type: ignore[attr-defined]
    assert client.smembers("ns:toolkit:breakers") == {b"p0"}
    with Fleet(redis_server.url, "ns") as fleet:
        status = fleet.status("p0")
        assert (status.fail_max, status.reset_timeout_s, status.worker) == (5, 42.0, "w1")
        assert fleet.names(rescan=False) == ["p0"]
    client.close()
