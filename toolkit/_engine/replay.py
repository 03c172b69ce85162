"""The what-if core: one integration's recorded calls replayed under another policy.

Pure Python over columns (no pandas; ``toolkit/_view/replay.py`` builds the frames).
The replayed breaker follows the live breaker's rules step by step, with the same
windows (``window.py``), verdicts (``verdict.py``) and waits (``Policy.wait_after``),
and dates its openings and admissions the way the live breaker does: an opening at
the end of the call that caused it (to the microsecond, as a ``datetime`` holds it),
a call admitted when ``opened_at + wait - started_at <= 0``. So replaying the policy
that was in force over a history without manual controls reproduces every decision
and state.

What the history does not hold is assumed, flagged and counted, never shown as seen:

* A call the recorded breaker skipped (``circuit_open``) has no outcome. When the
  replayed breaker lets it through, it borrows the outcome and duration of the
  integration's nearest call in time that did run (the earlier one on a tie), its
  duration cut to end before the next recorded call starts (one call per
  integration is in flight at a time). An integration none of whose calls ran is
  assumed to fail, instantly.
* A shorter timeout turns a longer recorded call into a ``timeout`` after the new
  timeout: known, not assumed. A longer timeout cannot undo a recorded timeout: the
  runner's own timeout (its error reads "timed out after Ns") under a replayed
  timeout above N stays a timeout, assumed. A timeout ``fetch`` raised itself
  stays one, known.
* Manual controls (trip, reset, isolate, expire) are not in the history: the replay
  applies the policy alone.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from toolkit._engine.policy import Policy
from toolkit._engine.verdict import trials_reopen, trips
from toolkit._engine.window import window_for

OK, ERROR, TIMEOUT, SKIPPED = 0, 1, 2, 3
"""Outcome codes; ``SKIPPED`` is a recorded ``circuit_open`` (or a replayed refusal)."""
CODES = {"ok": OK, "error": ERROR, "timeout": TIMEOUT, "circuit_open": SKIPPED}
OUTCOME_NAMES = ("ok", "error", "timeout", "circuit_open")
CLOSED, HALF_OPEN, OPEN = 0, 1, 2
STATE_NAMES = ("closed", "half-open", "open")
_OWN_TIMEOUT = re.compile(r"timed out after ([0-9.eE+-]+)s")


def own_timeout(error: object) -> float:
    """The runner's timeout a recorded timeout hit ("timed out after 2s": 2.0), else NaN."""
    if isinstance(error, str):
        found = _OWN_TIMEOUT.match(error)
        if found is not None:
            try:
                return float(found.group(1))
            except ValueError:
                return math.nan
    return math.nan


@dataclass(slots=True)
class History:
    """One integration's recorded calls, oldest first, as columns."""

    starts: list[float]
    durations: list[float]
    outcomes: list[int]
    limits: list[float]
    """Per call: the runner timeout a recorded timeout hit (NaN: unknown or no timeout)."""
    nearest: list[int] = field(default_factory=list)
    """Per skipped call: the index of the nearest call that ran (-1: none did)."""
    end: float = 0.0
    """When the last recorded call ended: an opening still open counts until then."""

    def __post_init__(self) -> None:
        if not self.nearest:
            self.nearest = _nearest_ran(self.starts, self.outcomes)
        if self.starts:
            self.end = max(s + d for s, d in zip(self.starts, self.durations, strict=True))


@dataclass(slots=True)
class Replayed:
    """What one policy makes of one integration's history: per call and in total."""

    reached: list[bool]
    outcomes: list[int]
    durations: list[float]
    assumed: list[bool]
    before: list[int]
    after: list[int]
    opens: int = 0
    open_s: float = 0.0
    time_to_open_s: float = math.nan

    @property
    def calls(self) -> int:
        """Calls in the history."""
        return len(self.reached)


