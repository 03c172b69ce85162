"""toolkit.health.app: the IETF health document, /livez and /readyz, served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from loopback_asgi import AsgiServer
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import Fault, Fleet, IntegrationRunner, RedisStorage, UnknownIntegrationError
from toolkit.health import HEALTH_JSON, app

SECRET = "hunter2-secret-value"


class Leaky(Probe):
    """Fails with its secret in the message; declares the secret."""

    def secrets(self) -> list[str]:
        return [SECRET]

    async def fetch(self):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"login with {SECRET} refused")


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    registry = registry_of(Probe("search"), Probe("payments"), Leaky("crm"))
    runner = IntegrationRunner(registry, fail_max=1)
    yield runner
    runner.close()


@pytest.fixture
def served(runner: IntegrationRunner) -> Iterator[AsgiServer]:
    server = AsgiServer(app(runner, required=["payments"]))
    yield server
    server.close()


def test_all_pass_is_pass_with_200(runner: IntegrationRunner, served: AsgiServer) -> None:
    runner.run_one_sync("search")
    runner.run_one_sync("payments")
    response = httpx.get(served.url("/health"))
    assert response.status_code == 200
    assert response.headers["content-type"] == HEALTH_JSON
    body = response.json()
    assert body["status"] == "pass" or body["status"] == "warn"  # crm has not run: pass
    check = body["checks"]["search:responseTime"][0]
    assert check["componentId"] == "search" and check["status"] == "pass"
    assert check["observedUnit"] == "ms" and check["observedValue"] >= 0
    assert check["time"].endswith("Z")
    assert body["checks"]["breakerStorage:reachable"][0]["status"] == "pass"


def test_an_optional_integration_down_is_warn_and_masked(
    runner: IntegrationRunner, served: AsgiServer
) -> None:
    runner.run_all_sync()  # crm fails and opens
    response = httpx.get(served.url("/health"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warn"
    crm = body["checks"]["crm:responseTime"][0]
    assert crm["status"] == "fail" and "circuit open" in crm["output"]
    assert SECRET not in response.text and "login with" in response.text


def test_a_required_integration_down_fails_health_and_readyz_not_livez(
    runner: IntegrationRunner, served: AsgiServer
) -> None:
    runner.inject("payments", Fault.fail())
    runner.run_one_sync("payments")
    health = httpx.get(served.url("/health"))
    assert health.status_code == 503 and health.json()["status"] == "fail"
    ready = httpx.get(served.url("/readyz"))
    assert ready.status_code == 503 and ready.text == "failed\n"
    verbose = httpx.get(served.url("/readyz?verbose")).text
    assert "[-]payments (required) failed: circuit open" in verbose
    assert "[+]search ok" in verbose
    assert verbose.endswith("readyz check failed\n")
    assert httpx.get(served.url("/livez")).status_code == 200
    assert httpx.get(served.url("/livez?verbose")).text == "[+]ping ok\nlivez check passed\n"
    runner.reset("payments")
    runner.clear_faults()
    assert httpx.get(served.url("/readyz")).status_code == 200


def test_readyz_ignores_optional_integrations(
    runner: IntegrationRunner, served: AsgiServer
) -> None:
    runner.isolate("search")
    runner.run_one_sync("crm")
    response = httpx.get(served.url("/readyz?verbose"))
    assert response.status_code == 200
    assert "[-]search (optional, not counted) failed: isolated: held open until reset" in (
        response.text
    )


def test_a_required_name_the_runner_lacks_is_refused(runner: IntegrationRunner) -> None:
    with pytest.raises(UnknownIntegrationError, match="payment"):
        app(runner, required=["payment"])


def test_a_fleet_source_with_redis_gone_warns(redis_server: RedisServer) -> None:
    worker = IntegrationRunner(
        registry_of(Probe("svc")), storage=RedisStorage(redis_server.url, namespace="h")
    )
    worker.run_all_sync()
    with Fleet(redis_server.url, "h", socket_timeout=0.2) as fleet:
        server = AsgiServer(app(fleet, required=["svc"]))
        try:
            assert httpx.get(server.url("/health")).json()["status"] == "pass"
            fleet.trip("svc")
            assert httpx.get(server.url("/readyz")).status_code == 503
            redis_server.stop()
            body = httpx.get(server.url("/health"), timeout=10).json()
            storage = body["checks"]["breakerStorage:reachable"][0]
            assert storage["status"] == "warn" and storage["observedValue"] is False
        finally:
            server.close()
    worker.close()


def test_an_open_breaker_reports_the_error_that_opened_it(
    runner: IntegrationRunner, served: AsgiServer
) -> None:
    runner.run_one_sync("crm")  # fails and opens
    for _ in range(3):
        runner.run_one_sync("crm")  # refused
    crm = httpx.get(served.url("/health")).json()["checks"]["crm:responseTime"][0]
    assert "last error: RuntimeError: login with" in crm["output"]
    assert "last error: circuit open" not in crm["output"]
    c = runner.history.columns()  # epoch seconds as stored, not rounded to microseconds
    calls = [i for i, name in enumerate(c["name"]) if name == "crm"]
    assert [c["outcome"][i] for i in calls] == ["error"] + ["circuit_open"] * 3
    ran = calls[0]  # the failure: the only call that ran
    assert crm["observedValue"] == round(c["duration_s"][ran] * 1000.0, 3)
    ended = c["started_at"][ran] + c["duration_s"][ran]
    assert crm["time"] == datetime.fromtimestamp(ended, UTC).isoformat().replace("+00:00", "Z")
