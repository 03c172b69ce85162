"""record_flapping: minutes of a flapping service's history, recorded on simulated time."""

from __future__ import annotations

import time

import toolkit
import toolkit._engine.recorder as recorder_module
import toolkit._engine.runner as runner_module
from toolkit import Policy, frames
from toolkit.demo import FlappingService, SimulatedClock, record_flapping


def test_minutes_of_history_take_a_moment_and_end_now() -> None:
    began = time.perf_counter()
    runner = record_flapping(minutes=3)
    took = time.perf_counter() - began
    calls = frames.calls(runner)
    span = (calls["started_at"].max() - calls["started_at"].min()).total_seconds()
    assert 178.0 <= span <= 182.0  # the last second's calls may end past the three minutes
    assert 2 * 150 < len(calls) <= 2 * 180  # a call a second each, fewer while slow
    assert abs(calls["started_at"].max().timestamp() - time.time()) < took + 2.0
    assert runner_module._now is time.time and runner_module._perf is time.perf_counter
    assert recorder_module._now is time.time  # back on real time
    runner.close()


def test_the_service_follows_its_schedule() -> None:
    runner = record_flapping(minutes=4, policy=Policy(fail_max=1000, timeout=2.0))
    calls = frames.calls(runner)
    flappy = calls[calls["name"] == "flappy"].reset_index(drop=True)
    offset = (flappy["started_at"] - flappy["started_at"].iloc[0]).dt.total_seconds()
    down = (offset % 75.0) >= 55.0
    assert (flappy.loc[down, "outcome"] == "error").all()
    slow = (offset >= 150.0) & (offset < 200.0) & ~down
    assert (flappy.loc[slow, "duration_ms"] == 1500.0).all()
    stray = flappy.loc[~down, "outcome"].eq("error").mean()
    assert 0.02 < stray < 0.2  # seeded stray errors while up
    steady = calls[calls["name"] == "steady"]
    assert (steady["outcome"] == "ok").all()
    runner.close()


def test_replaying_the_policy_it_was_recorded_under_assumes_nothing() -> None:
    policy = Policy(fail_max=2, reset_timeout=10.0, timeout=2.0, half_open_calls=2)
    runner = record_flapping(minutes=2, policy=policy)
    rows = toolkit.replay(runner, policy, per_call=True)
    assert not rows["assumed"].any()
    assert (rows["state_after"] == rows["recorded_state_after"]).all()
    assert (frames.calls(runner)["outcome"] == "circuit_open").any()
    runner.close()


def test_the_clock_moves_only_when_told_in_exact_steps() -> None:
    clock = SimulatedClock(1000.01)
    start = clock.now()
    assert (start * 64).is_integer()
    clock.advance(0.05)
    assert clock.now() - start == 3 / 64  # 0.05 s rounded to the clock's step
    service = FlappingService("x", clock, period=10.0, down_s=2.0)
    assert not service.down(7.9) and service.down(8.0) and not service.down(10.0)
