"""The live dashboard: one custom widget (anywidget) drawing a JSON model, refreshed by deltas.

Modules: ``widget`` (the ``Dashboard`` of a runner), ``live`` (the widget, its refresh
loop, messages, clicks and close, shared with the fleet dashboard), ``model`` (the
rows' JSON: texts, figures, why a breaker is open, the headline), ``recent`` (each
integration's last calls, read incrementally), ``timeline`` (breaker changes),
``actions`` (clicks that never block the kernel) and ``front/`` (the page's ESM and
CSS, shipped in the package).
"""

from __future__ import annotations

from toolkit._view.dashboard.widget import Dashboard

__all__ = ["Dashboard"]
