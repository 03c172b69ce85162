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
