"""Policies: refused bad values, per-integration overrides, live changes, slow calls."""

from __future__ import annotations

import math

import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, IntegrationRunner, Policy


class TestBadValues:
    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"timeout": 0}, "timeout must be a finite number of seconds > 0, got 0"),
            ({"timeout": -1.5}, "got -1.5"),
            ({"timeout": math.inf}, "got inf"),
            ({"timeout": "5"}, "got '5'"),
            ({"fail_max": 0}, "fail_max must be a whole number of failures >= 1, got 0"),
            ({"fail_max": 2.5}, "got 2.5"),
            ({"fail_max": True}, "got True"),
            ({"reset_timeout": -1}, "reset_timeout must be a finite number of seconds >= 0"),
            ({"slow_after": 0}, "slow_after must be a finite number of seconds > 0"),
        ],
    )
    def test_runner_refuses_bad_policy_values(
        self, kwargs: dict[str, object], fragment: str
    ) -> None:
        with pytest.raises(ConfigError) as info:
            IntegrationRunner(registry_of(Probe("a")), **kwargs)  # type: ignore[arg-type]
        assert fragment in str(info.value)
        assert isinstance(info.value, ValueError)

    def test_reset_timeout_zero_is_allowed(self) -> None:
        assert (
            IntegrationRunner(registry_of(Probe("a")), reset_timeout=0).policy("a").reset_timeout
            == 0
        )

    def test_unknown_policy_setting_is_named(self) -> None:
        with pytest.raises(ConfigError, match=r"'timout'.*known settings: fail_max"):
            IntegrationRunner(registry_of(Probe("a")), policies={"a": {"timout": 3}})

    def test_bad_override_value_is_refused_at_construction(self) -> None:
        with pytest.raises(ConfigError, match="fail_max"):
            IntegrationRunner(registry_of(Probe("a")), policies={"a": {"fail_max": 0}})

    def test_live_change_refuses_bad_values_and_keeps_the_old_policy(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("a")), timeout=2.0)
        with pytest.raises(ConfigError):
            runner.set_policy("a", timeout=-1)
        with pytest.raises(ConfigError):
            runner.set_policy(timeout=0)
        assert runner.policy("a").timeout == 2.0

    def test_bad_grace_and_history_size_are_refused(self) -> None:
        with pytest.raises(ConfigError, match="grace"):
            IntegrationRunner(registry_of(Probe("a")), grace=-1)
        with pytest.raises(ConfigError, match="history size"):
            IntegrationRunner(registry_of(Probe("a")), history_size=0)

    def test_policy_repr_is_readable(self) -> None:
        assert repr(Policy(5, 2, 30, 1.5)) == (
            "Policy(timeout=5s, fail_max=2, reset_timeout=30s, slow_after=1.5)"
        )


class TestOverrides:
    def test_overrides_at_construction_apply_to_that_integration_only(self) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("a"), Probe("b")),
            timeout=10,
            fail_max=3,
            policies={"a": {"timeout": 1.0, "fail_max": 5}},
        )
        assert runner.policy("a") == Policy(1.0, 5, 60.0, None)
        assert runner.policy("b") == Policy(10, 3, 60.0, None)
        assert runner.breaker("a").fail_max == 5 and runner.breaker("b").fail_max == 3

    def test_live_override_reaches_the_breaker_at_once(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("a"), Probe("b")), reset_timeout=60)
        runner.trip("a")
        runner.set_policy("a", reset_timeout=5)
        status = runner.status("a")
        assert runner.breaker("a").reset_timeout == 5
        assert status.reset_timeout_s == 5 and status.trial_in_s is not None
        assert status.trial_in_s <= 5
        assert runner.policy("b").reset_timeout == 60

    def test_default_change_spares_integrations_that_override_the_same_setting(self) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("a"), Probe("b")), policies={"a": {"fail_max": 7}}
        )
        runner.set_policy(fail_max=2, timeout=4)
        assert runner.policy("a").fail_max == 7 and runner.policy("a").timeout == 4
        assert runner.policy("b").fail_max == 2 and runner.breaker("b").fail_max == 2

    async def test_lowered_fail_max_opens_on_the_next_failure(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("a", "raise")), fail_max=5)
        await runner.run_one("a")
        await runner.run_one("a")
        runner.set_policy("a", fail_max=3)
        await runner.run_one("a")
        assert runner.status("a").state == "open"

    async def test_live_timeout_applies_to_the_next_call(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("a", "sleep", delay=0.1)), timeout=5)
        assert (await runner.run_one("a")).success
        runner.set_policy("a", timeout=0.02)
        assert (await runner.run_one("a")).error == "timed out after 0.02s"


