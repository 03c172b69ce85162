"""Dashboard: one refresh for 200 integrations with 1,000 and with 100,000 history records.

The refresh reads ``runner.statuses()`` and bounded tails of the history, so its cost
must not grow with the history. Goal: ratio 100,000 / 1,000 at most 1.2, and a refresh
in tens of milliseconds. Two kinds of refresh are timed, each as the median of many:

- after a run: ``run_all`` of all 200 integrations (not timed), then one refresh, which
  redraws every row, the call and event tables and the latency summary;
- idle: nothing changed but the countdowns of the open breakers.

Both dashboards live in the same process and their measurements alternate, so both
sizes see the same heap, caches and CPU clock; only the history differs. For scale,
the cost of rebuilding the full ``frames.latency(runner)`` is printed too: that is
what a refresh would pay if it read the whole history.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py``
"""

from __future__ import annotations

import gc
import logging
import random
import statistics
import time
from collections.abc import Callable

from toolkit import Dashboard, IntegrationRunner, frames
from toolkit._engine.history import OUTCOMES
from toolkit.demo import demo_registry

INTEGRATIONS = 200
SIZES = (1_000, 100_000)
AFTER_RUN_REPEATS = 15
IDLE_REPEATS = 50


def _fill(runner: IntegrationRunner, n: int) -> None:
    """Append ``n`` realistic call records straight into the runner's history."""
    rng = random.Random(1)
    names = runner.names
    start = time.time() - n / 100
    for i in range(n):
        outcome = rng.choice(OUTCOMES)
        runner.history.append(
            i // INTEGRATIONS, names[i % len(names)], start + i / 100, rng.uniform(0.001, 0.5),
            outcome, None if outcome == "ok" else "RuntimeError: down", "closed", "closed",
            None, False,
        )  # fmt: skip


def _median_ms(measure: Callable[[], float], repeats: int) -> float:
    return statistics.median(measure() for _ in range(repeats)) * 1000.0


def _timed(fn: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


class Setup:
    """A runner with ``size`` history records and 20 open breakers, and a dashboard over it."""

    def __init__(self, size: int) -> None:
        self.runner = IntegrationRunner(
            demo_registry(INTEGRATIONS, latency_scale=0.0),
            timeout=1.0,
            reset_timeout=600.0,
            history_size=max(SIZES),
        )
        _fill(self.runner, size)
        for name in self.runner.names[::10]:  # 20 open breakers with live countdowns
            self.runner.trip(name)
        self.build_ms = _timed(lambda: Dashboard(self.runner).close()) * 1000.0
        self.dash = Dashboard(self.runner)

    def after_run(self) -> float:
        """Run all 200 (not timed), then time one refresh."""
        self.runner.run_all_sync()
        return _timed(self.dash.refresh)

    def idle(self) -> float:
        return _timed(self.dash.refresh)

    def full_latency(self) -> float:
        return _timed(lambda: frames.latency(self.runner))

    def close(self) -> None:
        self.dash.close()
        self.runner.close()


def measure() -> dict[str, tuple[float, float]]:
    """Median ms of each measurement for both sizes, taken in alternation in one process."""
    setups = [Setup(size) for size in SIZES]
    try:
        times: dict[str, tuple[list[float], list[float]]] = {
            key: ([], []) for key in ("after_run", "idle", "full_latency")
        }
        plan = (("after_run", AFTER_RUN_REPEATS), ("idle", IDLE_REPEATS), ("full_latency", 3))
        for key, repeats in plan:
            for _ in range(repeats):
                for setup, samples in zip(setups, times[key], strict=True):
                    samples.append(getattr(setup, key)() * 1000.0)
        result = {
            key: (statistics.median(a), statistics.median(b)) for key, (a, b) in times.items()
        }
        result["build"] = (setups[0].build_ms, setups[1].build_ms)
        result["records"] = (len(setups[0].runner.history), len(setups[1].runner.history))
        return result
    finally:
        for setup in setups:
            setup.close()


def main() -> None:
    logging.getLogger("toolkit").setLevel(logging.ERROR)  # 40 trips would log 40 warnings
    result = measure()
    print(f"{INTEGRATIONS} integrations, 20 breakers open; median of repeated refreshes")
    print(f"{'':40}{'1,000 records':>16}{'100,000 records':>18}{'ratio':>8}")
    rows = (
        ("refresh after a run of all 200", "after_run"),
        ("refresh with nothing new (countdowns)", "idle"),
        ("building the dashboard (once)", "build"),
        ("full frames.latency(runner), for scale", "full_latency"),
    )
    for label, key in rows:
        small, large = result[key]
        print(f"{label:40}{small:13.2f} ms{large:15.2f} ms{large / small:8.2f}")
    small, large = result["records"]
    print(f"records in history after the runs: {small:,.0f} and {large:,.0f}")
    small, large = result["after_run"]
    print(f"ratio refresh after a run, 100,000 / 1,000: {large / small:.2f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
