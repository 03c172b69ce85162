"""Dashboard: the live view of an ``IntegrationRunner`` with controls, as an ipywidgets widget.

Content lives in widget state (HTML and Label values), so it renders in JupyterLab
and Voila and can be read without a kernel. While displayed inside a kernel it
refreshes itself every ``interval`` seconds: the rows every tick (countdowns move
on their own), the tables and fields only when ``runner.version`` moved. A refresh
reads ``runner.statuses()`` and bounded tails of the history, never all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from toolkit._view.dashboard.controls import POLICY_FIELDS, GlobalControls
from toolkit._view.dashboard.live import LiveView, area
from toolkit._view.dashboard.row import IntegrationRow, fault_for, header_html
from toolkit._view.dashboard.stats import LatencyWindow
from toolkit._view.dashboard.tables import calls_table, events_table, headline, latency_table

if TYPE_CHECKING:
    from toolkit._engine.runner import IntegrationRunner


class Dashboard(LiveView):
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
        self._setup(interval, recent)
        self.runner = runner
        self._stats = LatencyWindow(window)
        self._seen: tuple[int, int, int] | None = None
        self.controls = GlobalControls()
        self.rows: dict[str, IntegrationRow] = {}
        for status in runner.statuses():
            row = IntegrationRow(status.name, status.display_name)
            self._wire(row)
            self.rows[status.name] = row
        self.events = area("toolkit-events-area")
        c = self.controls
        c.run_all.on_click(lambda _: self._run_all())
        c.reset_all.on_click(lambda _: self._act("Reset all", runner.reset_all))
        c.clear_faults.on_click(lambda _: self._act("Clear faults", runner.clear_faults))
        for setting in POLICY_FIELDS:
            c.field(setting).observe(self._policy_handler(setting), names="value")
        self._lay_out(
            self.controls,
            header_html(),
            widgets.VBox(list(self.rows.values())),
            "Recent calls",
            "Breaker events",
            self.events,
        )
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

    def __repr__(self) -> str:
        return f"<Dashboard over {len(self.rows)} integrations, {self._mode}>"
