"""The live dashboard: one row per integration, global controls and recent activity.

Modules: ``_widget`` (the ``Dashboard``), ``_live`` (the refresh loop, error area
and close that it shares with the fleet dashboard), ``_row`` (one integration's
row), ``_controls`` (run, reset and policy fields), ``_tables`` (recent calls,
latency and events as HTML), ``_stats`` (the incremental latency window) and
``_actions`` (clicks that never block the kernel).
"""

from __future__ import annotations

from toolkit._dashboard._widget import Dashboard

__all__ = ["Dashboard"]