def _nearest_ran(starts: list[float], outcomes: list[int]) -> list[int]:
    """For each call, the index of the nearest call in time that ran (-1 when none did)."""
    n = len(starts)
    previous = [-1] * n
    last = -1
    for i in range(n):
        if outcomes[i] != SKIPPED:
            last = i
        previous[i] = last
    nearest = [-1] * n
    following = -1
    for i in range(n - 1, -1, -1):
        if outcomes[i] != SKIPPED:
            following = i
        before = previous[i]
        if before < 0:
            nearest[i] = following
        elif following < 0 or starts[i] - starts[before] <= starts[following] - starts[i]:
            nearest[i] = before
        else:
            nearest[i] = following
    return nearest


def _stamp(epoch: float) -> float:
    """``epoch`` as an opening time is kept by the live breaker (a datetime, microseconds)."""
    return datetime.fromtimestamp(epoch, UTC).timestamp()


def replay(history: History, policy: Policy) -> Replayed:
    """Replay ``history`` under ``policy``: every call's decision, outcome and states."""
    starts, durations, outcomes = history.starts, history.durations, history.outcomes
    limits, nearest = history.limits, history.nearest
    n = len(starts)
    out = Replayed([False] * n, [SKIPPED] * n, [0.0] * n, [False] * n, [CLOSED] * n, [OPEN] * n)
    reached, r_out, r_dur, r_assumed = out.reached, out.outcomes, out.durations, out.assumed
    r_before, r_after = out.before, out.after

    timeout = float(policy.timeout)
    slow_after = policy.slow_after
    window = window_for(policy)
    fail_max = policy.fail_max
    needed = policy.effective_min_calls
    state, counter, openings = CLOSED, 0, 0
    opened, wait = 0.0, policy.wait_after(0)
    trials = trial_failures = 0
    bad_since = math.nan
    open_total = 0.0
    to_open: list[float] = []

    for i in range(n):
        start = starts[i]
        if state == OPEN:
            if opened + wait - start > 0.0:
                r_before[i] = r_after[i] = OPEN
                continue
            open_total += start - opened
            state, trials, trial_failures, bad_since = HALF_OPEN, 0, 0, math.nan
        r_before[i] = state
        reached[i] = True
        outcome, duration, limit, assumed = outcomes[i], durations[i], limits[i], False
        if outcome == SKIPPED:
            assumed = True
            j = nearest[i]
            if j < 0:
                outcome, duration = ERROR, 0.0
            else:
                outcome, duration, limit = outcomes[j], durations[j], limits[j]
                if i + 1 < n and duration > starts[i + 1] - start:
                    duration = max(starts[i + 1] - start, 0.0)
        if outcome == TIMEOUT and limit == limit:  # the runner's own timeout, at ``limit``
            if timeout < limit:
                duration += timeout - limit  # cut sooner, with the same overhead
            elif timeout > limit:
                assumed = True  # would it have finished in the longer time? unknown
        elif duration > timeout:
            outcome, duration = TIMEOUT, timeout
        r_out[i], r_dur[i], r_assumed[i] = outcome, duration, assumed
        end = start + duration
        failed = outcome != OK
        slow = slow_after is not None and duration > slow_after
        if failed or (slow and window is not None):
            if bad_since != bad_since:  # NaN: the first bad call of a streak
                bad_since = start
        else:
            bad_since = math.nan
        opens_now = False
        if state == HALF_OPEN:
            trials += 1
            trial_failures += failed
            verdict = trials_reopen(policy, trials, trial_failures)
            if verdict is True:
                opens_now = True
            elif verdict is False:
                state, counter, openings = CLOSED, 0, 0
                wait = policy.wait_after(0)
                if window is not None:
                    window.clear()
        elif window is not None:
            window.add(end, failed, slow)
            counts = window.counts(end)
            opens_now = counts[0] >= needed and trips(policy, *counts)  # trips' own floor, early
        else:
            counter = counter + 1 if failed else 0
            opens_now = counter >= fail_max
        if opens_now:
            state, opened = OPEN, _stamp(end)
            openings += 1
            wait = policy.wait_after(openings)
            if window is not None:
                window.clear()
            out.opens += 1
            if bad_since == bad_since:
                to_open.append(end - bad_since)
            bad_since = math.nan
        r_after[i] = state
    if state == OPEN:
        open_total += max(history.end - opened, 0.0)
    out.open_s = open_total
    out.time_to_open_s = statistics.median(to_open) if to_open else math.nan
    return out
