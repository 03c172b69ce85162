"""Dashboard: the live view of an ``IntegrationRunner`` with controls, as an ipywidgets widget.

Content lives in widget state (HTML and Label values), so it renders in JupyterLab
and Voila and can be read without a kernel. While displayed inside a kernel it
refreshes itself every ``interval`` seconds: the rows every tick (countdowns move
on their own), the tables and fields only when ``runner.version`` moved. A refresh
reads ``runner.statuses()`` and bounded tails of the history, never all of it.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from toolkit._dashboard._actions import Actions, running_loop
from toolkit._dashboard._controls import POLICY_FIELDS, GlobalControls
from toolkit._dashboard._row import IntegrationRow, fault_for, header_html
from toolkit._dashboard._stats import LatencyWindow
from toolkit._dashboard._tables import (
    STYLE,
    calls_table,
    esc,
    events_table,
    headline,
    latency_table,
)
from toolkit._errors import ConfigError, ToolkitError

if TYPE_CHECKING:
    from toolkit._runner import IntegrationRunner

logger = logging.getLogger("toolkit.dashboard")


class Dashboard(widgets.VBox):
    """Every integration's breaker at a glance, with Trip, Reset, Rerun and fault controls.

    ``Dashboard(runner)`` as the last line of a cell shows it; it then refreshes
    itself about once a second until ``close()``. ``refresh()`` updates it by hand.
    """

    def __init__(
        self,
        runner: IntegrationRunner,
        *,
        interval: float = 1.0,
        recent: int = 20,
        window: int = 100,
    ) -> None:
        if (
            isinstance(interval, bool)
            or not isinstance(interval, int | float)
            or not (math.isfinite(interval) and interval > 0)
        ):
            raise ConfigError(f"interval must be a number of seconds > 0, got {interval!r}")
        if isinstance(recent, bool) or not isinstance(recent, int) or recent < 1:
            raise ConfigError(f"recent must be a whole number of rows >= 1, got {recent!r}")
        self.runner = runner
        self.interval = float(interval)
        self.recent = recent
        self._stats = LatencyWindow(window)
        self._actions = Actions(self._report, self._landed)
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._seen: tuple[int, int, int] | None = None
        self._last_logged = ""
        self.refreshes = 0

        self.title = widgets.HTML()
        self.title.add_class("toolkit-title")
        self.error = widgets.HTML()
        self.error.add_class("toolkit-error-area")
        self.controls = GlobalControls()
        self.rows: dict[str, IntegrationRow] = {}
        for status in runner.statuses():
            row = IntegrationRow(status.name, status.display_name)
            self._wire(row)
            self.rows[status.name] = row
        self.calls = widgets.HTML()
        self.calls.add_class("toolkit-calls-area")
        self.latency = widgets.HTML(layout={"margin": "0 24px 0 0"})
        self.latency.add_class("toolkit-latency-area")
        self.events = widgets.HTML()
        self.events.add_class("toolkit-events-area")
        c = self.controls
        c.run_all.on_click(lambda _: self._run_all())
        c.reset_all.on_click(lambda _: self._act("Reset all", runner.reset_all))
        c.clear_faults.on_click(lambda _: self._act("Clear faults", runner.clear_faults))
        for setting in POLICY_FIELDS:
            c.field(setting).observe(self._policy_handler(setting), names="value")

        def heading(text: str) -> widgets.HTML:
            return widgets.HTML(f"<h4 style='margin:10px 0 2px 0'>{text}</h4>")

        super().__init__(
            [
                widgets.HTML(STYLE),
                self.title,
                self.controls,
                self.error,
                widgets.HTML(header_html()),
                widgets.VBox(list(self.rows.values())),
                heading("Recent calls"),
                self.calls,
                widgets.HBox(
                    [
                        widgets.VBox([heading("Latency"), self.latency]),
                        widgets.VBox([heading("Breaker events"), self.events]),
                    ]
                ),
            ]
        )
        self.add_class("toolkit-dashboard")
        self.refresh()

    # ------------------------------------------------------------- refresh
    def refresh(self) -> None:
        """Bring every row, table and field up to date now."""
        runner = self.runner
        statuses = runner.statuses()
        for status in statuses:
            row = self.rows.get(status.name)
            if row is not None:
                row.show(status, self._actions.waiting(status.name))
        self.title.value = headline(statuses)
        seen = (runner.version, runner.history.version, runner.events.version)
        if seen != self._seen:
            history_moved = self._seen is None or seen[1] != self._seen[1]
            events_moved = self._seen is None or seen[2] != self._seen[2]
            self._seen = seen
            self.controls.show(runner.default_policy)
            if history_moved:
                history = runner.history
                self.calls.value = calls_table(history[-self.recent :], len(history))
                self._stats.update(history)
                self.latency.value = latency_table(
                    self._stats.rows(), self._stats.size, self.recent
                )
            if events_moved:
                log = runner.events
                self.events.value = events_table(log[-self.recent :], len(log))
        self.refreshes += 1

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            self._report("refresh", exc)

    def _landed(self) -> None:
        if not self._closed:
            self.refresh()

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
        self._timer = loop.create_task(self._tick(), name="toolkit-dashboard: refresh")
        return True

    def stop(self) -> None:
        """Stop refreshing on its own (``refresh()`` still works)."""
        timer, self._timer = getattr(self, "_timer", None), None  # None when __init__ refused
        if timer is not None:
            timer.cancel()

    @property
    def live(self) -> bool:
        """True while the dashboard refreshes itself."""
        return self._timer is not None and not self._timer.done()

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.interval)
            self._safe_refresh()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Displaying the dashboard starts its refresh."""
        self.start()
        return super()._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop refreshing and close every widget of the dashboard."""
        self._closed = True
        self.stop()
        _close_tree(self.children)
        super().close()

    async def wait(self) -> None:
        """Wait until every run started from the dashboard has landed."""
        await self._actions.wait()

    # ------------------------------------------------------------- actions
    def _wire(self, row: IntegrationRow) -> None:
        runner, name = self.runner, row.name
        row.trip.on_click(lambda _: self._act(f"Trip {name!r}", lambda: runner.trip(name)))
        row.reset.on_click(lambda _: self._act(f"Reset {name!r}", lambda: runner.reset(name)))
        row.rerun.on_click(lambda _: self._rerun(name))
        row.fault.observe(lambda change: self._fault_changed(row, change["new"]), names="value")

    def _act(self, label: str, handler: Callable[[], object]) -> None:
        if self._actions.do(label, handler):
            self._clear_error()
        self._safe_refresh()

    def _rerun(self, name: str) -> None:
        runner = self.runner
        if runner.in_flight(name) or self._actions.waiting(name):
            return
        self._clear_error()
        self._actions.run(
            f"Rerun {name!r}",
            [name],
            lambda: runner.run_one(name),
            lambda: runner.run_one_sync(name),
        )
        self._safe_refresh()

    def _run_all(self) -> None:
        runner = self.runner
        self._clear_error()
        self._actions.run("Run all", runner.names, runner.run_all, runner.run_all_sync)
        self._safe_refresh()

    def _fault_changed(self, row: IntegrationRow, kind: str) -> None:
        if row.syncing:
            return
        name, runner = row.name, self.runner

        def apply() -> None:
            if kind == "none":
                runner.clear_faults(name)
            else:
                runner.inject(name, fault_for(kind, runner.policy(name).timeout))

        self._act(f"Fault {kind!r} on {name!r}", apply)

    def _policy_handler(self, setting: str) -> Callable[[dict[str, Any]], None]:
        def changed(change: dict[str, Any]) -> None:
            if self.controls.syncing:
                return
            if not self._actions.do(
                f"Set {setting}", lambda: self.runner.set_policy(**{setting: change["new"]})
            ):
                self.controls.show(self.runner.default_policy)  # back to what is in force
                return
            self._clear_error()
            self._safe_refresh()

        return changed

    # -------------------------------------------------------------- errors
    def _report(self, label: str, exc: BaseException) -> None:
        """Show a failed handler on the dashboard and log it; never raise."""
        text = f"{label} failed: {type(exc).__name__}: {exc}"
        if text != self._last_logged:
            # a refused value (ToolkitError) needs no traceback; anything else does
            trace = None if isinstance(exc, ToolkitError) else (type(exc), exc, exc.__traceback__)
            logger.error("dashboard: %s", text, exc_info=trace)
            self._last_logged = text
        stamp = time.strftime("%H:%M:%S")
        try:
            self.error.value = (
                f'<div class="toolkit-error" style="color:#cf222e;background:#ffebe9;'
                f'border:1px solid #ff8182;border-radius:6px;padding:4px 8px;margin:4px 0">'
                f"{esc(stamp)} · {esc(text)}</div>"
            )
        except Exception:
            logger.exception("dashboard: could not show an error")

    def _clear_error(self) -> None:
        self.error.value = ""
        self._last_logged = ""

    @property
    def last_error(self) -> str:
        """The error shown on the dashboard, as plain text ("" when none)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.error.value))

    def __repr__(self) -> str:
        mode = "live" if self.live else "closed" if self._closed else "not refreshing"
        return f"<Dashboard over {len(self.rows)} integrations, {mode}>"


def _close_tree(children: tuple[widgets.Widget, ...]) -> None:
    for child in children:
        if isinstance(child, widgets.Box):
            _close_tree(child.children)
        child.close()
