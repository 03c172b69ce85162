"""PrometheusCollector: a runner's or a fleet's breakers, in toolkit or resilience4j names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from loopback_redis import RedisServer
from probes import Probe, registry_of
from prometheus_client import CollectorRegistry, generate_latest

from toolkit import Fault, Fleet, IntegrationRunner, RedisStorage
from toolkit.metrics import PrometheusCollector


def registered(
    source: object, naming: str = "toolkit"
) -> tuple[CollectorRegistry, PrometheusCollector]:
    registry = CollectorRegistry()
    collector = PrometheusCollector(source, naming)  # type: ignore[arg-type]
    registry.register(collector)
    return registry, collector


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    runner = IntegrationRunner(registry_of(Probe("good"), Probe("bad")), fail_max=2)
    yield runner
    runner.close()


def fail_twice(runner: IntegrationRunner, name: str) -> None:
    runner.inject(name, Fault.fail())
    runner.run_one_sync(name)
    runner.run_one_sync(name)


def test_toolkit_names_show_states_calls_refusals_and_countdown(runner: IntegrationRunner) -> None:
    registry, _ = registered(runner)
    runner.run_all_sync()
    fail_twice(runner, "bad")  # opens
    runner.run_one_sync("bad")  # refused
    value = registry.get_sample_value
    assert value("toolkit_breaker_state", {"name": "bad", "state": "open"}) == 1.0
    assert value("toolkit_breaker_state", {"name": "bad", "state": "closed"}) == 0.0
    assert value("toolkit_breaker_state", {"name": "good", "state": "closed"}) == 1.0
    assert value("toolkit_calls_seconds_count", {"name": "good", "outcome": "ok"}) == 1.0
    assert value("toolkit_calls_seconds_count", {"name": "bad", "outcome": "error"}) == 2.0
    assert (
        value("toolkit_calls_seconds_bucket", {"name": "good", "outcome": "ok", "le": "+Inf"})
        == 1.0
    )
    assert value("toolkit_calls_not_permitted_total", {"name": "bad"}) == 1.0
    assert value("toolkit_calls_not_permitted_total", {"name": "good"}) == 0.0
    assert 0 < value("toolkit_breaker_trial_in_seconds", {"name": "bad"}) <= 60.0  # type: ignore[operator]
    assert value("toolkit_breaker_trial_in_seconds", {"name": "good"}) is None
    assert value("toolkit_breaker_fail_max", {"name": "bad"}) == 2.0
    assert value("toolkit_storage_reachable", {"storage": "memory"}) == 1.0


def test_failures_count_up_and_reset(runner: IntegrationRunner) -> None:
    registry, _ = registered(runner)
    runner.inject("bad", Fault.fail())
    runner.run_one_sync("bad")
    assert registry.get_sample_value("toolkit_breaker_failures", {"name": "bad"}) == 1.0
    runner.reset("bad")
    assert registry.get_sample_value("toolkit_breaker_failures", {"name": "bad"}) == 0.0


def test_calls_count_from_when_the_collector_was_created(runner: IntegrationRunner) -> None:
    runner.run_all_sync()
    registry, _ = registered(runner)
    runner.run_all_sync()
    count = registry.get_sample_value(
        "toolkit_calls_seconds_count", {"name": "good", "outcome": "ok"}
    )
    assert count == 1.0


def test_resilience4j_names_and_labels(runner: IntegrationRunner) -> None:
    registry, _ = registered(runner, "resilience4j")
    runner.run_all_sync()
    fail_twice(runner, "bad")
    runner.run_one_sync("bad")
    runner.isolate("good")
    value = registry.get_sample_value
    prefix = "resilience4j_circuitbreaker_"
    assert value(prefix + "state", {"name": "bad", "state": "open"}) == 1.0
    assert value(prefix + "state", {"name": "good", "state": "forced_open"}) == 1.0
    states = {"closed", "open", "half_open", "forced_open", "disabled", "metrics_only"}
    shown = {
        s.labels["state"]
        for m in registry.collect()
        for s in m.samples
        if m.name == prefix + "state"
    }
    assert shown == states
    assert value(prefix + "calls_seconds_count", {"name": "bad", "kind": "failed"}) == 2.0
    assert value(prefix + "calls_seconds_count", {"name": "good", "kind": "successful"}) == 1.0
    assert value(prefix + "calls_seconds_max", {"name": "bad", "kind": "failed"}) >= 0.0  # type: ignore[operator]
    assert (
        value(prefix + "not_permitted_calls_total", {"name": "bad", "kind": "not_permitted"}) == 1.0
    )
    assert value(prefix + "calls_total", {"name": "bad", "kind": "not_permitted"}) == 1.0
    assert value(prefix + "buffered_calls", {"name": "bad", "kind": "failed"}) == 2.0
    assert value(prefix + "max_buffered_calls", {"name": "bad"}) == 2.0
    assert value(prefix + "failure_rate", {"name": "bad"}) == -1.0
    assert value(prefix + "slow_call_rate", {"name": "bad"}) == -1.0


@pytest.mark.parametrize("naming", ["toolkit", "resilience4j"])
def test_render_writes_what_the_registry_writes(runner: IntegrationRunner, naming: str) -> None:
    registry, collector = registered(runner, naming)
    runner.run_all_sync()
    fail_twice(runner, "bad")
    fast = collector.render()
    stock = generate_latest(registry).decode()
    countdown = "_trial_in_seconds"  # moves between the two reads
    assert [line for line in fast.splitlines() if countdown not in line] == [
        line for line in stock.splitlines() if countdown not in line
    ]


def test_an_unknown_naming_or_source_is_refused(runner: IntegrationRunner) -> None:
    with pytest.raises(ValueError, match="naming must be 'toolkit' or 'resilience4j'"):
        PrometheusCollector(runner, "micrometer")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="IntegrationRunner or a Fleet"):
        PrometheusCollector(object())


def test_registering_reads_nothing_and_close_stops_counting(runner: IntegrationRunner) -> None:
    registry, collector = registered(runner)
    assert collector.tally.names() == []
    collector.close()
    runner.run_all_sync()
    assert collector.tally.names() == []
    registry.unregister(collector)


def test_a_fleet_source_counts_every_workers_calls_from_the_stream(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url
    workers = [
        IntegrationRunner(
            registry_of(Probe("svc")), storage=RedisStorage(url, namespace="m", worker=w)
        )
        for w in ("w1", "w2")
    ]
    with Fleet(url, "m") as fleet:
        registry, _ = registered(fleet)
        for runner in workers:
            runner.run_all_sync()
            runner.storage.flush()  # type: ignore[attr-defined]
        value = registry.get_sample_value
        assert value("toolkit_calls_seconds_count", {"name": "svc", "outcome": "ok"}) == 2.0
        assert value("toolkit_breaker_state", {"name": "svc", "state": "closed"}) == 1.0
        assert value("toolkit_storage_reachable", {"storage": "redis"}) == 1.0
        fleet.trip("svc")
        assert value("toolkit_breaker_state", {"name": "svc", "state": "open"}) == 1.0
        assert value("toolkit_calls_seconds_count", {"name": "svc", "outcome": "ok"}) == 2.0
        redis_server.stop()
        assert value("toolkit_storage_reachable", {"storage": "redis"}) == 0.0
        assert value("toolkit_breaker_state", {"name": "svc", "state": "open"}) == 1.0  # last seen
    for runner in workers:
        runner.close()


def test_constant_labels_go_on_every_series(runner: IntegrationRunner) -> None:
    registry = CollectorRegistry()
    collector = PrometheusCollector(runner, "resilience4j", labels={"application": "shop"})
    registry.register(collector)
    runner.run_all_sync()
    labels = {"application": "shop", "name": "good", "state": "closed"}
    assert registry.get_sample_value("resilience4j_circuitbreaker_state", labels) == 1.0
    assert 'application="shop",kind="successful"' in collector.render()
    with pytest.raises(ValueError, match="label the collector sets itself"):
        PrometheusCollector(runner, labels={"name": "x"})
    with pytest.raises(ValueError, match="not a Prometheus label name"):
        PrometheusCollector(runner, labels={"bad-name": "x"})


def test_fleet_reads_at_once_count_each_entry_once(redis_server: RedisServer) -> None:
    import threading

    worker = IntegrationRunner(
        registry_of(Probe("svc")), storage=RedisStorage(redis_server.url, namespace="t")
    )
    with Fleet(redis_server.url, "t") as fleet:
        collector = PrometheusCollector(fleet)
        for _ in range(200):
            worker.run_all_sync()
        worker.storage.flush()  # type: ignore[attr-defined]
        threads = [threading.Thread(target=collector.render) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert collector.tally.count("svc", "ok") == 200
    worker.close()


def test_a_batch_sent_twice_is_counted_once(redis_server: RedisServer) -> None:
    import redis as redis_py

    with Fleet(redis_server.url, "d") as fleet:
        collector = PrometheusCollector(fleet)
        client = redis_py.Redis.from_url(redis_server.url)
        entry: dict[Any, Any] = {
            "worker": "w1",
            "source": "abc",
            "name": "svc",
            "outcome": "ok",
            "duration_s": "0.1",
        }
        for seq in (1, 2, 2, 3, 1):  # 2 and 1 again: a batch whose reply was lost, resent
            client.xadd(fleet.stream_key, {**entry, "seq": str(seq)})
        client.xadd(fleet.stream_key, {**entry, "source": "other", "seq": "1"})  # another writer
        client.close()
        collector.render()
        assert collector.tally.count("svc", "ok") == 4


@pytest.mark.parametrize(("naming", "scale"), [("toolkit", 1.0), ("resilience4j", 100.0)])
def test_window_rates_are_exported_once_min_calls_are_recorded(naming: str, scale: float) -> None:
    probe = Probe("rated", "raise")
    runner = IntegrationRunner(
        registry_of(probe, Probe("counted")), slow_after=30.0,
        policies={"rated": {"window": 4, "min_calls": 2, "failure_rate": 1.0}},
    )  # fmt: skip
    registry, _ = registered(runner, naming)
    failure, slow = (
        ("toolkit_breaker_window_failure_rate", "toolkit_breaker_window_slow_rate")
        if naming == "toolkit"
        else (
            "resilience4j_circuitbreaker_failure_rate",
            "resilience4j_circuitbreaker_slow_call_rate",
        )
    )
    runner.run_one_sync("rated")
    below = registry.get_sample_value(failure, {"name": "rated"})
    assert below == (None if naming == "toolkit" else -1.0)
    probe.behaviour = "ok"
    runner.run_one_sync("rated")
    assert registry.get_sample_value(failure, {"name": "rated"}) == 0.5 * scale
    assert registry.get_sample_value(slow, {"name": "rated"}) == 0.0
    counted = registry.get_sample_value(failure, {"name": "counted"})
    assert counted == (None if naming == "toolkit" else -1.0)
    runner.close()
