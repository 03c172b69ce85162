"""Runner state as tidy pandas DataFrames: one row per integration, call, section or event.

Durations are float milliseconds, timestamps are tz-aware UTC, states and
outcomes are categoricals with every possible value as a category. Each frame
has its columns even when there is nothing to show.

``breakers(runner)`` one row per integration, most severe state first:
    name, display_name, state, failures, fail_max, opened_at, trial_in_s,
    timeout_s, reset_timeout_s, in_flight, fault, last_outcome, last_duration_ms,
    last_error, storage, storage_ok, window_failure_rate, window_slow_rate
    (the rate window's failures and slow calls / recorded calls: NaN below
    ``min_calls`` and for breakers counting consecutive failures)
``calls(runner)`` one row per recorded call, by start time:
    run_id, name, started_at, duration_ms, outcome, error, state_before,
    state_after, fault, slow
``latency(runner)`` one row per integration, worst p95 first (no calls last):
    name, calls, ok, error, timeout, circuit_open, success_rate, p50_ms, p95_ms,
    p99_ms, max_ms. ``success_rate`` is ok / calls, skipped calls included (a
    skipped call delivered nothing); percentiles cover calls that ran, not the
    instant answers of an open breaker.
``results(results)`` one row per section of an ``IntegrationResults``, in order:
    name, display_name, success, error_message, data (given a runner: its last run_all)
``events(runner)`` one row per breaker state change, oldest first:
    at, name, old_state, new_state
``style(df)`` any of these as an HTML-escaped ``Styler`` with state colours and bars.
"""

from __future__ import annotations

from toolkit._view.frames import breakers, calls, events, latency, results, style

__all__ = ["breakers", "calls", "events", "latency", "results", "style"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__
