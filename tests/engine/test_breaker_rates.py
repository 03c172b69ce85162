"""Rate-based breakers, edge cases by name: min_calls clamping, a time window that
empties, the backoff cap, several half-open trials, slow calls, what is not recorded."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator

import pytest
from probes import Probe, registry_of
from sim_clock import TICK, Scripted, SimClock, simulated

from toolkit import ConfigError, IntegrationRunner
from toolkit._engine import breaker as _breaker
from toolkit._engine.window import Window

_OPEN: list[IntegrationRunner] = []


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimClock]:
    with simulated(monkeypatch, SimClock()) as clock:
        yield clock
    while _OPEN:
        _OPEN.pop().close()


def runner_for(clock: SimClock, **policy: object) -> tuple[IntegrationRunner, Scripted]:
    """A runner of one scripted integration under ``policy``, closed after the test."""
    svc = Scripted("svc", clock)
    runner = IntegrationRunner(registry_of(svc), policies={"svc": policy})
    _OPEN.append(runner)
    return runner, svc


def window(runner: IntegrationRunner) -> Window:
    """The window of the breaker of ``svc``."""
    cb = runner.breaker("svc")
    assert isinstance(cb, _breaker.SafeBreaker) and cb.window is not None
    return cb.window


def call(runner: IntegrationRunner, svc: Scripted, outcome: str, duration: float = TICK) -> str:
    """One call ending ``outcome``; returns the breaker's state after it."""
    svc.outcome, svc.duration = outcome, duration
    runner.run_one_sync("svc")
    return runner.history[-1].state_after


def test_min_calls_is_clamped_to_a_count_window(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window=3, min_calls=10, failure_rate=1.0)
    assert [call(runner, svc, "error") for _ in range(3)] == ["closed", "closed", "open"]


def test_min_calls_is_not_clamped_for_a_time_window(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window_s=60.0, min_calls=10, failure_rate=0.5)
    states = [call(runner, svc, "error") for _ in range(10)]
    assert states == ["closed"] * 9 + ["open"]


def test_a_time_window_that_empties_gives_no_verdict_until_it_fills_again(
    clock: SimClock,
) -> None:
    runner, svc = runner_for(clock, window_s=10.0, min_calls=3, failure_rate=0.5)
    call(runner, svc, "error")
    call(runner, svc, "error")
    assert math.isnan(_breaker.window_rates(runner.breaker("svc"), clock.now())[0])  # 2 < 3
    clock.advance(10.0)  # both failures age out
    assert call(runner, svc, "error") == "closed"  # one call held: below min_calls
    assert window(runner).counts(clock.now()) == (1, 1, 0)
    assert call(runner, svc, "ok") == "closed"
    assert call(runner, svc, "error") == "open"  # 2 failures of 3


def test_window_rates_are_nan_below_min_calls_then_exact(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window=4, min_calls=2, slow_after=1.0, failure_rate=1.0)
    call(runner, svc, "ok", 2.0)
    assert all(math.isnan(r) for r in _breaker.window_rates(runner.breaker("svc"), clock.now()))
    call(runner, svc, "error")
    assert _breaker.window_rates(runner.breaker("svc"), clock.now()) == (0.5, 0.5)


def test_backoff_lengthens_each_opening_in_a_row_up_to_the_cap(clock: SimClock) -> None:
    runner, svc = runner_for(
        clock, fail_max=1, reset_timeout=10.0, backoff=2.0, max_reset_timeout=25.0
    )
    cb = runner.breaker("svc")
    assert isinstance(cb, _breaker.SafeBreaker)
    waits = []
    assert call(runner, svc, "error") == "open"
    for _ in range(3):
        waits.append(cb.reset_timeout)
        clock.advance(cb.reset_timeout - TICK)
        assert runner.run_one_sync("svc").success is False and svc.calls == len(waits)
        clock.advance(TICK)
        assert call(runner, svc, "error") == "open"  # the trial failed: one more in a row
    waits.append(cb.reset_timeout)
    assert waits == [10.0, 20.0, 25.0, 25.0]
    clock.advance(25.0)
    assert call(runner, svc, "ok") == "closed"
    assert cb.reset_timeout == 10.0 and cb.openings == 0
    assert call(runner, svc, "error") == "open" and cb.reset_timeout == 10.0


def test_half_open_with_three_permits_and_one_failure_closes_at_failure_rate_half(
    clock: SimClock,
) -> None:
    runner, svc = runner_for(clock, fail_max=1, half_open_calls=3, failure_rate=0.5)
    call(runner, svc, "error")
    clock.advance(60.0)
    assert call(runner, svc, "ok") == "half-open"
    assert call(runner, svc, "error") == "half-open"  # 1 of 2 failed, but a permit is owed
    assert call(runner, svc, "ok") == "closed"  # 1 of 3 < 0.5
    assert [r.state_before for r in runner.history[-3:]] == ["half-open"] * 3
    assert svc.calls == 4


