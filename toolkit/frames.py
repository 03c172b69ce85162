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

Analyses of any calls/events frame, live (``calls(runner)``, ``fleet.calls()``) or
archived (``Archive.calls()``/``events()``); a ``worker`` column keeps workers apart:

``availability(calls, freq="1h")`` one row per integration and period:
    name, period, calls, ok, ok_share, open_s, observed_s, open_share. Between two
    calls the breaker keeps the state the first left it in; ``open_share`` is the
    share of the observed time it was open or isolated.
``incidents(events, calls=None)`` one row per opening-to-closing episode, oldest first:
    name, start, end, duration_s, ongoing, cause, reopens, skipped, trials, workers.
    ``cause``: "timeout" or "error" (the call that opened it), "by hand", "another
    worker" (found open in a shared storage: told apart from "by hand" by the
    ``by_hand`` column of an archive's events), "unknown" (no calls given).
``reliability(calls, events)`` one row per integration, lowest ok_share first:
    name, calls, ok_share, incidents, mttr_s, mtbf_s, opens_per_hour, observed_h,
    p50_ms, p95_ms, p99_ms.
"""

from __future__ import annotations

from toolkit._view.frames import breakers, calls, events, latency, results, style

__all__ = ["breakers", "calls", "events", "latency", "results", "style"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__

from toolkit._view.history import availability, incidents, reliability  # noqa: E402

__all__ += ["availability", "incidents", "reliability"]
for _name in ("availability", "incidents", "reliability"):
    globals()[_name].__module__ = __name__
