"""Failure isolation end to end: 20 HTTP checks on a loopback server, 5 broken, one run."""

from __future__ import annotations

import socket
import time

from loopback_http import HttpServer

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit.integrations import HttpCheck, SharedClient

TIMEOUT = 1.0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_fifteen_healthy_checks_succeed_beside_five_broken_ones(
    http_server: HttpServer,
) -> None:
    url = http_server.url_for
    client = SharedClient()
    broken = {
        "status": HttpCheck("status", url("/status/500"), client=client),
        "refused": HttpCheck("refused", f"http://127.0.0.1:{closed_port()}/ok", client=client),
        "slow": HttpCheck("slow", url("/slow/5"), client=client),
        "json": HttpCheck("json", url("/invalid-json"), json_key="value", client=client),
        "tls": HttpCheck("tls", http_server.url.replace("http:", "https:"), client=client),
    }
    healthy = [HttpCheck(f"ok{i}", url("/ok"), json_key="value", client=client) for i in range(15)]
    registry = IntegrationRegistry()
    for check in [*healthy[:8], *broken.values(), *healthy[8:]]:
        registry.register(check)
    runner = IntegrationRunner(registry, timeout=TIMEOUT)

    started = time.perf_counter()
    try:
        results = await runner.run_all()
    finally:
        await runner.aclose()
    elapsed = time.perf_counter() - started

    assert len(results) == 20
    for check in healthy:
        section = results.get_section(check.name)
        assert section is not None and section.success and section.data["value"] == 42
        assert runner.breaker(check.name).fail_counter == 0
    errors = {name: results.get_section(name) for name in broken}
    texts = {name: section.error_message or "" for name, section in errors.items() if section}
    assert texts["status"].startswith("HTTP 500")
    assert texts["refused"].startswith("cannot connect: connection refused")
    assert texts["slow"] == "timed out after 1s"
    assert texts["json"].startswith("body from GET")
    assert texts["tls"].startswith("TLS failed")
    assert all(runner.breaker(name).fail_counter == 1 for name in broken)
    # The slow check holds the run for its whole timeout, and nothing else adds to it: run
    # one after another the 20 checks would take at least the sum of their durations.
    # 2x the slowest timeout is generous headroom for a loaded machine.
    assert TIMEOUT <= elapsed < 2 * TIMEOUT, f"run took {elapsed:.2f}s"
