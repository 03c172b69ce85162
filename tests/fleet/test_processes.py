"""Three worker processes share breakers through one Redis; the test steers them through Fleet."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from loopback_redis import RedisServer

from toolkit import Fleet
from toolkit.fleet_demo import FleetWorkers

Report = dict[str, Any]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def runs_of(workers: FleetWorkers, worker: str, after: float) -> list[Report]:
    """The runs of ``worker`` that started after ``after`` (epoch seconds)."""
    return [r for r in list(workers.reports) if r["worker"] == worker and r["started"] > after]


def test_workers_stop_calling_a_tripped_integration_within_one_run_and_resume_after_reset(
    redis_server: RedisServer,
) -> None:
    names = [f"worker-{i}" for i in (1, 2, 3)]
    with (
        FleetWorkers(redis_server.url, "shop", 3, interval=0.05) as workers,
        Fleet(redis_server.url, "shop") as fleet,
    ):
        wait_for(
            lambda: all(
                sum("weather" in r["called"] for r in runs_of(workers, w, 0)) >= 2 for w in names
            ),
            "every worker to call weather",
        )
        fleet.trip("weather")
        tripped = time.time()  # every run that starts from now on must leave weather alone
        wait_for(
            lambda: all(len(runs_of(workers, w, tripped)) >= 3 for w in names),
            "three runs per worker after the trip",
        )
        for w in names:
            after = runs_of(workers, w, tripped)
            assert all("weather" not in r["called"] for r in after), w  # the very next run
            assert all(r["states"]["weather"] == "open" for r in after), w
            assert all("geocoder" in r["called"] for r in after), w  # the others go on

        fleet.reset("weather")
        reset = time.time()
        wait_for(
            lambda: all(
                any("weather" in r["called"] for r in runs_of(workers, w, reset)) for w in names
            ),
            "every worker to call weather again",
        )
        for w in names:
            first = runs_of(workers, w, reset)[0]
            assert "weather" in first["called"] and first["states"]["weather"] == "closed", w

    assert workers.alive == 0
    codes = [p.returncode for p in workers.processes]
    assert codes == [0, 0, 0], (codes, workers.errors())
    with Fleet(redis_server.url, "shop") as fleet:
        calls = fleet.calls(last=None)
    assert set(calls["worker"]) == set(names)  # each worker streamed its calls before exiting
    skipped = calls[(calls["name"] == "weather") & (calls["outcome"] == "circuit_open")]
    assert set(skipped["worker"]) == set(names)
