"""A health endpoint for orchestrators and load balancers: ``app(source, required=None)``.

An ASGI app (Starlette) serving ``/health`` (``application/health+json``, as the IETF
"Health Check Response Format for HTTP APIs" draft lays out), ``/livez`` (never fails
because an integration is down) and ``/readyz`` (fails only for ``required``
integrations); ``?verbose`` gives each check's text. Run it with any ASGI server, such
as uvicorn. ``python -m toolkit serve`` adds ``/metrics``, a status page and a schedule.

Needs the ``ops`` extra (``pip install 'integration-health-toolkit[ops]'``); without it,
importing this module raises ``MissingExtraError`` naming the extra.
"""

from __future__ import annotations

from toolkit._ops.health import HEALTH_JSON, app

__all__ = ["HEALTH_JSON", "app"]

app.__module__ = __name__  # shown under the public path
