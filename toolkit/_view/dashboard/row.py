"""One integration's row: name, state badge, counters, last call and its controls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import ipywidgets as widgets

from toolkit._engine.errors import ConfigError
from toolkit._engine.faults import FAULT_KINDS, Fault
from toolkit._view.dashboard.tables import clip, esc, milliseconds, outcome_label
from toolkit._view.palette import MUTED_COLOR, ON_COLOR, RUNNING_COLOR, state_color

if TYPE_CHECKING:
    from toolkit._engine.status import BreakerStatus

FAULT_CHOICES: tuple[str, ...] = ("none", *FAULT_KINDS)
"""What the fault selector offers: no fault, or one of ``toolkit.Fault``'s kinds."""

NAME_WIDTH = "210px"
BADGE_WIDTH = "190px"
DETAILS_WIDTH = "440px"


def name_html(name: str, display_name: str) -> str:
    """The display name, and the name under it when the two differ."""
    below = (
        f'<br><span style="color:{MUTED_COLOR};font-size:11px">{esc(name)}</span>'
        if display_name != name
        else ""
    )
    return (
        f'<span class="toolkit-name" data-name="{esc(name)}" title="{esc(name)}">'
        f"<b>{esc(display_name)}</b>{below}</span>"
    )


def badge_html(status: BreakerStatus, running: bool) -> str:
    """The state as a coloured badge, its trial countdown, and "running" while a call is out."""
    trial = status.trial_label
    parts = [
        f'<span class="toolkit-badge" data-name="{esc(status.name)}" data-state="{status.state}" '
        f'style="background:{state_color(status.state)};color:{ON_COLOR};border-radius:10px;'
        f'padding:1px 8px;font-weight:600">{esc(status.state)}</span>'
    ]
    if trial:
        parts.append(f' <span class="toolkit-trial" style="font-size:11px">{esc(trial)}</span>')
    if running:
        parts.append(
            f' <span class="toolkit-running" style="color:{RUNNING_COLOR};font-size:11px">'
            "● running</span>"
        )
    return "".join(parts)


def details_html(status: BreakerStatus) -> str:
    """Failures against fail_max, the last call's outcome, duration and error."""
    cell = 'style="display:inline-block;width:{}"'
    rate = status.window_failure_rate
    counted = f"{status.failures} / {status.fail_max}" if rate != rate else f"{rate:.0%} fail"
    failures = (
        f'<span class="toolkit-failures" {cell.format("70px")} title="failures / fail_max,'
        f' or the failure rate of a rate window">{counted}</span>'
    )
    outcome = (
        f"<span {cell.format('95px')}>{outcome_label(status.last_outcome) or '&ndash;'}</span>"
    )
    duration = (
        f'<span class="toolkit-duration" {cell.format("80px")}>'
        f"{milliseconds(status.last_duration_s)}</span>"
    )
    error = (
        f'<span class="toolkit-error-text" style="display:inline-block;width:190px;'
        f"overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom;"
        f'color:{MUTED_COLOR}" title="{esc(status.last_error or "")}">'
        f"{clip(status.last_error, 80)}</span>"
    )
    return failures + outcome + duration + error


def columns_html(columns: Iterable[tuple[str, str]]) -> str:
    """Column titles, each ``(text, width)``, lined up with the rows."""
    titles = "".join(
        f'<span style="display:inline-block;width:{width};font-weight:600">{text}</span>'
        for text, width in columns
    )
    return f'<div class="toolkit-header" style="color:{MUTED_COLOR};font-size:12px">{titles}</div>'


def header_html() -> str:
    """Column titles lined up with the rows."""
    return columns_html(
        [
            ("integration", NAME_WIDTH),
            ("breaker", BADGE_WIDTH),
            ("failures", "74px"),
            ("last call", "95px"),
            ("duration", "80px"),
            ("last error", "194px"),
            ("controls", "300px"),
        ]
    )


def fault_kind(label: str | None) -> str:
    """The fault selector's value for a fault label such as ``fail('boom')``."""
    if not label:
        return "none"
    kind = label.split("(", 1)[0]
    return kind if kind in FAULT_CHOICES else "none"


class BreakerRow(widgets.HBox):
    """A breaker's name, state badge and details cells, followed by its controls."""

    def __init__(
        self,
        name: str,
        display_name: str,
        details_width: str,
        controls: Sequence[tuple[widgets.DOMWidget, str]],
    ) -> None:
        self.name = name
        self.label = widgets.HTML(name_html(name, display_name), layout={"width": NAME_WIDTH})
        self.badge = widgets.HTML(layout={"width": BADGE_WIDTH})
        self.details = widgets.HTML(layout={"width": details_width})
        cells = [
            (self.label, "toolkit-name-cell"),
            (self.badge, "toolkit-badge-cell"),
            (self.details, "toolkit-details"),
            *controls,
        ]
        for widget, css in cells:
            widget.add_class(css)
        super().__init__(
            [widget for widget, _ in cells],
            layout={"align_items": "center", "border_bottom": "1px solid #eaeef2"},
        )
        self.add_class("toolkit-row")


class IntegrationRow(BreakerRow):
    """The widgets of one integration; ``show`` updates only what changed."""

    def __init__(self, name: str, display_name: str) -> None:
        small = {"width": "64px"}
        self.trip = widgets.Button(description="Trip", tooltip="open the breaker now", layout=small)
        self.reset = widgets.Button(description="Reset", tooltip="close the breaker", layout=small)
        self.rerun = widgets.Button(
            description="Rerun", tooltip="call this integration once", layout=small
        )
        self.fault = widgets.Dropdown(
            options=list(FAULT_CHOICES),
            value="none",
            tooltip="inject a fault into every later call",
            layout={"width": "110px"},
        )
        self.syncing = False
        self._badge_key: tuple[object, ...] | None = None
        self._details_key: tuple[object, ...] | None = None
        controls = [
            (self.trip, "toolkit-trip"),
            (self.reset, "toolkit-reset"),
            (self.rerun, "toolkit-rerun"),
            (self.fault, "toolkit-fault"),
        ]
        super().__init__(name, display_name, DETAILS_WIDTH, controls)

    def show(self, status: BreakerStatus, running: bool) -> bool:
        """Bring the row up to date with ``status``; True when anything changed."""
        running = running or status.in_flight
        changed = False
        badge_key = (status.state, status.trial_label, running)
        if badge_key != self._badge_key:
            self._badge_key = badge_key
            self.badge.value = badge_html(status, running)
            self.rerun.disabled = running
            changed = True
        details_key = (
            status.failures, status.fail_max, f"{status.window_failure_rate:.3f}",
            status.last_outcome,
            status.last_duration_s, status.last_error, status.fault,
        )  # fmt: skip
        if details_key != self._details_key:
            self._details_key = details_key
            self.details.value = details_html(status)
            kind = fault_kind(status.fault)
            if self.fault.value != kind:
                self.syncing = True
                try:
                    self.fault.value = kind
                finally:
                    self.syncing = False
            changed = True
        return changed


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
