"""A simulated history: days of calls and breaker events, made in a fraction of a second.

Six integrations called once a minute (``step_s``) by one worker. Each integration
has a latency of its own and rare errors; scheduled episodes make the story: a
payments outage (errors), a geocoder that times out for an afternoon, a partner feed
that flaps every night, a search API tripped by hand during a deploy and a crm held
open (isolated) for maintenance. The breakers follow the runner's default rule:
``fail_max`` consecutive failures open one, and once ``reset_timeout`` has passed the
next call is its trial (success closes it, failure opens it again). Seeded: every run
tells the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit._view.frames import OUTCOME_DTYPE, STATE_DTYPE

WORKER = "sim-1"
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class _Service:
    """One simulated integration: latency (median, ms), error rate when healthy."""

    name: str
    median_ms: float
    error_rate: float


SERVICES = (
    _Service("payments", 120.0, 0.001),
    _Service("geocoder", 45.0, 0.0005),
    _Service("partner_feed", 300.0, 0.004),
    _Service("search", 80.0, 0.0005),
    _Service("crm", 200.0, 0.001),
    _Service("weather", 60.0, 0.0002),
)


def _trouble(name: str, t: float, start: float) -> str | None:
    """The failure ``name`` suffers at ``t`` (seconds), if any: "error", "timeout" or None."""
    day, second = divmod(t - start, DAY_S)
    hour = second / 3600.0
    if name == "payments" and day == 2 and 14.0 <= hour < 15.5:
        return "error"
    if name == "geocoder" and day == 4 and 13.0 <= hour < 17.0:
        return "timeout"
    if name == "partner_feed" and 1.0 <= hour < 3.0 and int(second // 300) % 2 == 0:
        return "error"  # flaps every night: five minutes down, five up
    return None


def simulated_week(
    start: pd.Timestamp | str | None = None,
    *,
    days: int = 7,
    step_s: float = 60.0,
    fail_max: int = 3,
    reset_timeout: float = 300.0,
    timeout_s: float = 2.0,
    seed: int = 7,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(calls, events)`` of ``days`` simulated days from ``start`` (default: a week ago,
    midnight UTC), in the columns of ``fleet.calls()`` and an archive's events."""
    rng = random.Random(seed)
    if start is None:
        begin = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=days)
    else:
        stamp = pd.Timestamp(start)
        begin = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    t0 = begin.value / 1e9
    ticks = int(days * DAY_S / step_s)
    calls: dict[str, list[object]] = {k: [] for k in (
        "run_id", "name", "started_at", "duration_ms", "outcome", "error", "state_before",
        "state_after",
    )}  # fmt: skip
    events: dict[str, list[object]] = {k: [] for k in (
        "at", "name", "old_state", "new_state", "by_hand"
    )}  # fmt: skip

    def event(at: float, name: str, old: str, new: str, by_hand: bool) -> None:
        for key, value in zip(events, (at, name, old, new, by_hand), strict=True):
            events[key].append(value)

    deploy = (t0 + 3 * DAY_S + 10.5 * 3600, t0 + 3 * DAY_S + 11 * 3600)  # search tripped
    maintenance = (t0 + 5 * DAY_S + 22 * 3600, t0 + 5 * DAY_S + 23 * 3600)  # crm isolated
    for service in SERVICES:
        state, failures, opened_at = "closed", 0, 0.0
        for tick in range(ticks):
            t = t0 + tick * step_s + rng.uniform(0.0, 0.5)
            name = service.name
            if name == "search" and deploy[0] <= t < deploy[0] + step_s:
                event(t, name, state, "open", True)  # tripped by hand for the deploy
                state, opened_at, failures = "open", t, 0
            if name == "crm" and maintenance[0] <= t < maintenance[0] + step_s:
                event(t, name, state, "isolated", True)
                state = "isolated"
            if name == "crm" and state == "isolated" and t >= maintenance[1]:
                event(t, name, state, "closed", True)  # reset by hand
                state, failures = "closed", 0
            before = state
            if state in ("open", "isolated") and (
                state == "isolated" or t - opened_at < reset_timeout
            ):
                _call(calls, tick, name, t, 0.01, "circuit_open", "circuit open", state, state)
                continue
            if state == "open":  # the wait is over: this call is the trial
                event(t, name, "open", "half-open", False)
                before = state = "half-open"
            trouble = _trouble(name, t, t0)
            if trouble is None and rng.random() < service.error_rate:
                trouble = "error"
            if trouble == "timeout":
                ms, outcome = timeout_s * 1000.0, "timeout"
                error: str | None = f"timed out after {timeout_s:g}s"
            elif trouble == "error":
                ms, outcome, error = rng.uniform(5, 40), "error", "HTTP 503 Service Unavailable"
            else:
                ms = min(service.median_ms * rng.lognormvariate(0.0, 0.35), timeout_s * 1000.0)
                outcome, error = "ok", None
            end = t + ms / 1000.0
            if outcome == "ok":
                failures = 0
                if state == "half-open":
                    event(end, name, "half-open", "closed", False)
                    state = "closed"
            else:
                failures += 1
                if state == "half-open" or failures >= fail_max:
                    event(end, name, state, "open", False)
                    state, opened_at, failures = "open", end, 0
            _call(calls, tick, name, t, ms, outcome, error, before, state)
    return _calls_frame(calls), _events_frame(events)


def _call(
    calls: dict[str, list[object]], run: int, name: str, t: float, ms: float, outcome: str,
    error: str | None, before: str, after: str,
) -> None:  # fmt: skip
    values = (run + 1, name, t, ms, outcome, error, before, after)
    for key, value in zip(calls, values, strict=True):
        calls[key].append(value)


def _stamps(epochs: list[object]) -> pd.Series:
    values = np.asarray(epochs, dtype="float64")
    return pd.Series(pd.to_datetime(values, unit="s", utc=True)).astype("datetime64[ns, UTC]")


def _calls_frame(calls: dict[str, list[object]]) -> pd.DataFrame:
    n = len(calls["name"])
    frame = pd.DataFrame(
        {
            "worker": pd.Series([WORKER] * n, dtype="string"),
            "run_id": np.asarray(calls["run_id"], dtype="int64"),
            "name": pd.Series(calls["name"], dtype="string"),
            "started_at": _stamps(calls["started_at"]),
            "duration_ms": np.asarray(calls["duration_ms"], dtype="float64"),
            "outcome": pd.Categorical(calls["outcome"], dtype=OUTCOME_DTYPE),
            "error": pd.Series(calls["error"], dtype="string"),
            "state_before": pd.Categorical(calls["state_before"], dtype=STATE_DTYPE),
            "state_after": pd.Categorical(calls["state_after"], dtype=STATE_DTYPE),
            "fault": pd.Series([None] * n, dtype="string"),
            "slow": np.zeros(n, dtype="bool"),
        }
    )
    return frame.sort_values("started_at", kind="stable").reset_index(drop=True)


def _events_frame(events: dict[str, list[object]]) -> pd.DataFrame:
    n = len(events["name"])
    frame = pd.DataFrame(
        {
            "worker": pd.Series([WORKER] * n, dtype="string"),
            "at": _stamps(events["at"]),
            "name": pd.Series(events["name"], dtype="string"),
            "old_state": pd.Categorical(events["old_state"], dtype=STATE_DTYPE),
            "new_state": pd.Categorical(events["new_state"], dtype=STATE_DTYPE),
            "by_hand": np.asarray(events["by_hand"], dtype="bool"),
        }
    )
    return frame.sort_values("at", kind="stable").reset_index(drop=True)
