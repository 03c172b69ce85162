"""IntegrationRunner: parallel runs, isolation, timeouts, single flight, cancellation."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from probes import NeedsSettings, Probe, registry_of

from toolkit import (
    IntegrationRegistry,
    IntegrationResult,
    IntegrationResults,
    IntegrationRunner,
)
from toolkit._engine.recorder import CallFields


class TestIntegrationRunner:
    async def test_runner_empty_when_no_integrations(self) -> None:
        runner = IntegrationRunner(IntegrationRegistry())
        results = await runner.run_all()
        assert isinstance(results, IntegrationResults)
        assert results.sections == [] and results.has_data is False
        assert len(runner.history) == 0

    async def test_runner_isolates_failures(self) -> None:
        good, bad = Probe("good", data={"n": 1}), Probe("bad", "raise", delay=0.01)
        runner = IntegrationRunner(registry_of(bad, good))
        results = await runner.run_all()
        assert results.get_section("good") == results.sections[1]
        assert results.sections[1].success is True and results.sections[1].data == {"n": 1}
        assert results.sections[0].success is False
        assert runner.breaker("good").fail_counter == 0
        assert runner.breaker("bad").fail_counter == 1

    async def test_runner_returns_all_results(self) -> None:
        probes = [Probe(f"p{i}", data={"i": i}) for i in range(5)]
        results = await IntegrationRunner(registry_of(*probes)).run_all()
        assert [s.name for s in results.sections] == [f"p{i}" for i in range(5)]
        assert [s.data for s in results.sections] == [{"i": i} for i in range(5)]

    async def test_runner_converts_to_sections(self) -> None:
        registry = registry_of(Probe("plain"), Probe("fancy", display_name="Fancy API"))
        registry.register(NeedsSettings)
        runner = IntegrationRunner(registry, {"URL": "u", "TOKEN": "t"})
        results = await runner.run_all()
        assert [(s.name, s.display_name) for s in results.sections] == [
            ("plain", "plain"), ("fancy", "Fancy API"), ("needs_settings", "Needs Settings"),
        ]  # fmt: skip
        assert results.has_data

    async def test_runner_sets_error_message_on_failure(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("bad", "raise")))
        section = (await runner.run_all()).sections[0]
        assert section.success is False
        assert section.error_message == "RuntimeError: bad is down"
        assert runner.history[-1].error == "RuntimeError: bad is down"

    async def test_runner_runs_integrations_in_parallel(self) -> None:
        probes = [Probe(f"p{i}", "sleep", delay=0.2) for i in range(10)]
        runner = IntegrationRunner(registry_of(*probes))
        started = time.perf_counter()
        await runner.run_all()
        assert time.perf_counter() - started < 1.0  # serial would take 2 s
        assert all(r.outcome == "ok" for r in runner.history)

    async def test_unconfigured_integrations_are_skipped_silently(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        registry = registry_of(Probe("on"), Probe("off", configured=False))
        with caplog.at_level(logging.DEBUG, logger="toolkit"):
            runner = IntegrationRunner(registry)
            results = await runner.run_all()
        assert [s.name for s in results.sections] == ["on"]
        assert runner.names == ["on"]
        assert not [r for r in caplog.records if r.levelno >= logging.INFO]


class TestIntegrationRunnerTimeout:
    async def test_runner_timeout_returns_failure(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("slow", "hang"), Probe("ok")), timeout=0.05)
        results = await runner.run_all()
        slow = results.get_section("slow")
        assert slow is not None and slow.success is False
        assert slow.error_message == "timed out after 0.05s"
        assert results.get_section("ok").success is True  # type: ignore[union-attr]
        assert [r.outcome for r in runner.history if r.name == "slow"] == ["timeout"]
        assert runner.breaker("slow").fail_counter == 1

    async def test_integration_ignoring_cancellation_is_abandoned_after_grace(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        stubborn = Probe("stubborn", "stubborn", delay=1.0)
        runner = IntegrationRunner(registry_of(stubborn, Probe("ok")), timeout=0.05, grace=0.05)
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            results = await runner.run_all()
        elapsed = time.perf_counter() - started
        assert elapsed < 0.6  # the stubborn call itself lasts 1 s
        section = results.get_section("stubborn")
        assert section is not None and "abandoned" in (section.error_message or "")
        assert [r.outcome for r in runner.history if r.name == "stubborn"] == ["timeout"]
        assert runner.breaker("stubborn").fail_counter == 1
        assert not runner.in_flight("stubborn")
        assert any("ignored cancellation" in r.getMessage() for r in caplog.records)

    async def test_abandoned_call_finishing_late_is_not_counted_twice(self) -> None:
        stubborn = Probe("stubborn", "stubborn", delay=0.3)
        runner = IntegrationRunner(registry_of(stubborn), timeout=0.05, grace=0.05)
        await runner.run_all()
        await asyncio.sleep(0.4)  # the abandoned call now returns a success
        assert stubborn.active == 0
        assert [r.outcome for r in runner.history] == ["timeout"]
        assert runner.breaker("stubborn").fail_counter == 1

    async def test_result_returned_after_swallowed_timeout_counts_as_timeout(self) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("late", "stubborn", delay=0.1)), timeout=0.05, grace=1.0
        )
        result = await runner.run_one("late")
        assert result.success is False
        assert runner.history[-1].outcome == "timeout"


class TestFailureKinds:
    @pytest.mark.parametrize(
        ("behaviour", "message"),
        [
            ("raise", "RuntimeError: x is down"),
            ("fail", "upstream said no"),
            ("bad", "fetch returned dict instead of an IntegrationResult"),
            ("hang", "timed out after 0.05s"),
        ],
    )
    async def test_each_kind_of_failure_counts_against_its_own_breaker_only(
        self, behaviour: str, message: str
    ) -> None:
        runner = IntegrationRunner(
            registry_of(Probe("x", behaviour), Probe("y")), timeout=0.05, fail_max=2
        )
        for _ in range(2):
            result = await runner.run_one("x")
            assert result.success is False and result.error == message
            await runner.run_one("y")
        assert runner.status("x").state == "open"
        assert runner.status("y").state == "closed" and runner.breaker("y").fail_counter == 0

    async def test_failure_raised_after_an_await_is_counted(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("late", "raise", delay=0.02)), fail_max=2)
        await runner.run_one("late")
        assert runner.breaker("late").fail_counter == 1
        await runner.run_one("late")
        assert runner.breaker("late").current_state == "open"

    async def test_no_thread_lock_is_held_while_fetch_awaits(self) -> None:
        probe = Probe("slow", "sleep", delay=0.3)
        runner = IntegrationRunner(registry_of(probe))
        task = asyncio.ensure_future(runner.run_one("slow"))
        await asyncio.sleep(0.05)
        assert probe.active == 1
        acquired: list[bool] = []

        def other_thread() -> None:
            lock = runner.breaker("slow")._lock
            got = lock.acquire(timeout=1.0)
            acquired.append(got)
            if got:
                lock.release()

        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.to_thread(thread.join)
        assert acquired == [True]
        assert (await task).success

    async def test_result_with_another_name_is_filed_under_the_integration(self) -> None:
        class Misnamed(Probe):
            async def fetch(self) -> IntegrationResult:
                return IntegrationResult("something-else", True, {"v": 1})

        results = await IntegrationRunner(registry_of(Misnamed("real"))).run_all()
        assert results.sections[0].name == "real" and results.sections[0].success

    async def test_exception_with_unreadable_text_does_not_break_the_run(self) -> None:
        class Unprintable(Exception):
            def __str__(self) -> str:
                raise RuntimeError("no text")

        class Raises(Probe):
            async def fetch(self) -> IntegrationResult:
                raise Unprintable()

        results = await IntegrationRunner(registry_of(Raises("odd"), Probe("ok"))).run_all()
        assert results.sections[0].success is False
        assert "Unprintable" in (results.sections[0].error_message or "")
        assert results.sections[1].success is True


class TestSingleFlight:
    async def test_concurrent_reruns_share_one_fetch(self) -> None:
        probe = Probe("p", "sleep", delay=0.1)
        runner = IntegrationRunner(registry_of(probe))
        first, second, third = await asyncio.gather(
            runner.run_one("p"), runner.run_one("p"), runner.run_all()
        )
        assert probe.calls == 1 and probe.max_active == 1
        assert first is second
        assert third.sections[0].data == first.data
        assert len(runner.history) == 1

    async def test_failing_service_gets_one_call_per_rerun_burst(self) -> None:
        probe = Probe("p", "raise", delay=0.05)
        runner = IntegrationRunner(registry_of(probe), fail_max=5)
        await asyncio.gather(*(runner.run_one("p") for _ in range(10)))
        assert probe.calls == 1
        assert runner.breaker("p").fail_counter == 1

    async def test_next_call_after_flight_lands_runs_again(self) -> None:
        probe = Probe("p", "sleep", delay=0.01)
        runner = IntegrationRunner(registry_of(probe))
        await runner.run_one("p")
        await runner.run_one("p")
        assert probe.calls == 2


class TestCancellation:
    async def test_cancelling_a_run_counts_against_no_breaker(self) -> None:
        hanging = Probe("hanging", "hang")
        runner = IntegrationRunner(registry_of(hanging, Probe("fast")), timeout=5.0)
        task = asyncio.ensure_future(runner.run_all())
        await asyncio.sleep(0.05)
        assert runner.in_flight("hanging")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)
        assert hanging.active == 0  # its fetch was cancelled too
        assert not runner.in_flight("hanging")
        assert runner.breaker("hanging").fail_counter == 0
        assert [r.name for r in runner.history] == ["fast"]

    async def test_cancelled_waiter_leaves_shared_call_running_for_others(self) -> None:
        probe = Probe("p", "sleep", delay=0.2)
        runner = IntegrationRunner(registry_of(probe))
        first = asyncio.ensure_future(runner.run_one("p"))
        second = asyncio.ensure_future(runner.run_one("p"))
        await asyncio.sleep(0.05)
        first.cancel()
        result = await second
        assert result.success and probe.calls == 1
        assert [r.outcome for r in runner.history] == ["ok"]

    async def test_cancelled_trial_leaves_breaker_half_open_for_the_next_call(self) -> None:
        probe = Probe("p", "hang")
        runner = IntegrationRunner(registry_of(probe), timeout=5.0, reset_timeout=60.0)
        runner.trip("p")
        runner.expire("p")
        task = asyncio.ensure_future(runner.run_one("p"))
        await asyncio.sleep(0.02)
        assert runner.status("p").state == "half-open"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        probe.behaviour = "ok"
        assert (await runner.run_one("p")).success
        assert runner.status("p").state == "closed"


class TestRunnersAreIndependent:
    async def test_two_runners_never_share_breakers(self) -> None:
        probe = Probe("shared", "raise")
        registry = registry_of(probe)
        first, second = IntegrationRunner(registry, fail_max=1), IntegrationRunner(registry)
        await first.run_all()
        assert first.status("shared").state == "open"
        assert second.status("shared").state == "closed"
        assert first.breaker("shared") is not second.breaker("shared")


class TestObservers:
    async def test_a_record_sink_gets_each_call_as_the_fields_of_its_record(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        fields: list[CallFields] = []
        runner = IntegrationRunner(registry_of(Probe("a"), Probe("b", "raise")))
        runner.add_record_sink(fields.append)

        def broken(fields: object) -> None:
            raise ValueError("sink bug")

        runner.add_record_sink(broken)
        with caplog.at_level(logging.ERROR, logger="toolkit"):
            await runner.run_all()
        by_name = {f[1]: f for f in fields}
        for record in runner.history:  # the same values, started_at in epoch seconds
            got = by_name[record.name]
            assert got[2] == pytest.approx(record.started_at.timestamp(), abs=1e-6)
            assert got[:2] + got[3:] == (
                record.run_id, record.name, record.duration_s, record.outcome, record.error,
                record.state_before, record.state_after, record.fault, record.slow,
            )  # fmt: skip
        assert sorted(by_name) == ["a", "b"] and by_name["b"][4] == "error"
        assert any("broken" in r.getMessage() for r in caplog.records)  # logged, not raised
        runner.remove_record_sink(fields.append)
        await runner.run_all()
        assert len(fields) == 2

    async def test_observer_sees_every_call_and_cannot_break_one(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        seen: list[str] = []
        runner = IntegrationRunner(registry_of(Probe("a"), Probe("b", "raise")))
        runner.add_observer(lambda record: seen.append(f"{record.name}:{record.outcome}"))

        def broken(record: object) -> None:
            raise ValueError("observer bug")

        runner.add_observer(broken)
        with caplog.at_level(logging.ERROR, logger="toolkit"):
            results = await runner.run_all()
        assert [s.success for s in results.sections] == [True, False]
        assert sorted(seen) == ["a:ok", "b:error"]
        assert any("observer" in r.getMessage() for r in caplog.records)
