"""FleetDashboard: every worker's breakers live, with fleet-wide Trip, Reset and Isolate.

The runner ``Dashboard``'s look and refresh loop (``LiveView``) over a ``Fleet``: one row
per breaker found in Redis (new ones appear as workers create them), the recent
calls of every worker with a worker column, latency over those calls, and the
workers seen. Displayed in a kernel it refreshes itself every ``interval`` seconds
until ``close()``. Redis being unreachable never raises out of it: the title says
so, and it retries with a growing pause (up to ten seconds) so a dead Redis does not
hold the kernel on every tick.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets

from toolkit._engine.errors import StorageError
from toolkit._fleet.rows import (
    FleetRow,
    calls_table,
    header_html,
    latency_table,
    workers_table,
)
from toolkit._view.dashboard.live import LiveView, area
from toolkit._view.dashboard.tables import esc, state_chips

if TYPE_CHECKING:
    from toolkit._fleet.status import FleetBreaker, FleetSource

logger = logging.getLogger("toolkit.dashboard")

WINDOW = 500
"""Stream entries read per refresh (the newest), for the tables."""
RETRY_MAX = 10.0


class FleetDashboard(LiveView):
    """The fleet's breakers at a glance; Trip, Reset and Isolate act in every worker."""

    _task_name = "toolkit-fleet-dashboard: refresh"
    _log_prefix = "fleet dashboard"

    def __init__(self, fleet: FleetSource, *, interval: float = 1.0, recent: int = 20) -> None:
        self._setup(interval, recent)
        self.fleet = fleet
        self.available = True
        self._last_entry: str | None = None
        self._retry_at = 0.0
        self._pause = self.interval
        self.reset_all = widgets.Button(description="Reset all", tooltip="close every breaker")
        self.reset_all.on_click(lambda _: self._act("Reset all", fleet.reset_all))
        self.rows: dict[str, FleetRow] = {}
        self.table = widgets.VBox()
        self.workers = area("toolkit-workers-area")
        self._lay_out(
            self.reset_all,
            header_html(),
            self.table,
            "Recent calls, every worker",
            "Workers",
            self.workers,
        )
        self.add_class("toolkit-fleet-dashboard")
        self.refresh()

    # ------------------------------------------------------------- refresh
    def refresh(self, *, rescan: bool = True) -> None:
        """Read the fleet now and bring rows and tables up to date; never raises.

        The timer's refreshes pass ``rescan=False``: plain pybreaker breakers are then
        looked for by a SCAN every ``SCAN_EVERY`` seconds, not on every tick.
        """
        try:
            breakers = self.fleet.statuses(rescan=rescan)
            entries = self.fleet.entries(WINDOW)
        except StorageError as exc:
            self._down(exc)
            return
        if not self.available:
            logger.info("fleet dashboard: Redis at %s answers again", self.fleet.url)
            self._clear_error()
        self.available = True
        self._pause = self.interval
        self._show_rows(breakers)
        self.title.value = _title(self.fleet, breakers, True)
        newest = entries[-1][0] if entries else None
        if newest != self._last_entry:
            self._last_entry = newest
            self.calls.value = calls_table(entries, self.recent)
            self.latency.value = latency_table(entries, self.recent)
            self.workers.value = workers_table(entries)
        self.refreshes += 1

    def _show_rows(self, breakers: list[FleetBreaker]) -> None:
        names = [b.name for b in breakers]
        if names != list(self.rows):
            rows = {}
            for name in names:
                row = self.rows.get(name)
                if row is None:
                    row = FleetRow(name)
                    self._wire(row)
                rows[name] = row
            for name, row in self.rows.items():
                if name not in rows:
                    row.close()
            self.rows = rows
            self.table.children = tuple(rows.values())
        for breaker in breakers:
            self.rows[breaker.name].show(breaker, True)

    def _down(self, exc: StorageError) -> None:
        """Redis did not answer: say so, keep the last rows, and wait longer before retrying."""
        was_available, self.available = self.available, False
        self._retry_at = time.monotonic() + self._pause
        self._pause = min(self._pause * 2, RETRY_MAX)
        self.title.value = _title(self.fleet, None, False)
        if was_available:
            self._report("refresh", exc)
        self.refreshes += 1

    def _safe_refresh(self) -> None:
        try:
            self.refresh(rescan=False)
        except Exception as exc:
            self._report("refresh", exc)

    def _due(self) -> bool:
        """Every tick while Redis answers; once it stopped, only when the pause is over."""
        return self.available or time.monotonic() >= self._retry_at

    # ------------------------------------------------------------- actions
    def _wire(self, row: FleetRow) -> None:
        fleet, name = self.fleet, row.name
        row.trip.on_click(lambda _: self._act(f"Trip {name!r}", lambda: fleet.trip(name)))
        row.reset.on_click(lambda _: self._act(f"Reset {name!r}", lambda: fleet.reset(name)))
        row.isolate.on_click(lambda _: self._act(f"Isolate {name!r}", lambda: fleet.isolate(name)))

    def __repr__(self) -> str:
        return f"<FleetDashboard {self.fleet.namespace!r}: {len(self.rows)} breakers, {self._mode}>"


def _title(fleet: FleetSource, breakers: list[FleetBreaker] | None, ok: bool) -> str:
    """The headline: namespace, Redis reachability, and a chip per state with its count."""
    redis_state = (
        '<span class="toolkit-storage" data-ok="true" style="color:#1a7f37">Redis ok</span>'
        if ok
        else '<span class="toolkit-storage" data-ok="false" style="color:#cf222e;'
        'font-weight:600">Redis unreachable: showing the last state read</span>'
    )
    counts = ""
    if breakers is not None:
        counts = f" · {len(breakers)} breaker{'s' if len(breakers) != 1 else ''} " + state_chips(
            b.state for b in breakers
        )
    return (
        f'<div style="font-size:15px;margin:4px 0"><b>Fleet health</b> · '
        f"namespace <code>{esc(fleet.namespace)}</code> at {esc(fleet.url)} · "
        f"{redis_state}{counts}</div>"
    )
