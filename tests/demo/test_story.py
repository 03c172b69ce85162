"""``python -m toolkit demo`` tells the failure-isolation story and exits 0."""

from __future__ import annotations

import subprocess
import sys

from toolkit import IntegrationRunner
from toolkit.demo import DemoIntegration, demo_registry


def test_demo_story_runs_and_tells_each_step() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "toolkit", "demo", "--reset-timeout", "0.3"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "1. All integrations healthy" in text
    assert "run 3: payments -> error, failures 3/3, breaker open; others ok: True" in text
    assert "payments: outcome 'circuit_open' in" in text
    assert "fetch calls during the run: 0" in text
    assert "trial call: half-open -> closed (ok" in text
    assert "circuit breaker 'payments' opened" in text
    assert "Traceback" not in out.stderr


def test_demo_integrations_are_seeded() -> None:
    def latencies() -> list[float]:
        runner = IntegrationRunner(demo_registry(3, seed=1, latency_scale=0.05))
        runner.run_all_sync()
        runner.close()
        return [i._rng.random() for i in runner.integrations.values()]  # type: ignore[attr-defined]

    assert latencies() == latencies()


def test_failing_demo_integration_raises_a_connection_error() -> None:
    service = DemoIntegration("svc", latency_ms=1)
    service.failing = True
    runner = IntegrationRunner(demo_registry(0))
    registry = demo_registry(0)
    registry.register(service)
    runner = IntegrationRunner(registry)
    assert (
        runner.run_one_sync("svc").error
        == "ConnectionError: svc: connection refused (simulated outage)"
    )
    runner.close()
