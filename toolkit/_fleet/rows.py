"""The fleet dashboard's pieces: one row per breaker, and the fleet's calls as HTML tables.

Built on the runner dashboard's components (its row, badge, table helpers and CSS), so
the two look the same; every text that came from Redis is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import ipywidgets as widgets

from toolkit._engine.status import BreakerStatus
from toolkit._fleet.status import FleetBreaker
from toolkit._view.dashboard.row import (
    BADGE_WIDTH,
    NAME_WIDTH,
    BreakerRow,
    badge_html,
    columns_html,
)
from toolkit._view.dashboard.tables import (
    clip,
    clock,
    empty,
    esc,
    latency_row,
    milliseconds,
    outcome_label,
    table,
    transition,
)
from toolkit._view.palette import MUTED_COLOR

DETAILS_WIDTH = "330px"

Entry = tuple[str, dict[str, str]]


def as_status(breaker: FleetBreaker, storage_ok: bool) -> BreakerStatus:
    """A ``BreakerStatus`` of a fleet breaker, for the runner dashboard's badge."""
    return BreakerStatus(
        name=breaker.name,
        display_name=breaker.name,
        state=breaker.state,
        failures=breaker.failures,
        fail_max=breaker.fail_max or 0,
        opened_at=None
        if breaker.opened_at is None
        else datetime.fromtimestamp(breaker.opened_at, UTC),
        trial_in_s=breaker.trial_in_s,
        timeout_s=breaker.timeout_s or math.nan,
        reset_timeout_s=breaker.reset_timeout_s,
        in_flight=False,
        fault=None,
        last_outcome=None,
        last_duration_s=None,
        last_error=None,
        taken_at=datetime.fromtimestamp(breaker.taken_at, UTC),
        storage="redis",
        storage_ok=storage_ok,
    )


def details_html(breaker: FleetBreaker) -> str:
    """Failures against fail_max, the wait after opening, and who published the policy."""
    fail_max = "?" if breaker.fail_max is None else str(breaker.fail_max)
    worker = breaker.worker or "plain pybreaker (no policy published)"
    return (
        f'<span class="toolkit-failures" style="display:inline-block;width:70px" '
        f'title="failures / fail_max">{breaker.failures} / {esc(fail_max)}</span>'
        f'<span style="display:inline-block;width:90px" title="reset_timeout">'
        f"wait {breaker.reset_timeout_s:g} s</span>"
        f'<span class="toolkit-worker" style="color:{MUTED_COLOR};font-size:11px" '
        f'title="policy published by">{clip(worker, 40)}</span>'
    )


def header_html() -> str:
    """Column titles lined up with the rows."""
    return columns_html(
        [
            ("integration", NAME_WIDTH),
            ("breaker (every worker)", BADGE_WIDTH),
            ("failures", "74px"),
            ("policy", DETAILS_WIDTH),
            ("controls (fleet-wide)", "220px"),
        ]
    )


class FleetRow(BreakerRow):
    """One breaker of the fleet with Trip, Reset and Isolate; ``show`` updates what changed."""

    def __init__(self, name: str) -> None:
        small = {"width": "68px"}
        self.trip = widgets.Button(
            description="Trip", tooltip="open this breaker in every worker", layout=small
        )
        self.reset = widgets.Button(
            description="Reset", tooltip="close this breaker in every worker", layout=small
        )
        self.isolate = widgets.Button(
            description="Isolate", tooltip="hold it open in every worker until reset", layout=small
        )
        self._key: tuple[object, ...] | None = None
        controls = [
            (self.trip, "toolkit-trip"),
            (self.reset, "toolkit-reset"),
            (self.isolate, "toolkit-isolate"),
        ]
        super().__init__(name, name, DETAILS_WIDTH, controls)

    def show(self, breaker: FleetBreaker, storage_ok: bool) -> bool:
        """Bring the row up to date; True when anything changed."""
        status = as_status(breaker, storage_ok)
        key = (
            status.state, status.trial_label, breaker.failures, breaker.fail_max,
            breaker.reset_timeout_s, breaker.worker,
        )  # fmt: skip
        if key == self._key:
            return False
        self._key = key
        self.badge.value = badge_html(status, False)
        self.details.value = details_html(breaker)
        return True


def _clock(epoch: float) -> str:
    return clock(datetime.fromtimestamp(epoch, UTC))


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def calls_table(entries: Sequence[Entry], limit: int) -> str:
    """The fleet's most recent calls, newest first, with the worker that made each."""
    if not entries:
        return empty("No calls in the stream yet: start a worker.", "calls")
    shown = list(reversed(entries))[:limit]
    rows = []
    for _, f in shown:
        started = _float(f.get("started_at"))
        duration = _float(f.get("duration_s"))
        rows.append(
            f'<tr data-worker="{esc(f.get("worker", ""))}" data-name="{esc(f.get("name", ""))}">'
            f"<td>{'' if started is None else _clock(started)}</td>"
            f"<td>{esc(f.get('worker', ''))}</td><td>{esc(f.get('name', ''))}</td>"
            f"<td>{outcome_label(f.get('outcome'))}</td>"
            f'<td class="num">{milliseconds(duration)}</td>'
            f"<td>{transition(f.get('state_before', ''), f.get('state_after', ''))}</td>"
            f"<td>{clip(f.get('error'))}</td></tr>"
        )
    headers = ("time (UTC)", "worker", "integration", "outcome", "duration", "breaker", "error")
    caption = f"{len(shown)} most recent calls · all: fleet.calls()"
    return table("calls", headers, rows, caption)


def workers_table(entries: Sequence[Entry]) -> str:
    """Each worker seen in the recent calls: how many calls, and when it last called."""
    if not entries:
        return empty("No worker has called yet.")
    calls: Counter[str] = Counter()
    last: dict[str, float] = {}
    for _, f in entries:
        worker = f.get("worker", "")
        calls[worker] += 1
        started = _float(f.get("started_at"))
        if started is not None:
            last[worker] = max(last.get(worker, started), started)
    rows = [
        f'<tr data-worker="{esc(w)}"><td>{esc(w)}</td><td class="num">{n}</td>'
        f"<td>{_clock(last[w]) if w in last else ''}</td></tr>"
        for w, n in sorted(calls.items())
    ]
    caption = f"over the last {len(entries)} calls in the stream"
    return table("workers", ("worker", "calls", "last call (UTC)"), rows, caption)


def latency_table(entries: Sequence[Entry], limit: int) -> str:
    """Per integration over the recent calls: calls, success rate, p50, p95, max; worst first."""
    if not entries:
        return empty("No calls yet.", "latency")
    from toolkit._fleet import frames

    frame = frames.latency(frames.calls(entries))
    rows = [
        latency_row(
            r["name"],
            r["calls"],
            _number(r["success_rate"]),
            (_number(r["p50_ms"]), _number(r["p95_ms"]), _number(r["max_ms"])),
            (r["circuit_open"],),
        )
        for r in frame.head(limit).to_dict("records")
    ]
    headers = ("integration", "calls", "ok", "p50", "p95", "max", "skipped")
    caption = f"over the last {len(entries)} calls of every worker · all: fleet.latency()"
    return table("latency", headers, rows, caption)


def _number(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number
