"""The fleet dashboard's pieces: one row per breaker, and the fleet's calls as HTML tables.

Built on the runner dashboard's components (its badge, table helpers and CSS), so
the two look the same; every text that came from Redis is escaped.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

import ipywidgets as widgets

from toolkit._dashboard._row import badge_html, name_html
from toolkit._dashboard._tables import chip, clip, esc, outcome_label
from toolkit._fleet import FleetBreaker
from toolkit._palette import MUTED_COLOR, rate_color
from toolkit._status import BreakerStatus

NAME_WIDTH = "210px"
BADGE_WIDTH = "190px"
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

    def title(text: str, width: str) -> str:
        return f'<span style="display:inline-block;width:{width};font-weight:600">{text}</span>'

    return (
        f'<div class="toolkit-header" style="color:{MUTED_COLOR};font-size:12px">'
        + title("integration", NAME_WIDTH)
        + title("breaker (every worker)", BADGE_WIDTH)
        + title("failures", "74px")
        + title("policy", DETAILS_WIDTH)
        + title("controls (fleet-wide)", "220px")
        + "</div>"
    )


class FleetRow(widgets.HBox):
    """One breaker of the fleet with Trip, Reset and Isolate; ``show`` updates what changed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.label = widgets.HTML(name_html(name, name), layout={"width": NAME_WIDTH})
        self.badge = widgets.HTML(layout={"width": BADGE_WIDTH})
        self.details = widgets.HTML(layout={"width": DETAILS_WIDTH})
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
        for widget, css in (
            (self.label, "toolkit-name-cell"),
            (self.badge, "toolkit-badge-cell"),
            (self.details, "toolkit-details"),
            (self.trip, "toolkit-trip"),
            (self.reset, "toolkit-reset"),
            (self.isolate, "toolkit-isolate"),
        ):
            widget.add_class(css)
        self._key: tuple[object, ...] | None = None
        super().__init__(
            [self.label, self.badge, self.details, self.trip, self.reset, self.isolate],
            layout={"align_items": "center", "border_bottom": "1px solid #eaeef2"},
        )
        self.add_class("toolkit-row")

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
    at = datetime.fromtimestamp(epoch, UTC)
    return at.strftime("%H:%M:%S.") + f"{at.microsecond // 1000:03d}"


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _table(kind: str, headers: Sequence[str], rows: list[str], caption: str) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return (
        f'<table class="toolkit-table toolkit-{kind}" data-rows="{len(rows)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<div class="toolkit-caption">{caption}</div>'
    )


def calls_table(entries: Sequence[Entry], limit: int) -> str:
    """The fleet's most recent calls, newest first, with the worker that made each."""
    if not entries:
        return (
            '<p class="toolkit-empty toolkit-calls-empty">'
            "No calls in the stream yet: start a worker.</p>"
        )
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
            f'<td class="num">{"" if duration is None else f"{duration * 1000:,.1f} ms"}</td>'
            f"<td>{chip(f.get('state_before', ''))} → {chip(f.get('state_after', ''))}</td>"
            f"<td>{clip(f.get('error'))}</td></tr>"
        )
    headers = ("time (UTC)", "worker", "integration", "outcome", "duration", "breaker", "error")
    caption = f"{len(shown)} most recent calls · all: fleet.calls()"
    return _table("calls", headers, rows, caption)


def workers_table(entries: Sequence[Entry]) -> str:
    """Each worker seen in the recent calls: how many calls, and when it last called."""
    if not entries:
        return '<p class="toolkit-empty">No worker has called yet.</p>'
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
    return _table("workers", ("worker", "calls", "last call (UTC)"), rows, caption)


def latency_table(entries: Sequence[Entry], limit: int) -> str:
    """Per integration over the recent calls: calls, success rate, p50, p95, max; worst first."""
    if not entries:
        return '<p class="toolkit-empty toolkit-latency-empty">No calls yet.</p>'
    from toolkit import _fleet_frames

    frame = _fleet_frames.latency(_fleet_frames.calls(entries))
    rows = []
    for r in frame.head(limit).to_dict("records"):
        rate = float(r["success_rate"])
        rate_cell = (
            '<td class="num"></td>'
            if math.isnan(rate)
            else f'<td class="num" style="background:{rate_color(rate)}">{rate:.0%}</td>'
        )
        name = esc(r["name"])
        rows.append(
            f'<tr data-name="{name}"><td>{name}</td><td class="num">{r["calls"]}</td>'
            f'{rate_cell}<td class="num">{_ms(r["p50_ms"])}</td>'
            f'<td class="num">{_ms(r["p95_ms"])}</td><td class="num">{_ms(r["max_ms"])}</td>'
            f'<td class="num">{r["circuit_open"]}</td></tr>'
        )
    headers = ("integration", "calls", "ok", "p50", "p95", "max", "skipped")
    caption = f"over the last {len(entries)} calls of every worker · all: fleet.latency()"
    return _table("latency", headers, rows, caption)


def _ms(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "" if math.isnan(number) else f"{number:,.1f} ms"
