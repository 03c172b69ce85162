"""HTTP checks: 500 ``HttpCheck``s against one local server, all in one ``run_all``.

Reports checks per second and two ratios, each against a baseline measured in the
same run:

- wall / slowest check: the run's wall time over the longest single check recorded
  in that run. Goal: at most 1.5, i.e. the runner adds almost nothing around the
  calls themselves (gathering, breakers, history).
- wall / one check alone: the same over one check run by itself on the same server
  (the network's time for one request). This one also shows what 500 concurrent
  requests cost the client (httpx) in CPU, which a single request does not pay.
- wall / raw httpx: the same over the 500 requests sent with the same client by a
  bare ``asyncio.gather``, without runner, breakers or checks: what the toolkit adds.

The server is a small raw-asyncio HTTP/1.1 server with keep-alive in a separate
process, answering each request after ``DELAY`` seconds (a service's own latency).
A thread-per-connection stdlib server would be what gets measured at 500
concurrent requests; in its own process, the server's work does not compete with
the runner's event loop either. The first (cold) run opens every connection; the
warm runs reuse the keep-alive ones the client kept. For scale, the same requests
are also timed once through a plain ``httpx.AsyncClient``, whose single connection
pool slows down with the square of the requests in flight (``toolkit/_checks/transport.py``).

Run: ``.venv/bin/python benchmarks/bench_http.py``
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx

from toolkit import IntegrationRegistry, IntegrationRunner
from toolkit._checks.client import LIMITS
from toolkit.integrations import HttpCheck, SharedClient

CHECKS = 500
DELAY = 0.2
WARM_RUNS = 5
GOAL = 1.5

BODY = b'{"status": "ok", "value": 42}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer each request on the connection after ``DELAY`` seconds, keeping it open."""
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(DELAY)
            writer.write(RESPONSE)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve() -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", 0, backlog=2048)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


def _start_server() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    return process, f"http://127.0.0.1:{port}/health"


def _runner(url: str, count: int, client: SharedClient) -> IntegrationRunner:
    registry = IntegrationRegistry()
    for i in range(count):
        registry.register(HttpCheck(f"check-{i:03d}", url, json_key="value", client=client))
    return IntegrationRunner(registry, timeout=30.0)


async def _timed_run(runner: IntegrationRunner) -> dict[str, Any]:
    """One ``run_all``: wall time, the slowest check's recorded duration, failures."""
    gc.collect()
    before = len(runner.history)
    started = time.perf_counter()
    results = await runner.run_all()
    wall = time.perf_counter() - started
    durations = runner.history.columns()["duration_s"][before:]
    failed = [s.name for s in results.sections if not s.success]
    return {"wall": wall, "slowest": max(durations), "failed": failed}


async def _raw_httpx(url: str, http: httpx.AsyncClient) -> float:
    """The same 500 requests with ``http`` and ``asyncio.gather``: no runner, no checks."""

    async def one() -> None:
        async with http.stream("GET", url) as response:
            async for _ in response.aiter_bytes():
                pass
            response.raise_for_status()

    gc.collect()
    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(CHECKS)))
    return time.perf_counter() - started


async def _measure(url: str) -> None:
    client = SharedClient()
    alone = _runner(url, 1, client)
    many = _runner(url, CHECKS, client)
    try:
        await alone.run_all()  # open the client and its first connection
        single = statistics.median([(await _timed_run(alone))["wall"] for _ in range(5)])
        runs = [await _timed_run(many)]
        raws = []
        for _ in range(WARM_RUNS):  # alternate, so both see the same machine load
            runs.append(await _timed_run(many))
            raws.append(await _raw_httpx(url, client.get()))
        raw = statistics.median(raws)
        async with httpx.AsyncClient(timeout=None, limits=LIMITS) as plain:
            await _raw_httpx(url, plain)  # open its connections
            one_pool = await _raw_httpx(url, plain)
    finally:
        await many.aclose()
        await alone.aclose()
    failures = sum(len(r["failed"]) for r in runs)
    if failures:
        raise SystemExit(f"{failures} checks failed; the numbers would not mean anything")
    cold, warm = runs[0], runs[1:]
    wall = statistics.median(r["wall"] for r in warm)
    slowest = statistics.median(r["slowest"] for r in warm)
    print(f"{CHECKS} HTTP checks, server answers after {DELAY * 1000:.0f} ms, one run each")
    print(f"  one check alone (baseline):      {single * 1000:8.1f} ms")
    print(f"  cold run (opens connections):    {cold['wall'] * 1000:8.1f} ms wall, "
          f"slowest check {cold['slowest'] * 1000:.1f} ms, "
          f"ratio {cold['wall'] / cold['slowest']:.2f}x")  # fmt: skip
    print(f"  warm run (median of {WARM_RUNS}):         {wall * 1000:8.1f} ms wall, "
          f"slowest check {slowest * 1000:.1f} ms")  # fmt: skip
    print(f"  checks per second (warm):        {CHECKS / wall:8.0f}")
    ratio = wall / slowest
    verdict = "meets" if ratio <= GOAL else "misses"
    print(f"  wall / slowest check:            {ratio:8.2f}x  ({verdict} the goal of {GOAL}x)")
    print(f"  wall / one check alone:          {wall / single:8.2f}x")
    print(f"  raw httpx, same 500 requests:    {raw * 1000:8.1f} ms (asyncio.gather, no runner)")
    print(f"  wall / raw httpx:                {wall / raw:8.2f}x  (what runner and checks add)")
    print(f"  plain httpx client, one pool:    {one_pool * 1000:8.1f} ms "
          f"({one_pool / raw:.1f}x the pooled transport the checks use)")  # fmt: skip


def main() -> None:
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve())
        return
    server, url = _start_server()
    try:
        asyncio.run(_measure(url))
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
