"""FleetDashboard: every worker's breakers live, with fleet-wide Trip, Reset and Isolate.

The runner ``Dashboard``'s look (its badges, tables and CSS) over a ``Fleet``: one row
per breaker found in Redis (new ones appear as workers create them), the recent
calls of every worker with a worker column, latency over those calls, and the
workers seen. Displayed in a kernel it refreshes itself every ``interval`` seconds
until ``close()``. Redis being unreachable never raises out of it: the title says
so, and it retries with a growing pause (up to ten seconds) so a dead Redis does not
hold the kernel on every tick.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from toolkit._dashboard._actions import Actions, running_loop
from toolkit._dashboard._tables import STYLE, chip, esc
from toolkit._errors import ConfigError, StorageError, ToolkitError
from toolkit._fleet_rows import (
    FleetRow,
    calls_table,
    header_html,
    latency_table,
    workers_table,
)
from toolkit._history import STATES

if TYPE_CHECKING:
    from toolkit._fleet import Fleet, FleetBreaker

logger = logging.getLogger("toolkit.dashboard")

WINDOW = 500
"""Stream entries read per refresh (the newest), for the tables."""
RETRY_MAX = 10.0


class FleetDashboard(widgets.VBox):
    """The fleet's breakers at a glance; Trip, Reset and Isolate act in every worker."""

    def __init__(self, fleet: Fleet, *, interval: float = 1.0, recent: int = 20) -> None:
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not (math.isfinite(interval) and interval > 0)
        ):
            raise ConfigError(f"interval must be a number of seconds > 0, got {interval!r}")
        if isinstance(recent, bool) or not isinstance(recent, int) or recent < 1:
            raise ConfigError(f"recent must be a whole number of rows >= 1, got {recent!r}")
        self.fleet = fleet
        self.interval = float(interval)
        self.recent = recent
        self.available = True
        self.refreshes = 0
        self._actions = Actions(self._report, self._landed)
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._last_logged = ""
        self._last_entry: str | None = None
        self._retry_at = 0.0
        self._pause = self.interval

        self.title = widgets.HTML()
        self.title.add_class("toolkit-title")
        self.error = widgets.HTML()
        self.error.add_class("toolkit-error-area")
        self.reset_all = widgets.Button(description="Reset all", tooltip="close every breaker")
        self.reset_all.on_click(lambda _: self._act("Reset all", fleet.reset_all))
        self.rows: dict[str, FleetRow] = {}
        self.table = widgets.VBox()
        self.calls = widgets.HTML()
        self.calls.add_class("toolkit-calls-area")
        self.latency = widgets.HTML(layout={"margin": "0 24px 0 0"})
        self.latency.add_class("toolkit-latency-area")
        self.workers = widgets.HTML()
        self.workers.add_class("toolkit-workers-area")

        def heading(text: str) -> widgets.HTML:
            return widgets.HTML(f"<h4 style='margin:10px 0 2px 0'>{text}</h4>")

        super().__init__(
            [
                widgets.HTML(STYLE),
                self.title,
                self.reset_all,
                self.error,
                widgets.HTML(header_html()),
                self.table,
                heading("Recent calls, every worker"),
                self.calls,
                widgets.HBox(
                    [
                        widgets.VBox([heading("Latency"), self.latency]),
                        widgets.VBox([heading("Workers"), self.workers]),
                    ]
                ),
            ]
        )
        self.add_class("toolkit-dashboard")
        self.add_class("toolkit-fleet-dashboard")
        self.refresh()

    # ------------------------------------------------------------- refresh
    def refresh(self) -> None:
        """Read the fleet now and bring rows and tables up to date; never raises."""
        try:
            breakers = self.fleet.statuses()
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
            self.refresh()
        except Exception as exc:
            self._report("refresh", exc)

    def _landed(self) -> None:
        if not self._closed:
            self._safe_refresh()

    # -------------------------------------------------------------- timer
    def start(self) -> bool:
        """Refresh every ``interval`` seconds on the running event loop; False without one."""
        if self._closed:
            return False
        if self._timer is not None and not self._timer.done():
            return True
        loop = running_loop()
        if loop is None:
            return False
        self._timer = loop.create_task(self._tick(), name="toolkit-fleet-dashboard: refresh")
        return True

    def stop(self) -> None:
        """Stop refreshing on its own (``refresh()`` still works)."""
        timer, self._timer = getattr(self, "_timer", None), None
        if timer is not None:
            timer.cancel()

    @property
    def live(self) -> bool:
        """True while the dashboard refreshes itself."""
        return self._timer is not None and not self._timer.done()

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.interval)
            if self.available or time.monotonic() >= self._retry_at:
                self._safe_refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Displaying the dashboard starts its refresh."""
        self.start()
        return super()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop refreshing and close every widget of the dashboard."""
        self._closed = True
        self.stop()
        for row in getattr(self, "rows", {}).values():  # none when __init__ refused
            row.close()
        _close_tree(self.children)
        super().close()

    # ------------------------------------------------------------- actions
    def _wire(self, row: FleetRow) -> None:
        fleet, name = self.fleet, row.name
        row.trip.on_click(lambda _: self._act(f"Trip {name!r}", lambda: fleet.trip(name)))
        row.reset.on_click(lambda _: self._act(f"Reset {name!r}", lambda: fleet.reset(name)))
        row.isolate.on_click(lambda _: self._act(f"Isolate {name!r}", lambda: fleet.isolate(name)))

    def _act(self, label: str, handler: Callable[[], object]) -> None:
        if self._actions.do(label, handler):
            self._clear_error()
        self._safe_refresh()

    # -------------------------------------------------------------- errors
    def _report(self, label: str, exc: BaseException) -> None:
        """Show a failure on the dashboard and log it once; never raise."""
        text = f"{label} failed: {type(exc).__name__}: {exc}"
        if text != self._last_logged:
            trace = None if isinstance(exc, ToolkitError) else (type(exc), exc, exc.__traceback__)
            logger.error("fleet dashboard: %s", text, exc_info=trace)
            self._last_logged = text
        stamp = time.strftime("%H:%M:%S")
        self.error.value = (
            f'<div class="toolkit-error" style="color:#cf222e;background:#ffebe9;'
            f'border:1px solid #ff8182;border-radius:6px;padding:4px 8px;margin:4px 0">'
            f"{esc(stamp)} · {esc(text)}</div>"
        )

    def _clear_error(self) -> None:
        self.error.value = ""
        self._last_logged = ""

    @property
    def last_error(self) -> str:
        """The error shown on the dashboard, as plain text ("" when none)."""
        import html
        import re

        return html.unescape(re.sub(r"<[^>]+>", "", self.error.value))

    def __repr__(self) -> str:
        mode = "live" if self.live else "closed" if self._closed else "not refreshing"
        return f"<FleetDashboard {self.fleet.namespace!r}: {len(self.rows)} breakers, {mode}>"


