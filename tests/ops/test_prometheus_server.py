"""A real Prometheus server scrapes the collector every second and sees a trip."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from loopback_asgi import AsgiServer
from loopback_redis import free_port
from probes import Probe, registry_of
from prometheus_client import CollectorRegistry, make_asgi_app

from toolkit import IntegrationRunner
from toolkit.metrics import PrometheusCollector


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    runner = IntegrationRunner(registry_of(Probe("pay"), Probe("search")))
    yield runner
    runner.close()


def start_prometheus(
    binary: str, target_port: int, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: toolkit\n    scrape_interval: 1s\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
    )
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    return process, port


def query(port: int, expression: str) -> list[dict[str, object]]:
    response = httpx.get(
        f"http://127.0.0.1:{port}/api/v1/query", params={"query": expression}, timeout=5
    )
    response.raise_for_status()
    return list(response.json()["data"]["result"])


def wait_for(port: int, expression: str, value: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = query(port, expression)
            if last and last[0]["value"][1] == value:  # type: ignore[index]
                return
        except httpx.HTTPError:  # not up yet, or up but not ready (503)
            pass
        time.sleep(0.2)
    raise AssertionError(f"{expression} never became {value}; last answer {last}")


def test_prometheus_scrapes_the_breakers_and_sees_a_trip(
    prometheus_binary: str, runner: IntegrationRunner, tmp_path: Path
) -> None:
    registry = CollectorRegistry()
    registry.register(PrometheusCollector(runner))
    runner.run_all_sync()
    served = AsgiServer(make_asgi_app(registry))
    process, port = start_prometheus(prometheus_binary, served.port, tmp_path)
    try:
        wait_for(port, 'up{job="toolkit"}', "1")
        wait_for(port, 'toolkit_breaker_state{name="pay",state="closed"}', "1")
        wait_for(port, 'toolkit_calls_seconds_count{name="pay",outcome="ok"}', "1")
        runner.trip("pay")
        wait_for(port, 'toolkit_breaker_state{name="pay",state="open"}', "1")
        wait_for(port, 'toolkit_breaker_state{name="search",state="closed"}', "1")
    finally:
        process.terminate()
        process.wait(10)
        served.close()
