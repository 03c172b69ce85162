"""Metrics cost: one scrape of 1,000 integrations, and what exporters add to ``run_all``.

Scrape: ``PrometheusCollector.render()`` with 20 of the breakers open, each scrape
after a run (so every histogram has moved), in toolkit and resilience4j names;
prometheus_client's own ``generate_latest`` of the same collector is timed for scale.
Goal: at most 20 ms.

Overhead: ``run_all()`` of 1,000 no-op integrations with nothing attached, with a
``PrometheusCollector`` and with OpenTelemetry instruments (SDK, in-memory reader),
the three interleaved run by run in one process. Goal: at most 1.05x.

Run: ``.venv/bin/python benchmarks/bench_ops.py``
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable

from bench_runner import NoOp
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit.metrics import PrometheusCollector, instrument

N = 1_000
RUNS = 41


def runner_of(n: int) -> IntegrationRunner:
    registry = IntegrationRegistry()
    for i in range(n):
        registry.register(NoOp(f"svc{i:04d}"))
    return IntegrationRunner(registry)


def median_ms(fn: Callable[[], object], between: Callable[[], object], repeats: int = 15) -> float:
    """Median time of ``fn``, with ``between`` (a run: new calls to export) before each."""
    times = []
    for _ in range(repeats):
        between()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def scrape() -> None:
    runner = runner_of(N)
    for naming in ("toolkit", "resilience4j"):
        registry = CollectorRegistry()
        collector = PrometheusCollector(runner, naming)
        registry.register(collector)
        runner.run_all_sync()
        for i in range(20):
            runner.trip(f"svc{i:04d}")
        runner.run_all_sync()
        lines = collector.render().count("\n")
        fast = median_ms(collector.render, runner.run_all_sync)
        stock = median_ms(lambda: generate_latest(registry), runner.run_all_sync)  # noqa: B023
        print(
            f"scrape of {N:,} integrations, {naming} names ({lines:,} lines): "
            f"render {fast:.1f} ms (goal <= 20), generate_latest {stock:.1f} ms"
        )
        registry.unregister(collector)
        collector.close()
    runner.close()


async def overhead() -> None:
    plain, with_prometheus, with_otel = runner_of(N), runner_of(N), runner_of(N)
    collector = PrometheusCollector(with_prometheus)
    reader = InMemoryMetricReader()
    instruments = instrument(with_otel, MeterProvider(metric_readers=[reader]))
    times: dict[str, list[float]] = {"none": [], "prometheus": [], "opentelemetry": []}
    cases = (("none", plain), ("prometheus", with_prometheus), ("opentelemetry", with_otel))
    for _ in range(3):  # warm up
        for _, runner in cases:
            await runner.run_all()
    gc.disable()
    try:
        for i in range(RUNS):
            order = cases if i % 2 == 0 else tuple(reversed(cases))
            for label, runner in order:
                started = time.perf_counter()
                await runner.run_all()
                times[label].append(time.perf_counter() - started)
            if i % 10 == 9:  # collect now and then, as an exporter would
                collector.render()
                reader.get_metrics_data()
                gc.collect()
    finally:
        gc.enable()
    base = statistics.median(times["none"])
    print(f"run_all of {N:,} no-op integrations, median of {RUNS}:")
    for label, values in times.items():
        ms = statistics.median(values) * 1000
        print(f"  {label:<14} {ms:7.2f} ms   ratio {ms / (base * 1000):.3f} (goal <= 1.05)")
    instruments.close()
    collector.close()
    for _, runner in cases:
        await runner.aclose()


if __name__ == "__main__":
    scrape()
    asyncio.run(overhead())
