"""Recent calls, latency and breaker events as HTML tables; every text from a run is escaped.

The same columns as ``toolkit.frames.calls``, ``latency`` and ``events``, but built
from a bounded tail of the history, so rendering never grows with its size.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from toolkit._engine.history import STATES
from toolkit._view.palette import MUTED_COLOR, ON_COLOR, outcome_color, rate_color, state_color
from toolkit._view.shown import shown, shown_parts

if TYPE_CHECKING:
    from toolkit._engine.history import BreakerEvent, CallRecord
    from toolkit._engine.status import BreakerStatus
    from toolkit._view.dashboard.stats import LatencyRow

ERROR_CHARS = 160

STYLE = f"""<style>
.toolkit-table {{ border-collapse: collapse; font-size: 12px; margin: 2px 0 8px 0; }}
.toolkit-table th {{ text-align: left; padding: 2px 10px 2px 0; color: {MUTED_COLOR};
  border-bottom: 1px solid #d0d7de; font-weight: 600; }}
.toolkit-table td {{ padding: 2px 10px 2px 0; vertical-align: top; }}
.toolkit-table td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.toolkit-caption {{ color: {MUTED_COLOR}; font-size: 11px; }}
.toolkit-chip {{ color: {ON_COLOR}; border-radius: 8px; padding: 0 6px; font-size: 11px; }}
.toolkit-empty {{ color: {MUTED_COLOR}; font-style: italic; font-size: 12px; }}
</style>"""
"""Shared CSS for the dashboard's HTML (scoped by ``toolkit-`` class names)."""


def esc(value: object) -> str:
    """Any value escaped for HTML text or a quoted attribute, capped by ``shown``."""
    return html.escape(shown(value), quote=True)


def clip(text: object, limit: int = ERROR_CHARS) -> str:
    """Escaped text cut to ``limit`` characters, more of it (``shown``'s cap) in a tooltip."""
    if text is None or text == "":
        return ""
    short = shown_parts(text, limit)
    if not short.cut:
        return esc(short.text)
    return f'<span title="{esc(text)}">{esc(short.text[: limit - 1])}…</span>'


def chip(state: str) -> str:
    """A small coloured label of a breaker state."""
    return (
        f'<span class="toolkit-chip" data-state="{esc(state)}" '
        f'style="background:{state_color(state)}">{esc(state)}</span>'
    )


def transition(old: str, new: str) -> str:
    """A breaker's change of state as two chips: ``closed → open``."""
    return f"{chip(old)} → {chip(new)}"


def outcome_label(outcome: str | None) -> str:
    """A call outcome in its colour."""
    if outcome is None:
        return ""
    return (
        f'<span class="toolkit-outcome" data-outcome="{esc(outcome)}" '
        f'style="color:{outcome_color(outcome)};font-weight:600">{esc(outcome)}</span>'
    )


def milliseconds(seconds: float | None) -> str:
    """``12.3 ms`` (or empty for no value)."""
    return "" if seconds is None else f"{seconds * 1000.0:,.1f} ms"


def clock(at: datetime) -> str:
    """A time of day to the millisecond: ``14:03:07.250``."""
    return at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def empty(text: str, kind: str | None = None) -> str:
    """The note shown instead of a table with no rows (``kind`` marks which table)."""
    marker = "" if kind is None else f" toolkit-{kind}-empty"
    return f'<p class="toolkit-empty{marker}">{text}</p>'


def table(kind: str, headers: Sequence[str], rows: list[str], caption: str) -> str:
    """An HTML table of ready-made ``<tr>`` rows under escaped headers, with a caption."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(rows)
    return (
        f'<table class="toolkit-table toolkit-{kind}" data-rows="{len(rows)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f'<div class="toolkit-caption">{caption}</div>'
    )


def calls_table(records: Sequence[CallRecord], total: int) -> str:
    """The most recent calls, newest first (``records`` oldest first, as the history keeps them)."""
    if not records:
        return empty("No calls yet: press Run all.", "calls")
    rows = [
        f'<tr data-run="{r.run_id}" data-name="{esc(r.name)}">'
        f'<td>{clock(r.started_at)}</td><td class="num">{r.run_id}</td><td>{esc(r.name)}</td>'
        f"<td>{outcome_label(r.outcome)}{' (slow)' if r.slow else ''}</td>"
        f'<td class="num">{milliseconds(r.duration_s)}</td>'
        f"<td>{transition(r.state_before, r.state_after)}</td>"
        f"<td>{esc(r.fault or '')}</td><td>{clip(r.error)}</td></tr>"
        for r in reversed(records)
    ]
    headers = (
        "time (UTC)",
        "run",
        "integration",
        "outcome",
        "duration",
        "breaker",
        "fault",
        "error",
    )
    caption = f"{len(records)} most recent of {total} calls · all: toolkit.frames.calls(runner)"
    return table("calls", headers, rows, caption)


def events_table(events: Sequence[BreakerEvent], total: int) -> str:
    """The most recent breaker state changes, newest first."""
    if not events:
        return empty("No breaker has changed state yet.", "events")
    rows = [
        f'<tr data-name="{esc(e.name)}"><td>{clock(e.at)}</td><td>{esc(e.name)}</td>'
        f"<td>{transition(e.old_state, e.new_state)}</td></tr>"
        for e in reversed(events)
    ]
    caption = f"{len(events)} most recent of {total} · all: toolkit.frames.events(runner)"
    return table("events", ("time (UTC)", "integration", "change"), rows, caption)


def latency_table(rows: Sequence[LatencyRow], window: int, limit: int) -> str:
    """Latency of each integration's last ``window`` calls, worst p95 first, at most ``limit``."""
    if not rows:
        return empty("No calls yet.", "latency")
    shown = rows[:limit]
    lines = [
        latency_row(
            r.name, r.calls, r.success_rate, (r.p50_ms, r.p95_ms, r.max_ms), (r.failed, r.skipped)
        )
        for r in shown
    ]
    headers = ("integration", "calls", "ok", "p50", "p95", "max", "failed", "skipped")
    more = f"worst {len(shown)} of {len(rows)} by p95 · " if len(rows) > len(shown) else ""
    caption = f"{more}last {window} calls per integration · all: toolkit.frames.latency(runner)"
    return table("latency", headers, lines, caption)


def latency_row(
    name: str,
    calls: int,
    rate: float | None,
    latencies_ms: Sequence[float | None],
    counts: Sequence[int],
) -> str:
    """One latency table row: calls, success rate, the latencies (ms), then further counts."""
    rate_cell = (
        '<td class="num"></td>'
        if rate is None
        else f'<td class="num" style="background:{rate_color(rate)}">{rate:.0%}</td>'
    )
    ms = "".join(
        f'<td class="num">{"" if v is None else f"{v:,.1f} ms"}</td>' for v in latencies_ms
    )
    tail = "".join(f'<td class="num">{n}</td>' for n in counts)
    return (
        f'<tr data-name="{esc(name)}"><td>{esc(name)}</td><td class="num">{calls}</td>'
        f"{rate_cell}{ms}{tail}</tr>"
    )


def state_chips(states: Iterable[str]) -> str:
    """A chip per breaker state present in ``states``, with how many times it is there."""
    counts: dict[str, int] = dict.fromkeys(STATES, 0)
    for state in states:
        counts[state] += 1
    return " ".join(
        f'{chip(state)} <span class="toolkit-count" data-state="{state}">{n}</span>'
        for state, n in counts.items()
        if n
    )


def headline(statuses: list[BreakerStatus]) -> str:
    """The headline: how many integrations, and a chip per state with its count."""
    chips = state_chips(s.state for s in statuses)
    noun = "integration" if len(statuses) == 1 else "integrations"
    down = next((s.storage for s in statuses if not s.storage_ok), None)
    storage = (
        ""
        if down is None
        else f' · <span class="toolkit-storage" data-ok="false" style="color:#cf222e;'
        f'font-weight:600">{esc(down)} storage unreachable: breaker state kept locally</span>'
    )
    return (
        f'<div style="font-size:15px;margin:4px 0"><b>Integration health</b> · '
        f"{len(statuses)} {noun} {chips}{storage}</div>"
    )
