"""Simulated time for a runner: calls take exactly as long as told, waits pass at once.

``SimClock`` replaces the runner's wall clock and its duration clock (the breaker's
admission, its openings and its windows all read them through the runner). Times
are multiples of 1/64 s, exact in binary and in a datetime's microseconds, so a
history's arithmetic has no rounding to blur an edge case.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from toolkit import IntegrationResult

TICK = 1 / 64


class SimClock:
    """A clock that moves only when told."""

    def __init__(self, start: float | None = None) -> None:
        self.t = float(math.floor(time.time() if start is None else start))

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        assert seconds >= 0 and (seconds / TICK).is_integer(), seconds
        self.t += seconds


@contextmanager
def simulated(monkeypatch: pytest.MonkeyPatch, clock: SimClock) -> Iterator[SimClock]:
    """Run the runner's clocks on ``clock`` inside the block."""
    import toolkit._engine.runner as runner_module

    monkeypatch.setattr(runner_module, "_now", clock.now)
    monkeypatch.setattr(runner_module, "_perf", clock.now)
    yield clock


class Scripted:
    """An integration whose next call takes ``duration`` simulated seconds and ends
    ``ok``, ``error`` or ``timeout`` (its own TimeoutError, as a check's read timeout)."""

    def __init__(self, name: str, clock: SimClock) -> None:
        self.name = name
        self.clock = clock
        self.outcome = "ok"
        self.duration = TICK
        self.calls = 0

    def is_configured(self) -> bool:
        return True

    def validate_config(self) -> str | None:
        return None

    async def fetch(self) -> Any:
        self.calls += 1
        self.clock.advance(self.duration)
        if self.outcome == "error":
            raise RuntimeError(f"{self.name} is down")
        if self.outcome == "timeout":
            raise TimeoutError("read timed out")
        return IntegrationResult(self.name, True, {"n": self.calls})
