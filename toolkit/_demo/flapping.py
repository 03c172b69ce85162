"""A flapping service recorded on simulated time: minutes of history in a fraction of a second.

``record_flapping(minutes=5)`` runs a real ``IntegrationRunner`` every simulated
second against ``FlappingService`` (healthy spells, outages, a slow patch, stray
errors, all seeded) and a steady neighbour, under the policy given, and returns the
runner with its history: what ``toolkit.replay`` needs to compare policies.

Simulated time: while recording, the runner's two clocks (wall time for records,
openings and waits; the duration clock) are a ``SimulatedClock`` that moves only
when a call takes time or the recorder waits. The recording ends at the real time
now, so the frames read like a recent incident. Afterwards the runner is back on
real time, breakers as the recording left them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import toolkit._engine.recorder as _recorder_module
import toolkit._engine.runner as _runner_module
from toolkit._engine.policy import Policy
from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.results import IntegrationResult
from toolkit._engine.runner import IntegrationRunner

TICK = 1 / 64
"""The clock's step: whole microseconds, exact in binary."""


class SimulatedClock:
    """Seconds since the epoch that pass only when told (in steps of ``TICK``)."""

    def __init__(self, start: float) -> None:
        self.t = round(start / TICK) * TICK

    def now(self) -> float:
        """The simulated time."""
        return self.t

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (rounded to the clock's step)."""
        self.t += max(0.0, round(seconds / TICK) * TICK)


@contextmanager
def simulated(clock: SimulatedClock) -> Iterator[SimulatedClock]:
    """Run every runner of this process on ``clock`` inside the block (demos only)."""
    saved = _runner_module._now, _runner_module._perf, _recorder_module._now
    _runner_module._now = _runner_module._perf = _recorder_module._now = clock.now
    try:
        yield clock
    finally:
        _runner_module._now, _runner_module._perf, _recorder_module._now = saved


class FlappingService:
    """A service that flaps: up for a while, down for a while, slow for a patch, seeded.

    The schedule is in simulated seconds from the start: every ``period`` seconds it
    goes down for ``down_s``; from ``slow_from`` to ``slow_until`` its calls take
    ``slow_s``; when up, one call in ``1 / stray`` fails anyway.
    """

    def __init__(
        self, name: str, clock: SimulatedClock, *, period: float = 75.0, down_s: float = 20.0,
        latency_s: float = 0.05, slow_from: float = 150.0, slow_until: float = 200.0,
        slow_s: float = 1.5, stray: float = 0.08, seed: int = 3,
    ) -> None:  # fmt: skip
        self.name = name
        self.display_name = name.replace("_", " ").capitalize()
        self.clock = clock
        self.start = clock.now()
        self.period, self.down_s, self.latency_s = period, down_s, latency_s
        self.slow_from, self.slow_until, self.slow_s = slow_from, slow_until, slow_s
        self.stray = stray
        self._rng = random.Random(f"{seed}:{name}")
        self.calls = 0

    def is_configured(self) -> bool:
        """Always configured."""
        return True

    def validate_config(self) -> None:
        """Nothing to validate."""
        return None

    def down(self, at: float) -> bool:
        """Whether the service is in an outage ``at`` seconds after the start."""
        return at % self.period >= self.period - self.down_s

    async def fetch(self) -> IntegrationResult:
        """Take the simulated latency, then answer as the schedule says."""
        self.calls += 1
        at = self.clock.now() - self.start
        slow = self.slow_from <= at < self.slow_until
        self.clock.advance(self.slow_s if slow else self.latency_s)
        if self.down(at):
            raise ConnectionError(f"{self.display_name}: connection refused (simulated outage)")
        if self._rng.random() < self.stray:
            raise ConnectionError(f"{self.display_name}: connection reset (stray error)")
        return IntegrationResult(self.name, True, {"at_s": round(at, 3)})

    def __repr__(self) -> str:
        return f"FlappingService({self.name!r}, period={self.period:g}s, down={self.down_s:g}s)"


def record_flapping(
    minutes: float = 5.0, *, policy: Policy | None = None, every: float = 1.0, seed: int = 3,
    **service: Any,
) -> IntegrationRunner:  # fmt: skip
    """A runner with ``minutes`` of simulated history: ``flappy`` (a ``FlappingService``
    with ``service`` settings) and ``steady`` (always fine), run every ``every`` seconds
    under ``policy`` (default ``Policy(fail_max=3, reset_timeout=20.0, timeout=2.0)``).
    """
    policy = policy or Policy(fail_max=3, reset_timeout=20.0, timeout=2.0)
    seconds = float(minutes) * 60.0
    clock = SimulatedClock(time.time() - seconds)
    flappy = FlappingService("flappy", clock, seed=seed, **service)
    steady = FlappingService(
        "steady", clock, period=1e9, down_s=0.0, slow_from=0.0, slow_until=0.0, stray=0.0
    )
    registry = IntegrationRegistry()
    registry.register(flappy)
    registry.register(steady)
    fields = {f: getattr(policy, f) for f in policy.__dataclass_fields__}
    runner = IntegrationRunner(registry, policies={"flappy": fields, "steady": fields})
    end = clock.now() + seconds
    with simulated(clock):
        while clock.now() < end:
            began = clock.now()
            for name in runner.names:  # one after the other: each call's time is its own
                runner.run_one_sync(name)
            clock.advance(max(every - (clock.now() - began), 0.0))
    return runner
