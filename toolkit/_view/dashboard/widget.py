"""Dashboard: the live view of an ``IntegrationRunner``, one custom widget with controls.

The model holds one row per integration (state, since when, why, the trial's
deadline, the armed fault, a sparkline of its last ``window`` calls and their
latency figures, its breaker changes for the timeline), the head (controls,
policy, error line, storage) and the recent calls and events. While displayed
inside a kernel it refreshes itself every ``interval`` seconds; a refresh reads
``runner.statuses()`` and only the calls and events recorded since the last one,
never the whole history, and sends the page only the rows that changed.
Countdowns and ages move in the page on their own, between refreshes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolkit._engine.errors import ConfigError
from toolkit._engine.faults import FAULT_KINDS, Fault
from toolkit._view.dashboard.live import LiveView, Model
from toolkit._view.dashboard.model import (
    Row,
    figures,
    headline,
    maybe_text,
    number,
    spark,
    text,
    why,
)
from toolkit._view.dashboard.recent import RecentCalls
from toolkit._view.dashboard.timeline import SPAN_S, StateChanges

if TYPE_CHECKING:
    from toolkit._engine.runner import IntegrationRunner
    from toolkit._engine.status import BreakerStatus

FAULT_CHOICES: tuple[str, ...] = ("none", *FAULT_KINDS)
"""What the fault selector offers: no fault, or one of ``toolkit.Fault``'s kinds."""
POLICY_FIELDS: tuple[str, ...] = ("timeout", "fail_max", "reset_timeout")
"""The default policy's fields the dashboard edits."""
ROW_CONTROLS = ("trip", "reset", "rerun", "fault")
GLOBAL_CONTROLS = ("run_all", "reset_all", "clear_faults")


