"""Matplotlib charts of a runner: breaker states over time, and call latency per integration.

``timeline(runner)`` and ``latency(runner)`` each draw into ``ax`` (or a new figure
sized for the number of integrations) and return the Axes. They read
``toolkit.frames``, so they show exactly what the frames hold. Times are seconds since
the first call (the axis label gives its clock time, UTC); latency is one line per
integration with errors, timeouts, skipped calls and trial calls marked; legends list
only what happened. ``theme="dark"`` (or ``"auto"``, the default: JupyterLab's theme
setting) draws for a dark background.

``availability(frame, value="ok_share")`` a heatmap of integration x period from
``frames.availability`` (or a calls frame), least available on top; ``value="open_share"``
shows the share of time the breaker was open. ``incidents(frame)`` each incident of
``frames.incidents`` as a bar from start to end, coloured by what opened it.

``replay(result)`` draws a ``toolkit.replay`` result: its policies side by side, and
with ``per_call=True`` rows a state strip per policy; it returns the Figure.
"""

from __future__ import annotations

from toolkit._view.plots import latency, timeline
from toolkit._view.replay_plot import replay

__all__ = ["latency", "replay", "timeline"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__

from toolkit._view.history_plots import availability, incidents  # noqa: E402

__all__ += ["availability", "incidents"]
for _name in ("availability", "incidents"):
    globals()[_name].__module__ = __name__
