"""The live dashboard: one row per integration, global controls and recent activity.

Modules: ``widget`` (the ``Dashboard``), ``live`` (the refresh loop, error area
and close that it shares with the fleet dashboard), ``row`` (one integration's
row), ``controls`` (run, reset and policy fields), ``tables`` (recent calls,
latency and events as HTML), ``stats`` (the incremental latency window) and
``actions`` (clicks that never block the kernel).
"""

from __future__ import annotations

from toolkit._view.dashboard.widget import Dashboard

__all__ = ["Dashboard"]
