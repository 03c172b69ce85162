"""FleetDashboard: every worker's breakers live, with fleet-wide Trip, Reset and Isolate.

The runner ``Dashboard``'s widget and page (``LiveView``) over a ``Fleet``: one row
per breaker found in Redis (new ones appear as workers create them) with its state,
since when, why, the trial countdown and a sparkline of its last calls from every
worker; the recent calls with a worker column, latency over them, and the workers
seen. Displayed in a kernel it refreshes itself every ``interval`` seconds until
``close()``, sending the page only what changed. Redis being unreachable never
raises out of it: the head says so, the last rows stay, and it retries with a
growing pause (up to ten seconds) so a dead Redis does not hold the kernel on
every tick.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from toolkit._engine.errors import StorageError
from toolkit._view.dashboard.live import LiveView, Model
from toolkit._view.dashboard.model import Row, figures, maybe_text, number, plural, spark, text
from toolkit._view.dashboard.recent import Call
from toolkit._view.dashboard.timeline import SPAN_S

if TYPE_CHECKING:
    from toolkit._fleet.status import FleetBreaker, FleetSource

logger = logging.getLogger("toolkit.dashboard")

WINDOW = 500
"""Stream entries read per refresh (the newest), for the rows' sparklines and the tables."""
SPARK = 50
"""Calls per breaker in its sparkline and latency figures."""
RETRY_MAX = 10.0

Entry = tuple[str, dict[str, str]]


class FleetDashboard(LiveView):
    """The fleet's breakers at a glance; Trip, Reset and Isolate act in every worker."""

    _task_name = "toolkit-fleet-dashboard: refresh"
    _log_prefix = "fleet dashboard"

    def __init__(self, fleet: FleetSource, *, interval: float = 1.0, recent: int = 20) -> None:
        super().__init__()
        self._setup(interval, recent)
        self.fleet = fleet
        self.available = True
        self._retry_at = 0.0
        self._pause = self.interval
        self._breakers: list[FleetBreaker] = []
        self._entries: list[Entry] = []
        self._lanes: dict[str, deque[list[object]]] = {}
        self._start_model()

    # ------------------------------------------------------------- the model
    def refresh(self, *, rescan: bool = True) -> None:
        """Read the fleet now and send the page what changed; never raises.

        The timer's refreshes pass ``rescan=False``: plain pybreaker breakers are then
        looked for by a SCAN every ``SCAN_EVERY`` seconds, not on every tick.
        """
        self._rescan = rescan
        super().refresh()

    def _build(self) -> Model:
        try:
            self._breakers = self.fleet.statuses(rescan=getattr(self, "_rescan", True))
            self._entries = self.fleet.entries(WINDOW)
        except StorageError as exc:
            self._down(exc)
        else:
            if not self.available:
                logger.info("fleet dashboard: Redis at %s answers again", self.fleet.url)
                self._clear_error()
            self.available = True
            self._pause = self.interval
        by_name: dict[str, list[Call]] = {}
        for _, fields in self._entries:
            call = _call(fields)
            if call is not None:
                by_name.setdefault(fields.get("name", ""), []).append(call)
        rows: dict[str, Row] = {}
        for breaker in self._breakers:
            rows[breaker.name] = self._row(breaker, by_name.get(breaker.name, [])[-SPARK:])
        return {
            "head": self._head(),
            "order": [b.name for b in self._breakers],
            "rows": rows,
            "calls": self._calls_table(),
            "events": [],
            "workers": _workers(self._entries),
        }

    def _head(self) -> dict[str, Any]:
        fleet = self.fleet
        storage = (
            f"Redis ok at {text(fleet.url)}"
            if self.available
            else "Redis unreachable: showing the last state read"
        )
        return {
            "kind": "fleet",
            "title": f"Fleet health · namespace {text(fleet.namespace)}",
            "controls": ["trip", "reset", "isolate"],
            "global": ["reset_all"],
            "faults": [],
            "policy": None,
            "error": self._error,
            "interval": self.interval,
            "span": SPAN_S,
            "window": SPARK,
            "storage": {"kind": "redis", "ok": self.available, "text": storage},
            "totals": {"calls": len(self._entries), "events": 0},
            "recent": self.recent,
        }

    def _row(self, breaker: FleetBreaker, calls: list[Call]) -> Row:
        name = breaker.name
        lane = self._lanes.setdefault(name, deque(maxlen=8))
        since = breaker.opened_at if breaker.state != "closed" else None
        if not lane or lane[-1][1] != breaker.state:
            lane.append([round(since if since is not None else breaker.taken_at, 3), breaker.state])
        trial_at = (
            round(breaker.taken_at + breaker.trial_in_s, 1)
            if breaker.state == "open" and breaker.trial_in_s is not None
            else None
        )
        last = calls[-1] if calls else None
        fail_max = "?" if breaker.fail_max is None else str(breaker.fail_max)
        publisher = breaker.worker or "plain pybreaker (no policy published)"
        return {
            "name": text(name),
            "label": text(name),
            "state": breaker.state,
            "since": None if since is None else round(since, 3),
            "why": _why(breaker),
            "trial_at": trial_at,
            "running": False,
            "fault": None,
            "fault_kind": "none",
            "failures": breaker.failures,
            "fail_max": breaker.fail_max,
            "timeout": number(breaker.timeout_s, 3),
            "reset_timeout": number(breaker.reset_timeout_s, 3),
            "last": None
            if last is None
            else {"outcome": last.outcome, "ms": number(last.seconds * 1000), "error": None},
            "detail": text(
                f"wait {breaker.reset_timeout_s:g} s, fail_max {fail_max}; policy from {publisher}"
            ),
            "rates": None,
            "spark": spark(calls),
            "fig": figures(calls),
            "lane": list(lane),
        }

    def _calls_table(self) -> list[dict[str, Any]]:
        shown = self._entries[-self.recent :]
        base = len(self._entries) - len(shown)
        table = []
        for i, (entry_id, f) in enumerate(shown):
            started = _float(f.get("started_at"))
            duration = _float(f.get("duration_s"))
            table.append({
                "seq": _seq(entry_id, base + i),
                "at": started or 0.0,
                "run": None,
                "worker": text(f.get("worker", "")),
                "name": text(f.get("name", "")),
                "outcome": text(f.get("outcome", ""), 40),
                "slow": False,
                "ms": number(None if duration is None else duration * 1000),
                "before": text(f.get("state_before", ""), 40),
                "after": text(f.get("state_after", ""), 40),
                "fault": None,
                "error": maybe_text(f.get("error")),
            })  # fmt: skip
        return table

    def _down(self, exc: StorageError) -> None:
        """Redis did not answer: say so, keep the last rows, and wait longer before retrying."""
        was_available, self.available = self.available, False
        self._retry_at = time.monotonic() + self._pause
        self._pause = min(self._pause * 2, RETRY_MAX)
        if was_available:
            self._report("refresh", exc)

    def _safe_refresh(self) -> None:
        try:
            self.refresh(rescan=False)
        except Exception as exc:
            self._report("refresh", exc)
            self._push_error()

    def _due(self) -> bool:
        """Every tick while Redis answers; once it stopped, only when the pause is over."""
        return self.available or time.monotonic() >= self._retry_at

    # ------------------------------------------------------------- actions
    def _actions_map(self) -> dict[str, Callable[[Any, Any], object]]:
        fleet = self.fleet
        return {
            "trip": lambda name, _: fleet.trip(name),
            "reset": lambda name, _: fleet.reset(name),
            "isolate": lambda name, _: fleet.isolate(name),
            "reset_all": lambda _, __: fleet.reset_all(),
        }

    @property
    def headline(self) -> str:
        """Who in the fleet is failing, as the page's headline shows it."""
        from toolkit._view.dashboard.model import headline

        rows = [self._model["rows"][n] for n in self._model["order"]]
        return headline(rows, time.time())

    def __repr__(self) -> str:
        return (
            f"<FleetDashboard {self.fleet.namespace!r}: "
            f"{len(self._model.get('order', ()))} breakers, {self._mode}>"
        )


