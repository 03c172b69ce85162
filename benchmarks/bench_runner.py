"""Runner overhead: N no-op integrations through ``run_all()`` vs a hand-written baseline.

The baseline is what a service usually writes by hand, in the same process: one
pybreaker breaker per integration, ``asyncio.timeout`` around ``fetch``, one
``asyncio.gather``. Goals: the runner costs at most 1.5x the baseline per
integration, and a run over open breakers at most 1.0x.

Run: ``.venv/bin/python benchmarks/bench_runner.py``
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable
from typing import NoReturn

import pybreaker

from toolkit import IntegrationRegistry, IntegrationResult, IntegrationRunner

TIMEOUT = 30.0
REPEATS = 5


class NoOp:
    """An integration that answers at once."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_configured(self) -> bool:
        return True

    def validate_config(self) -> None:
        return None

    async def fetch(self) -> IntegrationResult:
        return IntegrationResult(self.name, True, 1)


def _noop() -> None:
    return None


def _raise(exc: BaseException) -> NoReturn:
    raise exc


async def _guarded(integration: NoOp, breaker: pybreaker.CircuitBreaker) -> IntegrationResult:
    """The usual hand-rolled guard."""
    if breaker.current_state == pybreaker.STATE_OPEN:
        return IntegrationResult(integration.name, False, error="circuit open")
    try:
        async with asyncio.timeout(TIMEOUT):
            result = await integration.fetch()
    except Exception as exc:
        with contextlib.suppress(Exception):
            breaker.call(_raise, exc)
        return IntegrationResult(integration.name, False, error=str(exc))
    breaker.call(_noop)
    return result


def _best(run: Callable[[], Awaitable[object]], loop: asyncio.AbstractEventLoop) -> float:
    """Best of ``REPEATS`` wall times (seconds) for one call of ``run``."""
    times = []
    for _ in range(REPEATS):
        gc.collect()
        started = time.perf_counter()
        loop.run_until_complete(run())
        times.append(time.perf_counter() - started)
    return min(times)


def measure(n: int, *, open_breakers: bool) -> tuple[float, float]:
    """Per-integration microseconds: (runner, baseline)."""
    integrations = [NoOp(f"i{i}") for i in range(n)]
    registry = IntegrationRegistry()
    for integration in integrations:
        registry.register(integration)
    runner = IntegrationRunner(registry, timeout=TIMEOUT, history_size=max(10_000, n * REPEATS))
    breakers = [pybreaker.CircuitBreaker(fail_max=3, reset_timeout=60) for _ in integrations]
    if open_breakers:
        for name in runner.names:
            runner.trip(name)
        for breaker in breakers:
            breaker.open()

    async def baseline() -> list[object]:
        return await asyncio.gather(
            *(_guarded(i, b) for i, b in zip(integrations, breakers, strict=True)),
            return_exceptions=True,
        )

    loop = asyncio.new_event_loop()
    try:
        ours = _best(runner.run_all, loop)
        theirs = _best(baseline, loop)
    finally:
        loop.close()
    return ours / n * 1e6, theirs / n * 1e6


def open_answer_us(samples: int = 2_000) -> float:
    """Median microseconds for ``await run_one(name)`` on an open breaker."""
    registry = IntegrationRegistry()
    registry.register(NoOp("down"))
    runner = IntegrationRunner(registry)
    runner.trip("down")
    loop = asyncio.new_event_loop()

    async def sample() -> list[float]:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            await runner.run_one("down")
            times.append(time.perf_counter() - started)
        return sorted(times)

    try:
        times = loop.run_until_complete(sample())
    finally:
        loop.close()
    return times[len(times) // 2] * 1e6


def main() -> None:
    logging.getLogger("toolkit").setLevel(logging.ERROR)
    print(f"{'case':<28}{'runner us/int':>15}{'baseline us/int':>17}{'ratio':>8}{'goal':>7}")
    for n in (1_000, 10_000):
        for open_breakers, goal in ((False, 1.5), (True, 1.0)):
            ours, theirs = measure(n, open_breakers=open_breakers)
            case = f"N={n:,} {'open breakers' if open_breakers else 'closed, no-op'}"
            print(f"{case:<28}{ours:>15.2f}{theirs:>17.2f}{ours / theirs:>8.2f}{goal:>7.1f}")
    print(f"run_one() on an open breaker: median {open_answer_us():.1f} us (fetch not called)")


if __name__ == "__main__":
    main()
