"""Controls for every integration at once: Run all, Reset all, Clear faults, live policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as widgets

if TYPE_CHECKING:
    from toolkit._engine.policy import Policy

POLICY_FIELDS: tuple[str, ...] = ("timeout", "fail_max", "reset_timeout")


class GlobalControls(widgets.VBox):
    """Buttons acting on every integration and the default policy's fields."""

    def __init__(self) -> None:
        self.run_all = widgets.Button(description="Run all", button_style="primary")
        self.reset_all = widgets.Button(description="Reset all")
        self.clear_faults = widgets.Button(description="Clear faults")
        style = {"description_width": "initial"}
        narrow = {"width": "170px"}
        self.timeout = widgets.FloatText(
            description="timeout (s)", step=0.1, style=style, layout=narrow
        )
        self.fail_max = widgets.IntText(description="fail_max", style=style, layout=narrow)
        self.reset_timeout = widgets.FloatText(
            description="reset_timeout (s)", step=1.0, style=style, layout={"width": "200px"}
        )
        self.syncing = False
        for widget, css in (
            (self.run_all, "toolkit-run-all"),
            (self.reset_all, "toolkit-reset-all"),
            (self.clear_faults, "toolkit-clear-faults"),
            (self.timeout, "toolkit-policy-timeout"),
            (self.fail_max, "toolkit-policy-fail-max"),
            (self.reset_timeout, "toolkit-policy-reset-timeout"),
        ):
            widget.add_class(css)
        buttons = widgets.HBox([self.run_all, self.reset_all, self.clear_faults])
        policy = widgets.HBox(
            [
                widgets.HTML("<b>policy for all</b>", layout={"width": "110px"}),
                self.timeout,
                self.fail_max,
                self.reset_timeout,
            ]
        )
        super().__init__([buttons, policy])
        self.add_class("toolkit-controls")

    def field(self, setting: str) -> widgets.FloatText | widgets.IntText:
        """The input of policy ``setting`` (one of ``POLICY_FIELDS``)."""
        fields: dict[str, widgets.FloatText | widgets.IntText] = {
            "timeout": self.timeout,
            "fail_max": self.fail_max,
            "reset_timeout": self.reset_timeout,
        }
        return fields[setting]

    def show(self, policy: Policy) -> None:
        """Show ``policy`` in the fields without treating it as an edit."""
        self.syncing = True
        try:
            for setting in POLICY_FIELDS:
                value = getattr(policy, setting)
                widget = self.field(setting)
                if widget.value != value:
                    widget.value = value
        finally:
            self.syncing = False
