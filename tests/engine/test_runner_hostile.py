"""IntegrationRunner against odd integrations and callers: abandoned calls, threads, bad names."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from probes import Probe, registry_of

from toolkit import IntegrationResult, IntegrationRunner


class Deaf:
    """An integration that ignores every cancellation until ``release`` is set."""

    def __init__(self, name: str = "deaf") -> None:
        self.name = name
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.release = asyncio.Event()

    def is_configured(self) -> bool:
        return True

    def validate_config(self) -> None:
        return None

    async def fetch(self) -> IntegrationResult:
        self.calls += 1
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            while not self.release.is_set():
                try:
                    await self.release.wait()
                except asyncio.CancelledError:
                    continue
            return IntegrationResult(self.name, True, {"late": True})
        finally:
            self.active -= 1


class TestAbandonedCalls:
    async def test_a_call_that_ignores_cancellation_is_never_joined_by_a_second_fetch(
        self,
    ) -> None:
        deaf = Deaf()
        runner = IntegrationRunner(
            registry_of(deaf, Probe("ok")), timeout=0.02, grace=0.01, fail_max=3,
            reset_timeout=0.05,
        )  # fmt: skip
        for _ in range(50):
            results = await runner.run_all()
            assert results.get_section("ok").success  # type: ignore[union-attr]
        assert deaf.calls == 1 and deaf.max_active == 1
        outcomes = [r.outcome for r in runner.history if r.name == "deaf"]
        # the abandoned call, then two answered without fetch: fail_max reached, open
        assert outcomes[:3] == ["timeout", "timeout", "timeout"]
        assert set(outcomes[3:]) <= {"circuit_open", "timeout"} and "circuit_open" in outcomes
        errors = [r.error for r in runner.history if r.name == "deaf"]
        assert "abandoned" in str(errors[0])
        assert "not called: its call abandoned in run 1" in str(errors[1])
        assert runner.breaker("deaf").current_state == "open"
        deaf.release.set()  # let it end, or the test's loop could never close
        await asyncio.sleep(0.01)
        await runner.aclose()

    async def test_once_the_abandoned_call_ends_the_next_trial_calls_fetch_again(self) -> None:
        deaf = Deaf()
        runner = IntegrationRunner(
            registry_of(deaf), timeout=0.02, grace=0.01, fail_max=1, reset_timeout=30
        )
        await runner.run_all()  # abandoned; the breaker opens (fail_max 1)
        runner.expire("deaf")
        trial = await runner.run_one("deaf")  # the trial is due, but the call still runs
        assert not trial.success and "not called" in str(trial.error)
        assert deaf.calls == 1 and runner.breaker("deaf").current_state == "open"
        deaf.release.set()
        await asyncio.sleep(0.01)  # the abandoned call returns (its late success is ignored)
        runner.expire("deaf")
        assert (await runner.run_one("deaf")).success
        assert deaf.calls == 2 and runner.breaker("deaf").current_state == "closed"
        await runner.aclose()


class TestThreads:
    def test_run_all_sync_from_several_threads_gives_each_a_whole_run(self) -> None:
        probes = [Probe(f"p{i}", "sleep", delay=0.05) for i in range(3)]
        runner = IntegrationRunner(registry_of(*probes), timeout=2)
        results: list[Any] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                results.append(runner.run_all_sync())
            except BaseException as exc:  # recorded, asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        runner.close()
        assert errors == []
        assert len(results) == 6
        assert all(s.success for r in results for s in r.sections)
        assert all(p.max_active == 1 for p in probes)  # one call per integration at a time
        assert len(runner.history) == 18  # every thread's run made its own calls

    async def test_a_run_from_another_event_loop_while_one_runs_is_refused(self) -> None:
        from toolkit._engine.errors import ConcurrentRunError

        slow = Probe("slow", "sleep", delay=0.3)
        runner = IntegrationRunner(registry_of(slow), timeout=2)
        caught: list[BaseException] = []

        def other_loop() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(runner.run_all())
            except BaseException as exc:  # recorded, asserted below
                caught.append(exc)
            finally:
                loop.close()

        first = asyncio.ensure_future(runner.run_all())
        await asyncio.sleep(0.05)
        thread = threading.Thread(target=other_loop)
        thread.start()
        await asyncio.to_thread(thread.join, 10)
        assert (await first).sections[0].success
        assert len(caught) == 1 and isinstance(caught[0], ConcurrentRunError)
        assert "another event loop" in str(caught[0])
        assert slow.calls == 1
        await runner.aclose()


class RaisingName:
    """Registered with a good name; reading it (or display_name) raises afterwards."""

    def __init__(self, broken: str) -> None:
        self._broken = broken
        self._reads = 0
        self.ready = False

    @property
    def name(self) -> str:
        if self._broken == "name" and self.ready:
            raise RuntimeError("name broke")
        return "odd"

    @property
    def display_name(self) -> str:
        if self._broken == "display_name" and self.ready:
            raise RuntimeError("display_name broke")
        return "Odd"

    def is_configured(self) -> bool:
        return True

    def validate_config(self) -> None:
        return None

    async def fetch(self) -> IntegrationResult:
        return IntegrationResult("odd", True)


@pytest.mark.parametrize("broken", ["name", "display_name"])
def test_an_integration_whose_name_raises_is_skipped_with_one_warning(
    broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    odd = RaisingName(broken)
    registry = registry_of(odd, Probe("fine"))
    odd.ready = True
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        runner = IntegrationRunner(registry)
    try:
        assert runner.names == ["fine"]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "skipped" in warnings[0] and f"{broken} broke" in warnings[0]
        assert runner.run_all_sync().get_section("fine").success  # type: ignore[union-attr]
    finally:
        runner.close()
