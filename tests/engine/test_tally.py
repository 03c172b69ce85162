"""CallTally: running totals per integration and outcome, fed by the runner as calls settle."""

from __future__ import annotations

import math

import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Fault, IntegrationRunner
from toolkit._engine.tally import CallTally


def test_counts_sums_and_buckets_by_outcome() -> None:
    tally = CallTally((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        tally.add("svc", "ok", seconds)
    tally.add("svc", "error", 0.2)
    (ok_outcome, ok), (err_outcome, err) = tally.totals("svc")
    assert (ok_outcome, err_outcome) == ("ok", "error")
    assert ok.count == 4 and ok.sum_s == pytest.approx(3.65)
    assert ok.cumulative() == [2, 3, 4]  # <= 0.1 (a bound is inclusive), <= 1.0, +Inf
    assert err.cumulative() == [0, 1, 1]
    assert tally.count("svc", "timeout") == 0


def test_a_bad_duration_counts_as_zero_seconds() -> None:
    tally = CallTally((0.1,))
    for bad in (math.nan, -1.0, math.inf):
        tally.add("svc", "ok", bad)
    ((_, ok),) = tally.totals("svc")
    assert ok.count == 3 and ok.sum_s == 0.0 and ok.cumulative() == [3, 3]


def test_recent_max_covers_this_window_and_the_last() -> None:
    clock = [0.0]
    tally = CallTally((1.0,), max_window_s=60.0)
    tally._clock = lambda: clock[0]
    tally.add("svc", "ok", 2.0)
    tally.rotate()
    clock[0] = 61.0
    tally.add("svc", "ok", 0.5)
    tally.rotate()
    ((_, ok),) = tally.totals("svc")
    assert ok.recent_max == 2.0  # the previous window still counts
    clock[0] = 121.0
    tally.rotate()
    assert ok.recent_max == 0.5
    clock[0] = 300.0
    tally.rotate()
    assert ok.recent_max == 0.0


def test_calls_wait_in_a_queue_until_read_or_until_it_is_long() -> None:
    tally = CallTally()
    tally.add("svc", "ok", 0.1)
    assert len(tally._pending) == 1  # nothing counted on the call path
    assert tally.count("svc", "ok") == 1 and not tally._pending
    from toolkit._engine import tally as module

    for _ in range(module.FOLD_AT):
        tally.add("svc", "ok", 0.1)
    assert not tally._pending  # folded without a read once the queue was long


def test_folding_from_two_threads_loses_nothing() -> None:
    import threading

    tally = CallTally()
    for i in range(50_000):
        tally.add(f"svc{i % 7}", "ok", 0.01)
    threads = [threading.Thread(target=tally.fold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(tally.count(f"svc{i}", "ok") for i in range(7)) == 50_000


@pytest.mark.parametrize("bounds", [(), (1.0, 0.5), (0.0,), (math.nan,), (1.0, 1.0)])
def test_bounds_must_increase_and_be_positive(bounds: tuple[float, ...]) -> None:
    with pytest.raises(ConfigError, match="bounds"):
        CallTally(bounds)


def test_the_runner_feeds_a_sink_every_call_including_refusals() -> None:
    probe = Probe("svc")
    runner = IntegrationRunner(registry_of(probe), fail_max=1)
    tally = CallTally()
    runner.add_call_sink(tally)
    runner.run_one_sync("svc")
    runner.inject("svc", Fault.fail())
    runner.run_one_sync("svc")  # fails: the breaker opens
    runner.run_one_sync("svc")  # refused
    assert [tally.count("svc", o) for o in ("ok", "error", "circuit_open")] == [1, 1, 1]
    runner.remove_call_sink(tally)
    runner.run_one_sync("svc")
    assert tally.count("svc", "circuit_open") == 1
    runner.close()


def test_a_sink_that_raises_is_logged_once_and_never_breaks_a_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def add(self, name: str, outcome: str, duration_s: float) -> None:
            raise RuntimeError("sink broke")

    runner = IntegrationRunner(registry_of(Probe("svc")))
    runner.add_call_sink(Broken())
    for _ in range(3):
        assert runner.run_one_sync("svc").success
    runner.close()
    assert sum("raised" in r.getMessage() for r in caplog.records) == 1


def test_a_fold_from_another_thread_waits_while_totals_are_read() -> None:
    import threading

    tally = CallTally()
    tally.add("svc", "ok", 0.01)
    folded = threading.Event()

    def fold_now() -> None:
        tally.add("svc", "ok", 0.01)
        tally.fold()
        folded.set()

    with tally.reading():
        ((_, ok),) = tally.totals("svc")
        before = (ok.count, ok.cumulative()[-1])
        thread = threading.Thread(target=fold_now)
        thread.start()
        assert not folded.wait(0.2)  # held back while we read
        assert (ok.count, ok.cumulative()[-1]) == before == (1, 1)
    thread.join()
    assert folded.is_set() and tally.count("svc", "ok") == 2
