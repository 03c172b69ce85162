"""The runner a call belongs to, visible to the integrations it runs.

Set while a runner starts its calls and while it closes its integrations, so a
resource shared by checks (an HTTP client) can be kept, and closed, per runner.
"""

from __future__ import annotations

from contextvars import ContextVar

current_runner: ContextVar[object | None] = ContextVar("toolkit_current_runner", default=None)