def _why(breaker: FleetBreaker) -> str:
    """Why a fleet breaker is not closed, as far as Redis tells."""
    if breaker.state == "closed":
        return ""
    if breaker.state == "isolated":
        return "isolated by hand: no trial until Reset"
    if breaker.fail_max is not None and breaker.failures >= breaker.fail_max:
        return f"{plural(breaker.failures, 'failure')} in a row (fail_max {breaker.fail_max})"
    return "opened by a worker or by hand"


def _float(value: str | None) -> float | None:
    try:
        number_ = float(value) if value is not None else None
    except ValueError:
        return None
    return number_ if number_ is not None and math.isfinite(number_) else None


def _seq(entry_id: str, fallback: int) -> float:
    """A stream entry id (``1700000000000-3``) as a number that grows with the stream."""
    ms_part, _, counter = entry_id.partition("-")
    try:
        return int(ms_part) * 1000 + int(counter or 0)
    except ValueError:
        return fallback


def _call(fields: dict[str, str]) -> Call | None:
    started = _float(fields.get("started_at"))
    duration = _float(fields.get("duration_s"))
    if started is None:
        return None
    return Call(
        started,
        duration if duration is not None else math.nan,
        fields.get("outcome", "error"),
        fields.get("state_before", ""),
        fields.get("state_after", ""),
    )


def _workers(entries: Sequence[Entry]) -> list[dict[str, Any]]:
    """Each worker seen in the recent calls: how many calls, and when it last called."""
    calls: Counter[str] = Counter()
    last: dict[str, float] = {}
    for _, f in entries:
        worker = f.get("worker", "")
        calls[worker] += 1
        started = _float(f.get("started_at"))
        if started is not None:
            last[worker] = max(last.get(worker, started), started)
    return [{"worker": text(w), "calls": n, "last": last.get(w)} for w, n in sorted(calls.items())]
