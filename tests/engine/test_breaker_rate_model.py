"""Property-based: a breaker under a random rate-based (or consecutive) policy, driven by
random outcomes, durations and waits in simulated time, behaves exactly like a small
model of the policy rules: windows, min_calls, slow calls, half-open trials, backoff."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from probes import registry_of
from sim_clock import TICK, Scripted, SimClock

import toolkit._engine.runner as runner_module
from toolkit import IntegrationRunner, Policy
from toolkit._engine import breaker as _breaker

RESET = 10.0
TIMEOUT = 5.0

policies = st.builds(
    Policy,
    timeout=st.just(TIMEOUT),
    fail_max=st.integers(1, 3),
    reset_timeout=st.just(RESET),
    slow_after=st.sampled_from([None, 2.0]),
    window=st.sampled_from([None, None, 1, 3, 5]),
    failure_rate=st.sampled_from([0.25, 0.5, 1.0]),
    slow_rate=st.sampled_from([0.5, 1.0]),
    min_calls=st.integers(1, 6),
    half_open_calls=st.integers(1, 3),
    backoff=st.sampled_from([1.0, 2.0]),
    max_reset_timeout=st.sampled_from([None, 25.0]),
) | st.builds(
    Policy,
    timeout=st.just(TIMEOUT),
    reset_timeout=st.just(RESET),
    slow_after=st.sampled_from([None, 2.0]),
    window_s=st.sampled_from([4.0, 12.0]),
    failure_rate=st.sampled_from([0.25, 0.5, 1.0]),
    min_calls=st.integers(1, 6),
    half_open_calls=st.integers(1, 3),
    backoff=st.sampled_from([1.0, 1.5]),
)


class Model:
    """The rules of Policy, stated plainly (no code shared with the breaker)."""

    def __init__(self, policy: Policy) -> None:
        self.p = policy
        self.state = "closed"
        self.calls: list[tuple[float, bool, bool]] = []  # (ended at, failed, slow) in window
        self.consecutive = 0
        self.in_a_row = 0
        self.opened_at = 0.0
        self.trials: list[bool] = []

    def wait(self) -> float:
        p = self.p
        wait = p.reset_timeout * p.backoff ** max(self.in_a_row - 1, 0)
        return wait if p.max_reset_timeout is None else min(wait, p.max_reset_timeout)

    def window(self, now: float) -> list[tuple[float, bool, bool]]:
        p = self.p
        if p.window is not None:
            return self.calls[-p.window :]
        assert p.window_s is not None
        return [c for c in self.calls if now - c[0] < p.window_s]

    def rates(self, now: float) -> tuple[float, float]:
        p = self.p
        if not (p.window or p.window_s):
            return math.nan, math.nan
        held = self.window(now)
        needed = min(p.min_calls, p.window) if p.window else p.min_calls
        if not held or len(held) < needed:
            return math.nan, math.nan
        return sum(c[1] for c in held) / len(held), sum(c[2] for c in held) / len(held)

    def admits(self, now: float) -> bool:
        if self.state == "open" and now - self.opened_at >= self.wait():
            self.state, self.trials = "half-open", []
        return self.state != "open"

    def _open(self, now: float) -> None:
        self.state, self.opened_at, self.calls = "open", now, []
        self.in_a_row += 1

    def settle(self, end: float, failed: bool, duration: float) -> None:
        p = self.p
        slow = p.slow_after is not None and duration > p.slow_after
        if self.state == "half-open":
            self.trials.append(failed)
            if len(self.trials) == p.half_open_calls:
                if sum(self.trials) / len(self.trials) >= p.failure_rate:
                    self._open(end)
                else:
                    self.state, self.calls, self.in_a_row, self.consecutive = "closed", [], 0, 0
            return
        self.consecutive = self.consecutive + 1 if failed else 0
        if not (p.window or p.window_s):
            if self.consecutive >= p.fail_max:
                self._open(end)
            return
        self.calls.append((end, failed, slow))
        failure_rate, slow_rate = self.rates(end)
        slow_trips = p.slow_after is not None and slow_rate >= p.slow_rate
        if failure_rate >= p.failure_rate or slow_trips:
            self._open(end)


class RateBreakerModel(RuleBasedStateMachine):
    """The real runner, on a simulated clock, next to the model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimClock()
        self.patch = pytest.MonkeyPatch()
        self.patch.setattr(runner_module, "_now", self.clock.now)
        self.patch.setattr(runner_module, "_perf", self.clock.now)
        self.svc = Scripted("svc", self.clock)
        self.runner: IntegrationRunner | None = None

    def teardown(self) -> None:
        if self.runner is not None:
            self.runner.close()
        self.patch.undo()

    @initialize(policy=policies)
    def start(self, policy: Policy) -> None:
        fields: dict[str, Any] = {f: getattr(policy, f) for f in policy.__dataclass_fields__}
        self.runner = IntegrationRunner(registry_of(self.svc), policies={"svc": fields})
        self.model = Model(policy)

    @rule(
        outcome=st.sampled_from(["ok", "ok", "error", "timeout"]),
        duration=st.sampled_from([TICK, 1.0, 3.0]),
    )
    def call(self, outcome: str, duration: float) -> None:
        assert self.runner is not None
        self.svc.outcome, self.svc.duration = outcome, duration
        calls = self.svc.calls
        start = self.clock.now()
        should_run = self.model.admits(start)
        self.runner.run_one_sync("svc")
        assert (self.svc.calls - calls == 1) is should_run
        record = self.runner.history[-1]
        assert record.state_before == ("open" if not should_run else self.model.state)
        if should_run:
            self.model.settle(start + duration, outcome != "ok", duration)
        assert record.state_after == self.model.state

    @rule(seconds=st.sampled_from([TICK, 1.0, 4.0, 9.0, 10.0, 15.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def matches(self) -> None:
        if self.runner is None:
            return
        cb = self.runner.breaker("svc")
        assert _breaker.storage_state(cb) == self.model.state
        got = _breaker.window_rates(cb, self.clock.now())
        want = self.model.rates(self.clock.now())
        assert [round(x, 9) if x == x else "nan" for x in got] == [
            round(x, 9) if x == x else "nan" for x in want
        ]
        if self.model.state == "open":
            assert cb.reset_timeout == self.model.wait()


TestRateBreakerModel = RateBreakerModel.TestCase
TestRateBreakerModel.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