def test_half_open_with_three_permits_and_two_failures_reopens(clock: SimClock) -> None:
    runner, svc = runner_for(clock, fail_max=1, half_open_calls=3, failure_rate=0.5)
    call(runner, svc, "error")
    clock.advance(60.0)
    assert [call(runner, svc, o) for o in ("error", "ok", "timeout")] == [
        "half-open", "half-open", "open",
    ]  # fmt: skip
    assert runner.run_one_sync("svc").success is False and svc.calls == 4  # waiting again


def test_slow_calls_open_at_the_slow_rate_whatever_their_outcome(clock: SimClock) -> None:
    runner, svc = runner_for(
        clock, window=4, min_calls=4, slow_after=1.0, slow_rate=0.75, failure_rate=1.0
    )
    states = [call(runner, svc, o, d) for o, d in [("ok", 2.0), ("error", 2.0), ("ok", TICK)]]
    assert states == ["closed"] * 3
    assert call(runner, svc, "ok", 1.5) == "open"  # 3 of 4 slow


def test_slow_rate_is_inactive_without_slow_after(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window=2, min_calls=1, slow_rate=0.1)
    assert [call(runner, svc, "ok", 4.0) for _ in range(3)] == ["closed"] * 3


def test_refusals_of_an_open_breaker_are_not_recorded_in_the_window(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window=10, min_calls=2, failure_rate=0.5)
    call(runner, svc, "error")
    assert call(runner, svc, "error") == "open"
    assert window(runner).counts(clock.now()) == (0, 0, 0)  # opening clears
    for _ in range(3):
        runner.run_one_sync("svc")
    assert runner.history[-1].outcome == "circuit_open"
    assert window(runner).counts(clock.now()) == (0, 0, 0)


def test_a_cancelled_call_is_not_recorded_in_the_window() -> None:
    probe = Probe("svc", "hang")
    runner = IntegrationRunner(registry_of(probe), policies={"svc": {"window": 5}})

    async def cancel_one() -> None:
        task = asyncio.ensure_future(runner.run_one("svc"))
        while probe.calls == 0:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(cancel_one())
    finally:
        loop.close()
    assert probe.calls == 1
    assert window(runner).counts(1e12) == (0, 0, 0) and len(runner.history) == 0
    runner.close()


def test_set_policy_moves_a_breaker_to_a_rate_window_live(clock: SimClock) -> None:
    runner, svc = runner_for(clock, fail_max=2)
    call(runner, svc, "error")
    runner.set_policy("svc", window=4, min_calls=4, failure_rate=0.75)
    assert runner.breaker("svc").fail_max > 10**9  # pybreaker's own count no longer decides
    states = [call(runner, svc, o) for o in ("error", "error", "ok", "error")]
    assert states == ["closed", "closed", "closed", "open"]
    assert runner.status("svc").fail_max == 2


def test_closing_clears_the_window(clock: SimClock) -> None:
    runner, svc = runner_for(clock, window=4, min_calls=2, failure_rate=0.5, reset_timeout=5.0)
    call(runner, svc, "error")
    call(runner, svc, "error")
    clock.advance(5.0)
    assert call(runner, svc, "ok") == "closed"
    assert window(runner).counts(clock.now()) == (0, 0, 0)
    assert call(runner, svc, "error") == "closed"  # one call: below min_calls


def test_status_shows_the_window_rates() -> None:
    probe = Probe("svc", "raise")
    runner = IntegrationRunner(
        registry_of(probe), policies={"svc": {"window": 4, "min_calls": 3}}, slow_after=5.0
    )
    runner.run_one_sync("svc")
    probe.behaviour = "ok"
    runner.run_one_sync("svc")
    status = runner.status("svc")
    assert math.isnan(status.window_failure_rate) and math.isnan(status.window_slow_rate)
    runner.run_one_sync("svc")
    status = runner.status("svc")
    assert status.window_failure_rate == pytest.approx(1 / 3) and status.window_slow_rate == 0.0
    plain = IntegrationRunner(registry_of(Probe("other")))
    assert math.isnan(plain.status("other").window_failure_rate)
    runner.close()
    plain.close()


def test_shared_window_needs_a_storage_that_shares_windows() -> None:
    with pytest.raises(ConfigError, match="shared_window=True for 'svc' needs a storage"):
        IntegrationRunner(
            registry_of(Probe("svc")), policies={"svc": {"window_s": 30.0, "shared_window": True}}
        )
    runner = IntegrationRunner(registry_of(Probe("svc")))
    with pytest.raises(ConfigError, match="RedisStorage"):
        runner.set_policy("svc", window_s=30.0, shared_window=True)
    with pytest.raises(ConfigError, match="RedisStorage"):
        runner.set_policy(window_s=30.0, shared_window=True)
    assert runner.policy("svc").window_s is None and runner.default_policy.window_s is None
    runner.close()
