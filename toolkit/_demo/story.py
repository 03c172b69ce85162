"""``python -m toolkit demo``: the failure-isolation story, told in the terminal.

All integrations healthy; one starts failing while the others stay green; its
breaker opens after ``fail_max`` failures and later calls are skipped in
microseconds; the service recovers, and after the (shortened) reset timeout one
trial call closes the breaker again.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import pandas as pd

from toolkit._demo.services import DemoIntegration, demo_registry
from toolkit._engine.runner import IntegrationRunner
from toolkit._view import frames

_BREAKER_COLUMNS = ["name", "state", "failures", "fail_max", "trial_in_s", "last_outcome",
                    "last_duration_ms", "last_error"]  # fmt: skip
_LATENCY_COLUMNS = ["name", "calls", "ok", "error", "circuit_open", "success_rate", "p50_ms",
                    "p95_ms", "max_ms"]  # fmt: skip


def _show(caption: str, frame: pd.DataFrame) -> None:
    print(f"\n  {caption}")
    frame = frame.copy()
    column: str
    for column in frame.select_dtypes("string"):
        frame[column] = frame[column].fillna("")
    text = frame.to_string(
        index=False, max_colwidth=48, na_rep="", float_format=lambda v: f"{v:.1f}"
    )
    print("\n".join("    " + line for line in text.splitlines()))


def _step(number: int, title: str) -> None:
    print(f"\n== {number}. {title} " + "=" * max(0, 66 - len(title)))


def _results(runner: IntegrationRunner) -> pd.DataFrame:
    assert runner.last_results is not None
    frame = frames.results(runner.last_results)
    return frame.assign(data=frame["data"].astype("string"))[
        ["name", "success", "error_message", "data"]
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the story; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m toolkit demo", description=__doc__)
    parser.add_argument(
        "--reset-timeout",
        type=float,
        default=2.0,
        help="seconds an open breaker waits before its trial (default 2)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated services")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  [log %(levelname)s] %(message)s"))
    log = logging.getLogger("toolkit")
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    registry = demo_registry(4, seed=args.seed)
    runner = IntegrationRunner(registry, timeout=1.0, fail_max=3, reset_timeout=args.reset_timeout)
    victim = "payments"
    service = runner.integrations[victim]
    assert isinstance(service, DemoIntegration)
    started = time.perf_counter()
    try:
        _step(1, "All integrations healthy")
        runner.run_all_sync()
        _show("Every breaker closed, every call ok:", frames.breakers(runner)[_BREAKER_COLUMNS])
        _show("One section per integration in the run's results:", _results(runner))

        _step(2, f"{victim!r} starts failing; the others carry on")
        service.failing = True
        for attempt in range(1, runner.policy(victim).fail_max + 1):
            runner.run_all_sync()
            b = runner.status(victim)
            others_ok = all(s.last_outcome == "ok" for s in runner.statuses() if s.name != victim)
            print(
                f"  run {attempt}: {victim} -> {b.last_outcome},"
                f" failures {b.failures}/{b.fail_max}, breaker {b.state}; others ok: {others_ok}"
            )
        _show(f"The {victim} breaker opened after {runner.policy(victim).fail_max} failures:",
              frames.breakers(runner)[_BREAKER_COLUMNS])  # fmt: skip

        _step(3, "While open, calls are skipped: fetch is not called")
        before = service.calls
        runner.run_all_sync()
        skipped = frames.calls(runner).query("name == @victim").iloc[-1]
        micros = skipped["duration_ms"] * 1000
        print(
            f"  {victim}: outcome {skipped['outcome']!r} in {micros:.0f} µs,"
            f" fetch calls during the run: {service.calls - before}"
        )
        _show("The run's results: the others still deliver data:", _results(runner))

        _step(4, f"{victim} recovers; after {args.reset_timeout:g} s one trial call decides")
        service.failing = False
        wait = runner.status(victim).trial_in_s or 0.0
        print(f"  waiting {wait:.1f} s for the reset timeout ...")
        time.sleep(wait + 0.05)
        runner.run_all_sync()
        trial = frames.calls(runner).query("name == @victim").iloc[-1]
        print(f"  trial call: {trial['state_before']} -> {trial['state_after']}"
              f" ({trial['outcome']}, {trial['duration_ms']:.0f} ms)")  # fmt: skip
        _show("Breakers after the trial:", frames.breakers(runner)[_BREAKER_COLUMNS])
        _show("Latency per integration, worst p95 first:", frames.latency(runner)[_LATENCY_COLUMNS])
        _show("Every breaker state change:", frames.events(runner))
    finally:
        runner.close()
        log.removeHandler(handler)
    print(f"\nDone in {time.perf_counter() - started:.1f} s: one failing integration never held"
          " the others back.")  # fmt: skip
    return 0
