"""Dashboard: building it and refreshing it at 200 integrations, 10,000 vs 100,000 records.

Building reads the history's tail until every integration has its last 50 calls, and a
refresh reads only what was recorded since the last one, so neither may grow with the
history. Goals: building in at most 50 ms at 100,000 records; a refresh after a run in
tens of milliseconds, ratio 100,000 / 10,000 at most 1.2 (both fill every integration's
50-call window, so only the history's size differs); a refresh in which one
integration changed sends the page at most 2 KB. Timed, each as the median of many:

- build: a new ``Dashboard(runner)`` (its whole JSON model and the widget);
- after a run: ``run_all`` of all 200 integrations (not timed), then one refresh, which
  rebuilds every row and the call and event tables;
- idle: nothing changed (the page moves the countdowns itself).

Bytes are the JSON the comm sends: the whole model (what a page gets when it opens),
the delta after a run of all 200, and the delta after one integration's call.

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
SIZES = (10_000, 100_000)
AFTER_RUN_REPEATS = 15
IDLE_REPEATS = 50
BUILD_REPEATS = 7


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
        self.dash = Dashboard(self.runner)
        self.bytes: dict[str, int] = {}

    def build(self) -> float:
        """Time a new dashboard over the runner (closed again, not timed)."""
        made: list[Dashboard] = []
        seconds = _timed(lambda: made.append(Dashboard(self.runner)))
        self.bytes["whole model"] = len(made[0].model_json.encode())
        made[0].close()
        return seconds

    def after_run(self) -> float:
        """Run all 200 (not timed), then time one refresh."""
        self.runner.run_all_sync()
        seconds = _timed(self.dash.refresh)
        self.bytes["delta after a run of all 200"] = self.dash.sent[-1]
        return seconds

    def one_change(self) -> float:
        """One integration is called (not timed), then one refresh; its bytes are kept."""
        self.runner.run_one_sync(self.runner.names[7])
        seconds = _timed(self.dash.refresh)
        self.bytes["delta after one integration's call"] = self.dash.sent[-1]
        return seconds

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
            key: ([], []) for key in ("build", "after_run", "one_change", "idle", "full_latency")
        }
        plan = (
            ("build", BUILD_REPEATS),
            ("after_run", AFTER_RUN_REPEATS),
            ("one_change", AFTER_RUN_REPEATS),
            ("idle", IDLE_REPEATS),
            ("full_latency", 3),
        )
        for key, repeats in plan:
            for _ in range(repeats):
                for setup, samples in zip(setups, times[key], strict=True):
                    samples.append(getattr(setup, key)() * 1000.0)
        result = {
            key: (statistics.median(a), statistics.median(b)) for key, (a, b) in times.items()
        }
        for what in setups[0].bytes:
            result[what] = (setups[0].bytes[what], setups[1].bytes[what])
        result["records"] = (len(setups[0].runner.history), len(setups[1].runner.history))
        return result
    finally:
        for setup in setups:
            setup.close()


def main() -> None:
    logging.getLogger("toolkit").setLevel(logging.ERROR)  # 40 trips would log 40 warnings
    result = measure()
    print(f"{INTEGRATIONS} integrations, 20 breakers open; median of repeated refreshes")
    print(f"{'':40}{'10,000 records':>16}{'100,000 records':>18}{'ratio':>8}")
    rows = (
        ("building the dashboard", "build"),
        ("refresh after a run of all 200", "after_run"),
        ("refresh after one integration's call", "one_change"),
        ("refresh with nothing new", "idle"),
        ("full frames.latency(runner), for scale", "full_latency"),
    )
    for label, key in rows:
        small, large = result[key]
        print(f"{label:40}{small:13.2f} ms{large:15.2f} ms{large / small:8.2f}")
    for what in (
        "whole model",
        "delta after a run of all 200",
        "delta after one integration's call",
    ):
        small, large = result[what]
        print(f"{'bytes sent, ' + what:40}{small:13,.0f} B {large:15,.0f} B")
    small, large = result["records"]
    print(f"records in history after the runs: {small:,.0f} and {large:,.0f}")
    small, large = result["after_run"]
    print(f"ratio refresh after a run, 100,000 / 10,000: {large / small:.2f}  (goal <= 1.2)")
    small, large = result["build"]
    print(f"ratio build, 100,000 / 10,000: {large / small:.2f}  (goal <= 1.2)")
    print(f"build at 100,000 records: {result['build'][1]:.1f} ms  (goal <= 50 ms)")
    one = result["delta after one integration's call"][1]
    print(f"one integration changed: {one:,} B sent  (goal <= 2,048 B)")


if __name__ == "__main__":
    main()