class TestSlowCalls:
    async def test_success_slower_than_slow_after_is_marked_slow_not_failed(self) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("slow", "sleep", delay=0.06), Probe("quick")), slow_after=0.03
        )
        results = await runner.run_all()
        assert all(s.success for s in results.sections)
        marks = {r.name: (r.outcome, r.slow) for r in runner.history}
        assert marks == {"slow": ("ok", True), "quick": ("ok", False)}
        assert runner.breaker("slow").fail_counter == 0

    async def test_without_slow_after_nothing_is_marked_slow(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("slow", "sleep", delay=0.03)))
        await runner.run_all()
        assert runner.history[-1].slow is False


class TestRateFields:
    @pytest.mark.parametrize(
        ("kwargs", "fragment"),
        [
            ({"window": 0}, "window must be a whole number of calls >= 1, got 0"),
            ({"window": 2.5}, "got 2.5"),
            ({"window_s": 0}, "window_s must be a finite number of seconds > 0, got 0"),
            ({"window": 5, "window_s": 5.0}, "not both; got window=5 and window_s=5.0"),
            ({"failure_rate": 0}, "failure_rate must be a fraction of the recorded calls in (0"),
            ({"failure_rate": 1.5}, "got 1.5"),
            ({"slow_rate": math.nan}, "slow_rate must be a fraction"),
            ({"min_calls": 0}, "min_calls must be a whole number of calls >= 1, got 0"),
            ({"half_open_calls": 0}, "half_open_calls must be a whole number of trial calls"),
            ({"backoff": 0.5}, "backoff must be a number from 1"),
            ({"backoff": math.inf}, "got inf"),
            ({"max_reset_timeout": 5.0}, "max_reset_timeout (5.0) must be at least reset_timeout"),
            ({"shared_window": 1}, "shared_window must be True or False, got 1"),
            ({"shared_window": True, "window": 5}, "shared_window=True needs a time window"),
        ],
    )
    def test_bad_rate_fields_are_refused_by_name(
        self, kwargs: dict[str, object], fragment: str
    ) -> None:
        with pytest.raises(ConfigError) as info:
            Policy(reset_timeout=60.0, **kwargs)  # type: ignore[arg-type]
        assert fragment in str(info.value)

    def test_defaults_keep_consecutive_counting(self) -> None:
        policy = Policy()
        assert not policy.rate_based and policy.failure_rate == 0.5 and policy.min_calls == 10
        assert (policy.slow_rate, policy.half_open_calls, policy.backoff) == (1.0, 1, 1.0)
        assert policy.max_reset_timeout is None and policy.shared_window is False

    def test_min_calls_clamps_to_a_count_window_only(self) -> None:
        assert Policy(window=4, min_calls=10).effective_min_calls == 4
        assert Policy(window_s=4.0, min_calls=10).effective_min_calls == 10

    def test_wait_after_backs_off_and_caps(self) -> None:
        policy = Policy(reset_timeout=10.0, backoff=3.0, max_reset_timeout=100.0)
        assert [policy.wait_after(k) for k in range(5)] == [10.0, 10.0, 30.0, 90.0, 100.0]
        assert Policy(reset_timeout=1.0, backoff=1000.0).wait_after(10**6) == 1e9  # no overflow

    def test_repr_shows_rate_fields_that_differ_from_the_defaults(self) -> None:
        text = repr(Policy(window=20, failure_rate=0.25, backoff=2.0))
        assert text.endswith("reset_timeout=60s, window=20, failure_rate=0.25, backoff=2)")

    def test_set_policy_and_overrides_accept_the_rate_fields(self) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("a"), Probe("b")), policies={"a": {"window": 10, "min_calls": 5}}
        )
        assert runner.policy("a").window == 10 and runner.policy("b").window is None
        runner.set_policy("b", window_s=30.0, failure_rate=0.2, half_open_calls=2)
        assert (runner.policy("b").window_s, runner.policy("b").half_open_calls) == (30.0, 2)
        runner.close()

    def test_giving_one_window_kind_replaces_the_other(self) -> None:
        policy = Policy(window=20).updated(window_s=30.0)
        assert (policy.window, policy.window_s) == (None, 30.0)
        assert Policy(window_s=5.0).updated(window=3).window_s is None
        with pytest.raises(ConfigError, match="not both"):
            Policy().updated(window=3, window_s=5.0)