class Dashboard(LiveView):
    """Every integration's breaker at a glance, with Trip, Reset, Rerun and fault controls.

    ``Dashboard(runner)`` as the last line of a cell shows it; it then refreshes
    itself about once a second until ``close()``. ``refresh()`` updates it by hand,
    and ``click("trip", "payments")`` does what a click on that control does.
    ``window`` is how many recent calls per integration the sparkline and the
    latency figures cover.
    """

    def __init__(
        self,
        runner: IntegrationRunner,
        *,
        interval: float = 1.0,
        recent: int = 20,
        window: int = 50,
    ) -> None:
        super().__init__()
        self._setup(interval, recent)
        self.runner = runner
        self._calls = RecentCalls(window)
        self._changes = StateChanges()
        self._tables: tuple[int, int] | None = None
        self._calls_table: list[dict[str, Any]] = []
        self._events_table: list[dict[str, Any]] = []
        self._keys: dict[str, tuple[object, ...]] = {}
        self._start_model()

    # ------------------------------------------------------------- the model
    def _build(self) -> Model:
        runner = self.runner
        statuses = runner.statuses()
        names = [s.name for s in statuses]
        moved = self._calls.update(runner.history, names) | self._changes.update(runner.events)
        old_rows = self._model.get("rows", {})
        rows: dict[str, Row] = {}
        for status in statuses:
            name = status.name
            waiting = self._actions.waiting(name)
            key = (
                status.state, status.failures, status.fail_max, status.opened_at,
                status.in_flight or waiting, status.fault, status.last_outcome,
                status.last_duration_s, status.last_error, status.timeout_s,
                status.reset_timeout_s, status.display_name, _rates(status),
                self.runner.changed_by_hand(name),
            )  # fmt: skip
            row = old_rows.get(name)
            if row is None or name in moved or self._keys.get(name) != key:
                row = self._row(status, waiting)
                self._keys[name] = key
            rows[name] = row
        self._update_tables()
        policy = runner.default_policy
        return {
            "head": {
                "kind": "runner",
                "title": "Integration health",
                "controls": list(ROW_CONTROLS),
                "global": list(GLOBAL_CONTROLS),
                "faults": list(FAULT_CHOICES),
                "policy": {f: getattr(policy, f) for f in POLICY_FIELDS},
                "error": self._error,
                "interval": self.interval,
                "span": SPAN_S,
                "window": self._calls.size,
                "storage": _storage(statuses),
                "totals": {"calls": len(runner.history), "events": len(runner.events)},
                "recent": self.recent,
            },
            "order": names,
            "rows": rows,
            "calls": self._calls_table,
            "events": self._events_table,
        }

    def _row(self, status: BreakerStatus, waiting: bool) -> Row:
        name = status.name
        calls = self._calls.of(name)
        change = self._changes.since(name)
        since = None if change is None else round(change[0], 3)
        opened = status.opened_at.timestamp() if status.opened_at is not None else None
        trial_at = (
            round(opened + status.reset_timeout_s, 2)
            if status.state == "open" and opened is not None
            else None
        )
        by_hand = self.runner.changed_by_hand(name)
        return {
            "name": text(name),
            "label": text(status.display_name),
            "state": status.state,
            "since": since,
            "why": why(status.state, since, calls, by_hand, status.storage != "memory"),
            "trial_at": trial_at,
            "running": bool(status.in_flight or waiting),
            "fault": maybe_text(status.fault),
            "fault_kind": fault_kind(status.fault),
            "failures": status.failures,
            "fail_max": status.fail_max,
            "timeout": number(status.timeout_s, 3),
            "reset_timeout": number(status.reset_timeout_s, 3),
            "last": None
            if status.last_outcome is None
            else {
                "outcome": status.last_outcome,
                "ms": number(
                    None if status.last_duration_s is None else status.last_duration_s * 1000
                ),
                "error": maybe_text(status.last_error),
            },
            "rates": _rates(status),
            "spark": spark(calls),
            "fig": figures(calls),
            "lane": self._changes.lane(name),
        }

    def _update_tables(self) -> None:
        """The recent calls and events, rebuilt only when the history or the log moved."""
        history, events = self.runner.history, self.runner.events
        seen = (history.version, events.version)
        if seen == self._tables:
            return
        last_calls = history[-self.recent :]
        base = history.version - len(last_calls)
        self._calls_table = [
            {
                "seq": base + i + 1,
                "at": round(r.started_at.timestamp(), 3),
                "run": r.run_id,
                "name": text(r.name),
                "outcome": r.outcome,
                "slow": r.slow,
                "ms": number(r.duration_s * 1000.0),
                "before": r.state_before,
                "after": r.state_after,
                "fault": maybe_text(r.fault),
                "error": maybe_text(r.error),
            }
            for i, r in enumerate(last_calls)
        ]
        last_events = events[-self.recent :]
        base = events.version - len(last_events)
        self._events_table = [
            {
                "seq": base + i + 1,
                "at": round(e.at.timestamp(), 3),
                "name": text(e.name),
                "old": e.old_state,
                "new": e.new_state,
            }
            for i, e in enumerate(last_events)
        ]
        self._tables = seen

    @property
    def headline(self) -> str:
        """``2 of 5 failing: Payments gateway (open 40 s), Geocoder``, as the page shows it."""
        rows = [self._model["rows"][n] for n in self._model["order"]]
        return headline(rows, time.time())

    async def wait(self) -> None:
        """Wait until every run started from the dashboard has landed."""
        await self._actions.wait()

    # ------------------------------------------------------------- actions
    def _actions_map(self) -> dict[str, Callable[[Any, Any], object]]:
        runner = self.runner
        return {
            "trip": lambda name, _: runner.trip(name),
            "reset": lambda name, _: runner.reset(name),
            "rerun": lambda name, _: self._rerun(name),
            "fault": lambda name, kind: self._set_fault(name, kind),
            "clear_fault": lambda name, _: runner.clear_faults(name),
            "run_all": lambda _, __: self._run_all(),
            "reset_all": lambda _, __: runner.reset_all(),
            "clear_faults": lambda _, __: runner.clear_faults(),
            "set_policy": lambda setting, value: self._set_policy(setting, value),
        }

    def _rerun(self, name: str) -> None:
        runner = self.runner
        runner.status(name)  # an unknown name is refused here, not in a task
        if runner.in_flight(name) or self._actions.waiting(name):
            return
        self._actions.run(
            f"rerun {name!r}",
            [name],
            lambda: runner.run_one(name),
            lambda: runner.run_one_sync(name),
        )

    def _run_all(self) -> None:
        runner = self.runner
        self._actions.run("run_all", runner.names, runner.run_all, runner.run_all_sync)

    def _set_fault(self, name: str, kind: object) -> None:
        runner = self.runner
        if kind == "none":
            runner.clear_faults(name)
        else:
            runner.inject(name, fault_for(str(kind), runner.policy(name).timeout))

    def _set_policy(self, setting: str, value: object) -> None:
        if setting not in POLICY_FIELDS:
            raise ConfigError(f"no policy field {setting!r}; choose {', '.join(POLICY_FIELDS)}")
        changes: dict[str, Any] = {setting: value}
        self.runner.set_policy(**changes)

    def __repr__(self) -> str:
        return f"<Dashboard over {len(self._model.get('order', ()))} integrations, {self._mode}>"


def _storage(statuses: list[BreakerStatus]) -> dict[str, Any]:
    """Where breaker state lives, and whether it answers (the first one that does not)."""
    down = next((s for s in statuses if not s.storage_ok), None)
    kind = text(down.storage if down else statuses[0].storage if statuses else "memory")
    note = "" if down is None else f"{kind} storage unreachable: breaker state kept locally"
    return {"kind": kind, "ok": down is None, "text": note}


def _rates(status: BreakerStatus) -> dict[str, float] | None:
    """The window's failure and slow-call rates, when the policy has a window and calls."""
    rates = {
        "failure": number(status.window_failure_rate, 3),
        "slow": number(status.window_slow_rate, 3),
    }
    shown = {key: value for key, value in rates.items() if value is not None}
    return shown or None


def fault_kind(label: str | None) -> str:
    """The fault selector's value for a fault label such as ``fail('boom')``."""
    if not label:
        return "none"
    kind = label.split("(", 1)[0]
    return kind if kind in FAULT_CHOICES else "none"


def fault_for(kind: str, timeout: float) -> Fault:
    """The fault a selector choice injects; "slow" takes half the integration's timeout."""
    if kind == "fail":
        return Fault.fail("injected from the dashboard")
    if kind == "slow":
        return Fault.slow(timeout / 2)
    if kind == "hang":
        return Fault.hang()
    if kind == "flaky":
        return Fault.flaky(0.5)
    if kind == "bad_result":
        return Fault.bad_result()
    raise ConfigError(f"unknown fault {kind!r}; choose none, fail, slow, hang, flaky or bad_result")
