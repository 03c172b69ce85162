"""Property-based: one breaker driven by random outcomes, waits, trips, expiries and resets
behaves exactly like a small model of the rules in DESIGN.md."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from probes import Probe, registry_of

from toolkit import IntegrationRunner

FAIL_MAX = 3
RESET_TIMEOUT = 10.0


class BreakerModel(RuleBasedStateMachine):
    """The rules, stated plainly, next to the real runner."""

    def __init__(self) -> None:
        super().__init__()
        self.probe = Probe("svc")
        self.runner = IntegrationRunner(
            registry_of(self.probe), fail_max=FAIL_MAX, reset_timeout=RESET_TIMEOUT
        )
        self.state = "closed"  # closed | open | isolated  (half-open never outlives a call)
        self.failures = 0
        self.waited = 0.0  # seconds since the breaker opened

    def teardown(self) -> None:
        self.runner.close()

    # ---------------------------------------------------------------- model
    def _due(self) -> bool:
        return self.state == "open" and self.waited >= RESET_TIMEOUT

    def _open(self) -> None:
        self.state, self.waited = "open", 0.0

    # ---------------------------------------------------------------- rules
    @rule(succeed=st.booleans())
    def call(self, succeed: bool) -> None:
        self.probe.behaviour = "ok" if succeed else "raise"
        calls_before = self.probe.calls
        result = self.runner.run_one_sync("svc")
        should_run = self.state == "closed" or self._due()
        assert (self.probe.calls - calls_before == 1) is should_run
        if not should_run:
            assert result.success is False and self.runner.history[-1].outcome == "circuit_open"
            return
        assert result.success is succeed
        trial = self.state == "open"
        if succeed:
            self.state, self.failures = "closed", 0
        else:
            self.failures += 1
            if trial or self.failures >= FAIL_MAX:
                self._open()

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.75, 10.0, 11.0]))
    def wait(self, seconds: float) -> None:
        storage = self.runner.breaker("svc")._state_storage
        if storage.opened_at is not None:
            storage.opened_at = storage.opened_at - timedelta(seconds=seconds)
        self.waited += seconds

    @rule()
    def trip(self) -> None:
        self.runner.trip("svc")
        if self.state != "isolated":  # only reset ends an isolation
            self._open()

    @rule()
    def reset(self) -> None:
        self.runner.reset("svc")
        self.state, self.failures = "closed", 0

    @rule()
    def isolate(self) -> None:
        self.runner.isolate("svc")
        self.state = "isolated"

    @precondition(lambda self: self.state != "closed")
    @rule()
    def expire(self) -> None:
        self.runner.expire("svc")
        if self.state == "open":
            self.waited = RESET_TIMEOUT

    # ----------------------------------------------------------- invariants
    @invariant()
    def state_matches(self) -> None:
        status = self.runner.status("svc")
        assert status.state == self.state
        if self.state == "closed":
            assert status.failures == self.failures < FAIL_MAX
            assert status.trial_in_s is None
        if self.state == "open":
            assert status.trial_in_s is not None
            assert (status.trial_in_s == 0.0) is self._due()
        assert not self.runner.in_flight("svc")


TestBreakerModel = BreakerModel.TestCase
TestBreakerModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
