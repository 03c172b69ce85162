"""LiveView: what every dashboard shares: its refresh timer, error area, clicks and close.

A subclass calls ``_setup`` first (it checks ``interval`` and ``recent``), builds its
own widgets, then ``_lay_out`` (which adds the title, error, calls and latency areas)
and defines ``refresh``. Displayed in a kernel, the view then refreshes itself every
``interval`` seconds until ``close()``; a failing refresh or click is shown in the
error area and logged once, never raised into the widget machinery.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from toolkit._engine.errors import ConfigError, ToolkitError
from toolkit._view.dashboard.actions import Actions, running_loop
from toolkit._view.dashboard.tables import STYLE, esc
from toolkit._view.shown import shown

logger = logging.getLogger("toolkit.dashboard")


def check_options(interval: float, recent: int) -> None:
    """ConfigError unless ``interval`` is a number of seconds > 0 and ``recent`` a count >= 1."""
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int | float)
        or not (math.isfinite(interval) and interval > 0)
    ):
        raise ConfigError(f"interval must be a number of seconds > 0, got {interval!r}")
    if isinstance(recent, bool) or not isinstance(recent, int) or recent < 1:
        raise ConfigError(f"recent must be a whole number of rows >= 1, got {recent!r}")


def area(css: str, **kwargs: Any) -> widgets.HTML:
    """An HTML widget marked with the CSS class ``css``."""
    widget = widgets.HTML(**kwargs)
    widget.add_class(css)
    return widget


def heading(text: str) -> widgets.HTML:
    """A small section heading."""
    return widgets.HTML(f"<h4 style='margin:10px 0 2px 0'>{text}</h4>")


class LiveView(widgets.VBox):
    """A dashboard that refreshes itself while displayed and reports its own failures."""

    _task_name = "toolkit-dashboard: refresh"
    """The name of the refresh task on the event loop."""
    _log_prefix = "dashboard"
    """What the log lines of this view start with."""

    def _setup(self, interval: float, recent: int) -> None:
        """Check the options and set up the state every dashboard has."""
        check_options(interval, recent)
        self.interval = float(interval)
        self.recent = recent
        self.refreshes = 0
        self._actions = Actions(self._report, self._landed)
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._last_logged = ""
        # The front end counts the views of a widget whose _view_count is not None; the
        # count tells a dashboard shown inside a Tab, a VBox or a Voila layout (where
        # _repr_mimebundle_ is never called) when to refresh, and when it has left the page.
        self._view_count = 0
        self.observe(self._views_changed, names="_view_count")

    def _lay_out(
        self,
        controls: widgets.Widget,
        header: str,
        rows: widgets.Widget,
        calls_title: str,
        side_title: str,
        side: widgets.Widget,
    ) -> None:
        """Make the title, error, calls and latency areas and stack them with the given parts."""
        self.title = area("toolkit-title")
        self.error = area("toolkit-error-area")
        self.calls = area("toolkit-calls-area")
        self.latency = area("toolkit-latency-area", layout={"margin": "0 24px 0 0"})
        super().__init__(
            [
                widgets.HTML(STYLE),
                self.title,
                controls,
                self.error,
                widgets.HTML(header),
                rows,
                heading(calls_title),
                self.calls,
                widgets.HBox(
                    [
                        widgets.VBox([heading("Latency"), self.latency]),
                        widgets.VBox([heading(side_title), side]),
                    ]
                ),
            ]
        )
        self.add_class("toolkit-dashboard")

    # ------------------------------------------------------------- refresh
    def refresh(self) -> None:
        """Bring the view up to date now."""
        raise NotImplementedError

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            self._report("refresh", exc)

    def _landed(self) -> None:
        if not self._closed:
            self._safe_refresh()

    def _due(self) -> bool:
        """Whether the timer's next tick refreshes (a view may skip ticks while it waits)."""
        return True

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
        self._timer = loop.create_task(self._tick(), name=self._task_name)
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

    @property
    def _mode(self) -> str:
        return "live" if self.live else "closed" if self._closed else "not refreshing"

    async def _tick(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.interval)
            if self._due():
                self._safe_refresh()

    def _views_changed(self, change: dict[str, Any]) -> None:
        if (change.get("new") or 0) > 0:
            self.start()
        else:
            self.stop()

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

    # ------------------------------------------------------------- actions
    def _act(self, label: str, handler: Callable[[], object]) -> None:
        if self._actions.do(label, handler):
            self._clear_error()
        self._safe_refresh()

    # -------------------------------------------------------------- errors
    def _report(self, label: str, exc: BaseException) -> None:
        """Show a failed handler on the dashboard and log it once; never raise."""
        text = f"{label} failed: {type(exc).__name__}: {shown(exc)}"
        if text != self._last_logged:
            # a refused value (ToolkitError) needs no traceback; anything else does
            trace = None if isinstance(exc, ToolkitError) else (type(exc), exc, exc.__traceback__)
            logger.error("%s: %s", self._log_prefix, text, exc_info=trace)
            self._last_logged = text
        stamp = time.strftime("%H:%M:%S")
        try:
            self.error.value = (
                f'<div class="toolkit-error" style="color:#cf222e;background:#ffebe9;'
                f'border:1px solid #ff8182;border-radius:6px;padding:4px 8px;margin:4px 0">'
                f"{esc(stamp)} · {esc(text)}</div>"
            )
        except Exception:
            logger.exception("%s: could not show an error", self._log_prefix)

    def _clear_error(self) -> None:
        self.error.value = ""
        self._last_logged = ""

    @property
    def last_error(self) -> str:
        """The error shown on the dashboard, as plain text ("" when none)."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.error.value))


def _close_tree(children: tuple[widgets.Widget, ...]) -> None:
    for child in children:
        if isinstance(child, widgets.Box):
            _close_tree(child.children)
        child.close()
