"""python -m toolkit serve: checks on a schedule, served; SIGTERM ends it with 0; bad config 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
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
