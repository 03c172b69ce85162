"""python -m toolkit serve: checks on a schedule, served; SIGTERM ends it with 0; bad config 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from loopback_http import HttpServer
from loopback_redis import free_port


def start(config: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "toolkit", "serve", str(config), "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_until_up(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate())
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer")


def test_serves_metrics_health_and_page_and_stops_on_sigterm(
    tmp_path: Path, http_server: HttpServer
) -> None:
    config = tmp_path / "checks.toml"
    config.write_text(
        f'[[http]]\nname = "up"\nurl = "{http_server.url_for("/ok")}"\n'
        '[[http]]\nname = "down<b>"\nurl = "http://127.0.0.1:9/"\ntimeout = 1\nfail_max = 1\n'
    )
    port = free_port()
    process = start(config, port, "--interval", "0.2", "--required", "up")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/livez", process)
        deadline = time.monotonic() + 10
        while 'toolkit_breaker_state{name="down<b>",state="open"} 1.0' not in (
            metrics := httpx.get(base + "/metrics").text
        ):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.1)
        assert 'toolkit_calls_seconds_count{name="up",outcome="ok"}' in metrics
        health = httpx.get(base + "/health")
        assert health.status_code == 200 and health.json()["status"] == "warn"
        assert httpx.get(base + "/readyz").status_code == 200
        page = httpx.get(base + "/").text
        assert "down&lt;b&gt;" in page and "down<b>" not in page and "<script" not in page
        assert '<meta http-equiv="refresh"' in page
    finally:
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        _, errors = process.communicate(timeout=10)
        took = time.monotonic() - started
    assert process.returncode == 0, errors
    assert took < 2.0


def test_a_bad_config_exits_2_before_binding(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[http]]\nname = "x"\nurl = "http://127.0.0.1/"\ntimeout = -1\n')
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "serve", str(config), "--port", str(port)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "bad.toml:4: http[1] 'x'.timeout" in done.stderr
    assert "serving" not in done.stderr


def test_an_unknown_required_name_exits_2(tmp_path: Path, http_server: HttpServer) -> None:
    config = tmp_path / "checks.toml"
    config.write_text(f'[[http]]\nname = "up"\nurl = "{http_server.url_for("/ok")}"\n')
    done = subprocess.run(
        [sys.executable, "-m", "toolkit", "serve", str(config), "--required", "nope"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2 and "nope" in done.stderr


def test_a_port_in_use_exits_2_before_any_check_runs(
    tmp_path: Path, http_server: HttpServer
) -> None:
    import socket

    config = tmp_path / "checks.toml"
    config.write_text(f'[[http]]\nname = "up"\nurl = "{http_server.url_for("/ok")}"\n')
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "toolkit", "serve", str(config), "--port", str(port)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    finally:
        taken.close()
    assert done.returncode == 2
    assert f"could not listen on 127.0.0.1:{port}" in done.stderr
    assert "serving" not in done.stderr
    assert http_server.hits["/ok"] == 0  # no round of checks ran


async def test_a_round_that_raises_is_logged_and_the_next_round_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    from probes import Probe, registry_of

    from toolkit import IntegrationRunner
    from toolkit._ops.serve import Service

    runner = IntegrationRunner(registry_of(Probe("svc")))
    service = Service(runner, interval=0.01, naming="toolkit", required=frozenset())
    real, calls = runner.run_all, []

    async def flaky():  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("runner broke")
        return await real()

    runner.run_all = flaky  # type: ignore[method-assign]
    task = asyncio.create_task(service._schedule())

    async def two_rounds() -> None:
        while service.rounds < 2:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(two_rounds(), timeout=10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    failures = [r for r in caplog.records if "a round of checks failed" in r.getMessage()]
    assert len(failures) == 2
    assert failures[0].exc_info and not failures[1].exc_info
    await runner.aclose()
    service.collector.close()
