"""Edge cases of the runner: odd exceptions and results, races with controls, interrupts."""

from __future__ import annotations

import _thread
import asyncio
import logging
import threading
import time
from typing import Any

import numpy as np
import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, IntegrationResult, IntegrationRunner


class Raises(Probe):
    """Raises the exception it was given, after an optional delay."""

    def __init__(self, name: str, exc: BaseException, delay: float = 0.0) -> None:
        super().__init__(name)
        self.exc = exc
        self.delay = delay

    async def fetch(self) -> Any:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        raise self.exc


class Returns(Probe):
    """Returns the value it was given."""

    def __init__(self, name: str, value: Any) -> None:
        super().__init__(name)
        self.value = value

    async def fetch(self) -> Any:
        self.calls += 1
        return self.value


class Custom(BaseException):
    pass


class TestOddExceptions:
    async def test_timeout_error_raised_by_fetch_itself_is_a_timeout_with_its_own_message(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        runner = IntegrationRunner(
            registry_of(Raises("x", TimeoutError("read timed out"), 0.01)), timeout=5
        )
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            result = await runner.run_one("x")
        assert time.perf_counter() - started < 2.0  # not held to timeout + grace
        assert result.error == "TimeoutError: read timed out"
        assert runner.history[-1].outcome == "timeout"
        assert not [r for r in caplog.records if "abandoned" in r.getMessage()]

    @pytest.mark.parametrize("exc", [Custom("odd"), GeneratorExit()])
    async def test_base_exceptions_from_fetch_are_errors(self, exc: BaseException) -> None:
        runner = IntegrationRunner(registry_of(Raises("x", exc), Probe("ok")), timeout=5)
        started = time.perf_counter()
        results = await runner.run_all()
        assert time.perf_counter() - started < 2.0
        assert results.sections[0].success is False
        assert (results.sections[0].error_message or "").startswith(type(exc).__name__)
        assert results.sections[1].success is True
        assert runner.breaker("x").fail_counter == 1

    def test_keyboard_interrupt_from_fetch_propagates_and_leaves_nothing_in_flight(self) -> None:
        probe = Raises("x", KeyboardInterrupt())
        runner = IntegrationRunner(registry_of(probe))
        with pytest.raises(KeyboardInterrupt):
            runner.run_one_sync("x")
        assert not runner.in_flight("x")
        assert [r.outcome for r in runner.history] == ["error"]
        probe.exc = RuntimeError("down")
        assert runner.run_one_sync("x").error == "RuntimeError: down"
        assert probe.calls == 2
        runner.close()

    async def test_timeout_turned_into_another_exception_is_still_a_timeout(self) -> None:
        class Converts(Probe):
            async def fetch(self) -> Any:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    raise ValueError("connection reset") from None
                return None

        runner = IntegrationRunner(registry_of(Converts("x")), timeout=0.05)
        result = await runner.run_one("x")
        assert result.error == "timed out after 0.05s"
        assert runner.history[-1].outcome == "timeout"


class TestOddResults:
    @pytest.mark.parametrize(
        "success", [np.array([1, 2]), type("Bad", (), {"__bool__": lambda self: 1 / 0})()]
    )
    async def test_result_with_unreadable_success_is_a_bad_result(self, success: Any) -> None:
        runner = IntegrationRunner(
            registry_of(Returns("x", IntegrationResult("x", success)), Probe("ok")), timeout=5
        )
        started = time.perf_counter()
        results = await runner.run_all()
        assert time.perf_counter() - started < 2.0
        assert "unusable IntegrationResult" in (results.sections[0].error_message or "")
        assert results.sections[1].success is True

    async def test_truthy_success_is_stored_as_a_bool(self) -> None:
        runner = IntegrationRunner(registry_of(Returns("x", IntegrationResult("x", "yes", 1))))  # type: ignore[arg-type]
        result = await runner.run_one("x")
        assert result.success is True and result.data == 1

    async def test_returned_coroutine_is_closed_and_reported(self) -> None:
        async def forgotten() -> IntegrationResult:
            return IntegrationResult("x", True)

        runner = IntegrationRunner(registry_of(Returns("x", forgotten())))
        result = await runner.run_one("x")
        assert result.error == "fetch returned a coroutine; is an 'await' missing?"

    async def test_secrets_that_raise_do_not_lose_the_record(self) -> None:
        class Secretive(Probe):
            @property
            def secrets(self) -> list[str]:
                raise RuntimeError("vault sealed")

        runner = IntegrationRunner(registry_of(Secretive("x", "raise")), timeout=5)
        started = time.perf_counter()
        result = await runner.run_one("x")
        assert time.perf_counter() - started < 2.0
        assert result.error == "RuntimeError: x is down"
        assert [r.outcome for r in runner.history] == ["error"]


class TestControlsDuringACall:
    async def test_trip_during_a_call_is_not_undone_after_the_wait_passed(self) -> None:
        probe = Probe("x", "sleep", delay=0.2)
        runner = IntegrationRunner(registry_of(probe), reset_timeout=0.05)
        task = asyncio.ensure_future(runner.run_one("x"))
        await asyncio.sleep(0.02)
        runner.trip("x")
        assert (await task).success
        assert runner.status("x").state == "open"
        assert runner.breaker("x").current_state == "open"

    async def test_isolate_during_a_call_stays_isolated(self) -> None:
        probe = Probe("x", "sleep", delay=0.2)
        runner = IntegrationRunner(registry_of(probe), reset_timeout=0.05)
        task = asyncio.ensure_future(runner.run_one("x"))
        await asyncio.sleep(0.02)
        runner.isolate("x")
        await task
        assert runner.status("x").state == "isolated"
        assert runner.breaker("x").current_state == "open"

    def test_trip_leaves_an_isolated_breaker_isolated(self) -> None:
        runner = IntegrationRunner(registry_of(Probe("x")))
        runner.isolate("x")
        runner.trip("x")
        runner.expire("x")
        assert runner.status("x").state == "isolated"
        runner.reset("x")
        assert runner.status("x").state == "closed"


class TestInterrupts:
    def test_ctrl_c_during_a_sync_run_leaves_no_stale_call_behind(self) -> None:
        probe = Probe("x", "sleep", delay=0.3)
        runner = IntegrationRunner(registry_of(probe), timeout=1.0)
        timer = threading.Timer(0.05, _thread.interrupt_main)
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            runner.run_all_sync()
        timer.join()
        assert not runner.in_flight("x")
        time.sleep(1.0)  # longer than the interrupted call's timeout
        assert runner.run_all_sync().sections[0].success
        assert [r.outcome for r in runner.history] == ["ok"]
        assert runner.breaker("x").fail_counter == 0
        runner.close()

    async def test_zero_grace_still_reports_a_plain_timeout(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        runner = IntegrationRunner(registry_of(Probe("x", "hang")), timeout=0.05, grace=0)
        with caplog.at_level(logging.WARNING, logger="toolkit"):
            result = await runner.run_one("x")
        assert result.error == "timed out after 0.05s"
        assert not [r for r in caplog.records if "abandoned" in r.getMessage()]


class TestRefusedConfiguration:
    def test_policy_for_an_unknown_name_is_refused_listing_the_known_ones(self) -> None:
        registry = registry_of(Probe("weather"), Probe("geo", configured=False))
        with pytest.raises(KeyError) as info:
            IntegrationRunner(registry, policies={"wether": {"timeout": 0.1}})
        assert "'wether'" in str(info.value) and "'geo', 'weather'" in str(info.value)
        runner = IntegrationRunner(registry, policies={"geo": {"timeout": 0.1}})
        assert runner.names == ["weather"]

    def test_absurdly_long_waits_are_refused(self) -> None:
        with pytest.raises(
            ConfigError, match=r"at most 1e\+09 seconds, got 1000+\.0; to hold a breaker open"
        ):
            IntegrationRunner(registry_of(Probe("x")), reset_timeout=1e14)


class TestNoisyObservers:
    async def test_a_failing_observer_logs_one_traceback_not_one_per_call(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        runner = IntegrationRunner(registry_of(Probe("x")))

        def broken(record: object) -> None:
            raise ValueError("observer bug")

        runner.add_observer(broken)
        with caplog.at_level(logging.DEBUG, logger="toolkit"):
            for _ in range(5):
                await runner.run_one("x")
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and errors[0].exc_info is not None
        assert len(runner.history) == 5


class TestDeclaredSecrets:
    async def test_declared_secrets_are_masked_in_returned_data(self) -> None:
        class Leaky(Probe):
            def secrets(self) -> list[str]:
                return ["hunter22"]

        data = {"password": "hunter22", "url": "https://u:hunter22@h/?q=hunter22", "n": 1}
        runner = IntegrationRunner(registry_of(Leaky("x", data=data)))
        result = await runner.run_one("x")
        assert result.success and "hunter22" not in repr(result.data)
        assert result.data["n"] == 1
        assert data["password"] == "hunter22"  # the integration's own object is untouched
