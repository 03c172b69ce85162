"""LiveView: one custom widget (anywidget) with a JSON model, delta refreshes and clicks.

The page's code (``front/dashboard.js`` and ``front/dashboard.css``, shipped in the
package, nothing fetched from the internet) draws the model. The kernel keeps the
model as a dict and, on each refresh, sends only what changed: the rows whose
content moved, the head when it moved, the calls and events added since. A page
that opens later (a reload, a second view) asks for the whole model once.

Clicks come back as messages ``{"t": "act", "do": ..., "name": ..., "value": ...}``
and run through ``click()``, the same method code can call; each is acknowledged
at once. A subclass provides ``_build()`` (the whole model) and ``_actions_map()``.
Displayed in a kernel, the view refreshes itself every ``interval`` seconds until
``close()``; a failing refresh or click is shown in the error line and logged once,
never raised into the widget machinery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from toolkit._engine.errors import ConfigError, ToolkitError
from toolkit._view.dashboard.actions import Actions, running_loop
from toolkit._view.dashboard.model import Row, changed_rows, text

logger = logging.getLogger("toolkit.dashboard")

FRONT = Path(__file__).with_name("front")
"""The page's ESM and CSS, shipped inside the package."""

Model = dict[str, Any]

PAGE_SILENCE = 10.0
"""Seconds without a word from any page (it pings every 3 s) after which deltas stop."""


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


