"""instrument(): breakers as OpenTelemetry instruments, read with the SDK's in-memory reader."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from probes import Probe, registry_of

from toolkit import Fault, IntegrationRunner
from toolkit.metrics import instrument


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    runner = IntegrationRunner(registry_of(Probe("good"), Probe("bad")), fail_max=1)
    yield runner
    runner.close()


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, list[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def value(found: dict[str, list[Any]], metric: str, **attributes: str) -> Any:
    for point in found.get(metric, []):
        if dict(point.attributes) == attributes:
            return point
    return None


def test_states_counts_and_durations_reach_the_sdk(runner: IntegrationRunner) -> None:
    reader = InMemoryMetricReader()
    instruments = instrument(runner, MeterProvider(metric_readers=[reader]))
    runner.run_all_sync()
    runner.inject("bad", Fault.fail())
    runner.run_one_sync("bad")  # opens
    runner.run_one_sync("bad")  # refused
    found = points(reader)
    assert value(found, "toolkit.breaker.state", name="bad", state="open").value == 1
    assert value(found, "toolkit.breaker.state", name="good", state="open").value == 0
    assert value(found, "toolkit.calls", name="bad", outcome="circuit_open").value == 1
    assert value(found, "toolkit.calls", name="good", outcome="ok").value == 1
    assert value(found, "toolkit.breaker.trial_in", name="bad").value > 0
    assert value(found, "toolkit.storage.reachable", storage="memory").value == 1
    durations = value(found, "toolkit.call.duration", name="bad", outcome="error")
    assert durations.count == 1 and durations.sum >= 0
    assert value(found, "toolkit.call.duration", name="bad", outcome="circuit_open") is None
    instruments.close()
    runner.run_all_sync()
    assert "toolkit.breaker.state" not in {name for name, pts in points(reader).items() if pts}


def test_the_global_meter_provider_is_the_default(
    runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opentelemetry import metrics

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    monkeypatch.setattr(metrics, "get_meter_provider", lambda: provider)
    instruments = instrument(runner)
    runner.run_all_sync()
    assert value(points(reader), "toolkit.calls", name="good", outcome="ok").value == 1
    instruments.close()


def test_two_sources_on_one_provider_both_report() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    first = IntegrationRunner(registry_of(Probe("a")))
    second = IntegrationRunner(registry_of(Probe("b")))
    handles = [instrument(first, provider), instrument(second, provider)]
    first.run_all_sync()
    second.run_all_sync()
    found = points(reader)
    assert value(found, "toolkit.calls", name="a", outcome="ok").value == 1
    assert value(found, "toolkit.calls", name="b", outcome="ok").value == 1
    assert value(found, "toolkit.call.duration", name="b", outcome="ok").count == 1
    for handle in handles:
        handle.close()
    first.close()
    second.close()


def test_window_rates_are_observed_once_min_calls_are_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import toolkit._ops.otel as otel

    monkeypatch.setattr(otel, "SNAPSHOT_TTL_S", 0.0)  # each collection reads the runner anew
    probe = Probe("rated", "raise")
    runner = IntegrationRunner(
        registry_of(probe, Probe("counted")),
        policies={"rated": {"window": 4, "min_calls": 2, "failure_rate": 1.0}},
    )
    reader = InMemoryMetricReader()
    instruments = instrument(runner, MeterProvider(metric_readers=[reader]))
    runner.run_one_sync("rated")
    assert value(points(reader), "toolkit.breaker.window.failure_rate", name="rated") is None
    probe.behaviour = "ok"
    runner.run_all_sync()
    found = points(reader)
    assert value(found, "toolkit.breaker.window.failure_rate", name="rated").value == 0.5
    assert value(found, "toolkit.breaker.window.slow_rate", name="rated").value == 0.0
    assert value(found, "toolkit.breaker.window.failure_rate", name="counted") is None
    instruments.close()
    runner.close()