def _title(fleet: Fleet, breakers: list[FleetBreaker] | None, ok: bool) -> str:
    """The headline: namespace, Redis reachability, and a chip per state with its count."""
    redis_state = (
        '<span class="toolkit-storage" data-ok="true" style="color:#1a7f37">Redis ok</span>'
        if ok
        else '<span class="toolkit-storage" data-ok="false" style="color:#cf222e;'
        'font-weight:600">Redis unreachable: showing the last state read</span>'
    )
    counts = ""
    if breakers is not None:
        tally = {state: 0 for state in STATES}
        for breaker in breakers:
            tally[breaker.state] += 1
        counts = f" · {len(breakers)} breaker{'s' if len(breakers) != 1 else ''} " + " ".join(
            f'{chip(s)} <span class="toolkit-count" data-state="{s}">{n}</span>'
            for s, n in tally.items()
            if n
        )
    return (
        f'<div style="font-size:15px;margin:4px 0"><b>Fleet health</b> · '
        f"namespace <code>{esc(fleet.namespace)}</code> at {esc(fleet.url)} · "
        f"{redis_state}{counts}</div>"
    )


def _close_tree(children: tuple[widgets.Widget, ...]) -> None:
    for child in children:
        if isinstance(child, widgets.Box):
            _close_tree(child.children)
        child.close()
