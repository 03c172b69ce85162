"""Breaker behaviour through the runner: opening, skipping, the trial call, listeners."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pybreaker
import pytest
from probes import Probe, registry_of

from toolkit import IntegrationRunner


class TestCircuitBreaker:
    async def test_circuit_breaker_opens_after_failures(self) -> None:
        probe = Probe("flaky", "raise")
        runner = IntegrationRunner(registry_of(probe))  # fail_max defaults to 3
        for expected in (1, 2):
            await runner.run_one("flaky")
            assert runner.status("flaky").state == "closed"
            assert runner.status("flaky").failures == expected
        await runner.run_one("flaky")
        status = runner.status("flaky")
        assert status.state == "open" and status.failures == 3
        assert isinstance(runner.breaker("flaky"), pybreaker.CircuitBreaker)
        assert runner.breaker("flaky").current_state == pybreaker.STATE_OPEN

    async def test_circuit_breaker_returns_circuit_open_error(self) -> None:
        probe = Probe("flaky", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=1)
        await runner.run_one("flaky")
        result = await runner.run_one("flaky")
        assert result.success is False
        assert result.error is not None and result.error.startswith("circuit open: trial in")
        assert runner.history[-1].outcome == "circuit_open"

    async def test_open_breaker_skips_fetch(self) -> None:
        probe = Probe("down", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=2)
        for _ in range(2):
            await runner.run_all()
        calls_when_opened = probe.calls
        for _ in range(5):
            results = await runner.run_all()
            assert results.sections[0].success is False
        assert probe.calls == calls_when_opened == 2
        assert [r.outcome for r in runner.history][-5:] == ["circuit_open"] * 5

    async def test_breaker_recovers_by_itself_after_reset_timeout(self) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=1, reset_timeout=0.1)
        await runner.run_one("svc")
        assert runner.status("svc").state == "open"
        probe.behaviour = "ok"
        assert (await runner.run_one("svc")).success is False  # still waiting
        await asyncio.sleep(0.15)
        assert runner.status("svc").trial_in_s == 0.0
        assert (await runner.run_one("svc")).success is True
        assert runner.status("svc").state == "closed"
        trial = runner.history[-1]
        assert (trial.state_before, trial.state_after) == ("half-open", "closed")

    async def test_failed_trial_reopens_the_breaker(self) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=2, reset_timeout=30.0)
        await runner.run_one("svc")
        await runner.run_one("svc")
        runner.expire("svc")
        await runner.run_one("svc")
        status = runner.status("svc")
        assert status.state == "open" and status.trial_in_s is not None
        assert status.trial_in_s > 29.0
        assert (runner.history[-1].state_before, runner.history[-1].state_after) == (
            "half-open", "open",
        )  # fmt: skip

    async def test_half_open_breaker_gets_exactly_one_trial(self) -> None:
        probe = Probe("svc", "sleep", delay=0.1)
        runner = IntegrationRunner(registry_of(probe), reset_timeout=30.0)
        runner.trip("svc")
        runner.expire("svc")
        ones = [runner.run_one("svc") for _ in range(5)]
        results, everything = await asyncio.gather(asyncio.gather(*ones), runner.run_all())
        assert probe.calls == 1
        assert all(r.success for r in results) and everything.sections[0].success
        assert runner.status("svc").state == "closed"


class TestEffectiveState:
    async def test_status_counts_down_to_the_trial_while_pybreaker_still_says_open(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("svc")), reset_timeout=0.2)
        runner.trip("svc")
        first = runner.status("svc")
        assert first.state == "open" and first.opened_at is not None
        assert first.trial_in_s is not None and 0.0 < first.trial_in_s <= 0.2
        assert first.trial_label.startswith("trial in")
        await asyncio.sleep(0.25)
        later = runner.status("svc")
        assert runner.breaker("svc").current_state == "open"
        assert later.trial_in_s == 0.0 and later.trial_label == "trial due"

    async def test_status_reports_failures_against_fail_max(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("svc", "raise")), fail_max=4)
        await runner.run_one("svc")
        status = runner.status("svc")
        assert (status.failures, status.fail_max) == (1, 4)
        assert status.opened_at is None and status.trial_in_s is None
        assert status.last_outcome == "error" and status.last_error == "RuntimeError: svc is down"


class TestControls:
    async def test_trip_opens_and_skips_calls(self) -> None:
        probe = Probe("svc")
        runner = IntegrationRunner(registry_of(probe))
        runner.trip("svc")
        assert (await runner.run_one("svc")).success is False
        assert probe.calls == 0

    async def test_reset_closes_and_clears_failures(self) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=2)
        await runner.run_one("svc")
        await runner.run_one("svc")
        runner.reset("svc")
        assert runner.status("svc").state == "closed" and runner.status("svc").failures == 0
        probe.behaviour = "ok"
        assert (await runner.run_one("svc")).success

    async def test_expire_makes_the_next_call_the_trial(self) -> None:
        probe = Probe("svc")
        runner = IntegrationRunner(registry_of(probe), reset_timeout=3600)
        runner.trip("svc")
        runner.expire("svc")
        assert runner.status("svc").trial_label == "trial due"
        assert (await runner.run_one("svc")).success and probe.calls == 1

    async def test_expire_on_a_closed_breaker_changes_nothing(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("svc")))
        runner.expire("svc")
        assert runner.status("svc").state == "closed"
        assert len(runner.events) == 0

    async def test_isolate_holds_open_without_trial_until_reset(self) -> None:
        probe = Probe("svc")
        runner = IntegrationRunner(registry_of(probe), reset_timeout=0.01)
        runner.isolate("svc")
        await asyncio.sleep(0.05)
        runner.expire("svc")
        result = await runner.run_one("svc")
        assert result.success is False and "isolated" in (result.error or "")
        assert probe.calls == 0
        status = runner.status("svc")
        assert status.state == "isolated" and status.trial_label == "held open"
        runner.reset("svc")
        assert (await runner.run_one("svc")).success and probe.calls == 1
        assert [(e.old_state, e.new_state) for e in runner.events] == [
            ("closed", "isolated"), ("isolated", "closed"),
        ]  # fmt: skip

    async def test_reset_all_closes_every_breaker(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("a"), Probe("b")))
        runner.trip("a")
        runner.isolate("b")
        runner.reset_all()
        assert [s.state for s in runner.statuses()] == ["closed", "closed"]

    def test_unknown_name_is_a_key_error_listing_known_names(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("alpha"), Probe("beta")))
        for action in (runner.trip, runner.reset, runner.expire, runner.isolate, runner.breaker):
            with pytest.raises(KeyError) as info:
                action("gamma")
            assert "'gamma'" in str(info.value)
            assert "'alpha', 'beta'" in str(info.value)
        with pytest.raises(KeyError, match="alpha"):
            runner.run_one_sync("gamma")


class TestEventsAndLogs:
    async def test_state_changes_become_events_in_order(self) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=1, reset_timeout=60)
        await runner.run_one("svc")
        runner.expire("svc")
        probe.behaviour = "ok"
        await runner.run_one("svc")
        assert [(e.name, e.old_state, e.new_state) for e in runner.events] == [
            ("svc", "closed", "open"), ("svc", "open", "half-open"), ("svc", "half-open", "closed"),
        ]  # fmt: skip
        assert all(e.at.tzinfo is not None for e in runner.events)

    async def test_one_warning_when_a_breaker_opens_and_info_when_it_closes(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=2, reset_timeout=60)
        with caplog.at_level(logging.DEBUG, logger="toolkit"):
            for _ in range(4):
                await runner.run_one("svc")
            runner.expire("svc")
            probe.behaviour = "ok"
            await runner.run_one("svc")
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        infos = [r for r in caplog.records if r.levelno == logging.INFO]
        assert len(warnings) == 1 and "opened" in warnings[0].getMessage()
        assert len(infos) == 1 and "closed" in infos[0].getMessage()


class _RaisingListener(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.hooks: list[str] = []

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        self.hooks.append("before_call")
        raise RuntimeError("listener bug")

    def failure(self, cb: Any, exc: BaseException) -> None:
        self.hooks.append("failure")
        raise RuntimeError("listener bug")

    def success(self, cb: Any) -> None:
        self.hooks.append("success")
        raise RuntimeError("listener bug")

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        self.hooks.append(f"state_change:{new_state.name}")
        raise RuntimeError("listener bug")


class TestListeners:
    async def test_listener_that_raises_never_breaks_a_call(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        probe = Probe("svc", "raise")
        runner = IntegrationRunner(registry_of(probe), fail_max=1, reset_timeout=60)
        listener = _RaisingListener()
        runner.breaker("svc").add_listener(listener)
        with caplog.at_level(logging.ERROR, logger="toolkit"):
            failed = await runner.run_one("svc")
            runner.expire("svc")
            probe.behaviour = "ok"
            recovered = await runner.run_one("svc")
        assert failed.error == "RuntimeError: svc is down"
        assert recovered.success is True
        assert runner.status("svc").state == "closed"
        assert "failure" in listener.hooks and "success" in listener.hooks
        assert "state_change:open" in listener.hooks and "state_change:closed" in listener.hooks
        assert runner.breaker("svc").listeners == (listener,)
        assert any("listener" in r.getMessage() for r in caplog.records)

    async def test_listener_sees_typed_failures(self) -> None:
        seen: list[BaseException] = []

        class Recorder(pybreaker.CircuitBreakerListener):
            def failure(self, cb: Any, exc: BaseException) -> None:
                seen.append(exc)

        runner = IntegrationRunner(
            registry_of(Probe("t", "hang"), Probe("f", "fail"), Probe("b", "bad")), timeout=0.05
        )
        for name in runner.names:
            runner.breaker(name).add_listener(Recorder())
        await runner.run_all()
        kinds = sorted(type(e).__name__ for e in seen)
        assert kinds == ["BadResultError", "IntegrationFailure", "IntegrationTimeoutError"]

    async def test_excluded_exceptions_do_not_count(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("svc", "raise")), fail_max=1)
        runner.breaker("svc").add_excluded_exception(RuntimeError)
        result = await runner.run_one("svc")
        assert result.success is False
        assert runner.status("svc").state == "closed" and runner.status("svc").failures == 0

    async def test_manual_trip_during_a_call_is_not_undone_by_its_success(self) -> None:
        probe = Probe("svc", "sleep", delay=0.1)
        runner = IntegrationRunner(registry_of(probe))
        task = asyncio.ensure_future(runner.run_one("svc"))
        await asyncio.sleep(0.02)
        runner.trip("svc")
        assert (await task).success is True
        assert runner.status("svc").state == "open"
