"""Matplotlib charts of a runner: breaker states over time, and call latency with outcomes.

``timeline(runner)`` and ``latency(runner)`` each draw into ``ax`` (or a new figure
sized for the number of integrations) and return the Axes. They read
``toolkit.frames``, so they show exactly what the frames hold.
"""

from __future__ import annotations

from toolkit._view.plots import latency, timeline

__all__ = ["latency", "timeline"]

for _name in __all__:  # shown, and pickled, under the public path
    globals()[_name].__module__ = __name__
