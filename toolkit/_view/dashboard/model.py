"""The dashboard's JSON model: one small dict per row, texts capped, numbers rounded.

What the page draws comes from here and nowhere else, so it can be checked from
Python: ``row_model`` answers the row's questions (state, since when, why, the
trial's deadline, the armed fault, the last ~50 calls), ``headline`` says who is
failing. Every text that came from an integration is capped and carried as text;
the page inserts it with ``textContent``, never as HTML.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from toolkit._view.dashboard.recent import Call, quantile
from toolkit._view.shown import shown

TEXT_CHARS = 300
"""Longest text a row carries (an error message, a name); the rest is cut with a note."""

OUTCOME_CODES: dict[str, str] = {"ok": "o", "error": "e", "timeout": "t", "circuit_open": "c"}
"""One letter per call outcome in a sparkline point."""

FAILING_STATES = frozenset({"open", "half-open", "isolated"})

Row = dict[str, Any]


def text(value: object, limit: int = TEXT_CHARS) -> str:
    """Any value as text of at most ``limit`` characters and a note of what was cut."""
    return shown(value, limit)


def maybe_text(value: object, limit: int = TEXT_CHARS) -> str | None:
    """``text(value)``, or None for None."""
    return None if value is None else text(value, limit)


def number(value: float | None, digits: int = 1) -> float | None:
    """``value`` rounded, or None when it is missing or not finite (JSON has no NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return round(value, digits) if math.isfinite(value) else None


def spark(calls: Iterable[Call]) -> list[object]:
    """``[[milliseconds, ...], "oetc..."]``, oldest first: the row's sparkline, compactly.

    The durations (to 0.1 ms, 0 when unknown) and one outcome letter per call.
    """
    finite, codes = math.isfinite, OUTCOME_CODES
    durations: list[float] = []
    letters: list[str] = []
    for call in calls:
        seconds = call.seconds
        durations.append(int(seconds * 10_000 + 0.5) / 10 if finite(seconds) else 0.0)
        letters.append(codes.get(call.outcome, "e"))
    return [durations, "".join(letters)]


def figures(calls: Sequence[Call]) -> dict[str, Any]:
    """Counts by outcome and latency (ms) of the calls that ran: p50, p95 and max."""
    counts = dict.fromkeys(OUTCOME_CODES, 0)
    ran: list[float] = []
    finite = math.isfinite
    for call in calls:
        outcome = call.outcome
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome != "circuit_open" and finite(call.seconds):
            ran.append(call.seconds * 1000.0)
    ran.sort()
    return {
        "calls": len(calls),
        "ok": counts["ok"],
        "errors": counts["error"],
        "timeouts": counts["timeout"],
        "skipped": counts["circuit_open"],
        "p50": number(quantile(ran, 0.5)),
        "p95": number(quantile(ran, 0.95)),
        "max": number(ran[-1] if ran else None),
    }


def failures_before(calls: Sequence[Call], opened_at: float) -> tuple[int, int, bool]:
    """``(timeouts, errors, from_trial)`` of the failures that opened a breaker at ``opened_at``.

    The call that opened it is the last one ending by then whose breaker went to
    open; the failures counted are the run of failed calls ending with it.
    """
    for i in range(len(calls) - 1, -1, -1):
        call = calls[i]
        if call.after == "open" and call.before != "open" and call.ended <= opened_at + 1.0:
            if call.before == "half-open":
                return (int(call.outcome == "timeout"), int(call.outcome != "timeout"), True)
            timeouts = errors = 0
            for j in range(i, -1, -1):
                earlier = calls[j]
                if earlier.outcome == "timeout":
                    timeouts += 1
                elif earlier.outcome == "error":
                    errors += 1
                else:
                    break
            return (timeouts, errors, False)
    return (0, 0, False)


def plural(n: int, noun: str) -> str:
    """``1 timeout``, ``3 timeouts``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def why(
    state: str,
    changed_at: float | None,
    calls: Sequence[Call],
    by_hand_at: float | None,
    shared: bool,
) -> str:
    """Why a breaker is not closed: its failures, a trip by hand, an isolation, another worker.

    ``""`` while closed. ``by_hand_at`` is when this process last changed it by hand;
    ``shared`` says its state lives in a storage other workers write too.
    """
    if state == "closed":
        return ""
    if state == "isolated":
        return "isolated by hand: no trial until Reset"
    if changed_at is not None and by_hand_at is not None and abs(by_hand_at - changed_at) < 0.5:
        return "tripped by hand"
    if changed_at is None:
        return "opened by another worker" if shared else "open since before this dashboard"
    timeouts, errors, trial = failures_before(calls, changed_at)
    if trial:
        return "its trial call " + ("timed out" if timeouts else "failed")
    if timeouts or errors:
        parts = [plural(n, noun) for n, noun in ((timeouts, "timeout"), (errors, "error")) if n]
        return " and ".join(parts)
    if state == "half-open":
        return "its wait is over: the next call is the trial"
    return "opened by another worker" if shared else "tripped by hand"


def headline(rows: Sequence[Mapping[str, Any]], now: float) -> str:
    """``2 of 5 failing: Payments gateway (open 40 s), Geocoder`` or ``all 5 healthy``.

    Failing is a breaker that is not closed, or a closed one whose last call failed;
    the worst (open the longest) come first, at most five named.
    """
    failing = [r for r in rows if r["state"] in FAILING_STATES or _last_failed(r)]
    if not failing:
        return f"all {len(rows)} healthy" if rows else "no integrations"
    failing.sort(key=_worst_first)
    named = [_named(r, now) for r in failing[:5]]
    more = f", and {len(failing) - 5} more" if len(failing) > 5 else ""
    return f"{len(failing)} of {len(rows)} failing: {', '.join(named)}{more}"


def _last_failed(row: Mapping[str, Any]) -> bool:
    last = row.get("last") or {}
    return last.get("outcome") in ("error", "timeout")


def _worst_first(row: Mapping[str, Any]) -> tuple[int, float, str]:
    rank = {"isolated": 0, "open": 1, "half-open": 2}.get(row["state"], 3)
    return (rank, row.get("since") or math.inf, row["label"])


def _named(row: Mapping[str, Any], now: float) -> str:
    state, since = row["state"], row.get("since")
    if state == "closed":
        return str(row["label"])
    age = "" if since is None else f" {age_text(now - since)}"
    return f"{row['label']} ({state}{age})"


def age_text(seconds: float) -> str:
    """``8 s``, ``3 min``, ``2 h``: how long ago, in the unit a person reads at a glance."""
    seconds = max(seconds, 0.0)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def changed_rows(old: Mapping[str, Row], new: Mapping[str, Row]) -> dict[str, Row]:
    """The rows of ``new`` that differ from (or are missing in) ``old``."""
    return {name: row for name, row in new.items() if old.get(name) != row}