def _encode(value: object) -> str:
    """Compact JSON; NaN is refused (the model carries None for a missing number)."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def encoded_size(message: Model) -> int:
    """Bytes of ``message`` as JSON, as the comm sends it."""
    return len(_encode(message).encode())


class LiveView(anywidget.AnyWidget):
    """A dashboard that refreshes itself while displayed and reports its own failures."""

    _esm = FRONT / "dashboard.js"
    _css = FRONT / "dashboard.css"
    model_json = traitlets.Unicode("{}").tag(sync=True)
    """The whole model as of the widget's creation, as JSON text; changes come as messages.

    Text rather than a dict: ipywidgets walks a dict item by item looking for binary
    buffers, which costs more than encoding 200 rows.
    """

    _task_name = "toolkit-dashboard: refresh"
    _log_prefix = "dashboard"

    def _setup(self, interval: float, recent: int) -> None:
        """Check the options and set up the state every dashboard has."""
        check_options(interval, recent)
        self.interval = float(interval)
        self.recent = recent
        self.refreshes = 0
        self.sent: list[int] = []
        """Bytes of each message sent to the page, newest last (the last 100)."""
        self._actions = Actions(self._report, self._landed)
        self._timer: asyncio.Task[None] | None = None
        self._closed = False
        self._last_logged = ""
        self._error = ""
        self._model: Model = {}
        self._heard = -math.inf
        self.page_silence = PAGE_SILENCE
        """Seconds without a word from any page after which refreshes send nothing."""
        self._missed = False
        # The front end counts the views of a widget whose _view_count is not None; the
        # count tells a dashboard shown inside a Tab, a VBox or a Voila layout (where
        # _repr_mimebundle_ is never called) when to refresh, and when it has left the page.
        self._view_count = 0
        self.observe(self._views_changed, names="_view_count")
        self.on_msg(self._message)

    def _start_model(self) -> None:
        """Build the model once and hand it to the page as the widget's state."""
        self._model = self._build()
        self.model_json = _encode(self._model)

    # ------------------------------------------------------------- the model
    def _build(self) -> Model:
        """The whole model now: ``{"head": {...}, "order": [...], "rows": {...}, ...}``."""
        raise NotImplementedError

    @property
    def rows(self) -> dict[str, Row]:
        """Every row as the page shows it, by integration name (a copy of the model's)."""
        return dict(self._model.get("rows", {}))

    @property
    def head(self) -> dict[str, Any]:
        """The head of the model: headline, controls, policy, error, live marker."""
        return dict(self._model.get("head", {}))

    def refresh(self) -> None:
        """Bring the model up to date now and send the page what changed."""
        new = self._build()
        old, self._model = self._model, new
        delta: Model = {"t": "delta", "now": round(time.time(), 3)}
        if new["head"] != old.get("head"):
            delta["head"] = new["head"]
        if new["order"] != old.get("order"):
            delta["order"] = new["order"]
        rows = changed_rows(old.get("rows", {}), new["rows"])
        if rows:
            delta["rows"] = rows
        for table in ("calls", "events"):
            added = _added(old.get(table), new[table])
            if added is not None:
                delta[table] = added
        self._push(delta)
        self.refreshes += 1

    def _push(self, message: Model) -> None:
        """Send ``message`` to the page, unless no page has spoken for ``page_silence`` seconds.

        A closed page says nothing, so the kernel then stops sending (and Jupyter's
        idle culling can end it); the page's next ping gets the whole model.
        """
        self.sent.append(encoded_size(message))
        del self.sent[:-100]
        if self.comm is None:
            return
        if message["t"] == "delta" and time.monotonic() - self._heard > self.page_silence:
            self._missed = True
            return
        self.send(message)

    def _push_full(self) -> None:
        self._missed = False
        self._push({"t": "full", "now": round(time.time(), 3), "json": _encode(self._model)})

    def _message(self, _: object, content: Any, buffers: object = None) -> None:
        """From the page: ``hello`` (send all), ``ping`` (still here) or ``act`` (a click)."""
        if not isinstance(content, dict):
            return
        kind = content.get("t")
        self._heard = time.monotonic()
        if kind == "hello" or (kind == "ping" and self._missed):
            self._push_full()
        elif kind == "act":
            ok = self.click(str(content.get("do")), content.get("name"), content.get("value"))
            self._push({"t": "ack", "id": content.get("id"), "ok": ok})

    # ------------------------------------------------------------- actions
    def _actions_map(self) -> dict[str, Callable[[Any, Any], object]]:
        """What each control does: ``{"trip": handler(name, value), ...}``."""
        raise NotImplementedError

    def click(self, action: str, name: str | None = None, value: object = None) -> bool:
        """Do what a click on ``action`` does (for ``name``, with ``value``); False if it failed.

        The page's controls all come through here, so a test or a script can do
        everything a person can.
        """
        handler = self._actions_map().get(action)
        if handler is None:
            self._report(action, ConfigError(f"no control {action!r} on this dashboard"))
            self._safe_refresh()
            return False
        ok = self._actions.do(
            f"{action} {name!r}" if name else action, lambda: handler(name, value)
        )
        if ok:
            self._clear_error()
        self._safe_refresh()
        return ok

    # ------------------------------------------------------------- refresh
    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            self._report("refresh", exc)
            self._push_error()

    def _push_error(self) -> None:
        """Send the error line alone (the refresh that would carry it failed)."""
        head = self._model.get("head")
        if head is not None and head.get("error") != self._error:
            head = self._model["head"] = {**head, "error": self._error}
            self._push({"t": "delta", "now": round(time.time(), 3), "head": head})

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
        """Stop refreshing and close the widget."""
        self._closed = True
        self.stop()
        super().close()

    # -------------------------------------------------------------- errors
    def _report(self, label: str, exc: BaseException) -> None:
        """Show a failed handler on the dashboard and log it once; never raise."""
        message = f"{label} failed: {type(exc).__name__}: {text(exc)}"
        if message != self._last_logged:
            # a refused value (ToolkitError) needs no traceback; anything else does
            trace = None if isinstance(exc, ToolkitError) else (type(exc), exc, exc.__traceback__)
            logger.error("%s: %s", self._log_prefix, message, exc_info=trace)
            self._last_logged = message
        self._error = f"{time.strftime('%H:%M:%S')} · {message}"

    def _clear_error(self) -> None:
        self._error = ""
        self._last_logged = ""

    @property
    def last_error(self) -> str:
        """The error shown on the dashboard ("" when none)."""
        return self._error


def _added(old: list[Any] | None, new: list[Any]) -> list[Any] | None:
    """The entries at the end of ``new`` that ``old`` lacks; None when nothing was added.

    Tables are newest last and identified by a running ``seq``; when the two share
    nothing (a cleared history), the whole of ``new`` is sent.
    """
    if old == new:
        return None
    if not old or not new:
        return new
    last = old[-1]["seq"]
    added = [entry for entry in new if entry["seq"] > last]
    return added if added else new
