"""Ready-made integrations: HTTP endpoints, TCP ports, and any async function.

- ``HttpCheck(name, url, ...)``: one request, judged by status and optionally a JSON value.
- ``TcpCheck(name, host, port)``: connect, time it, close.
- ``integration(name=...)``: a decorator turning an async function into an integration.

HTTP checks share one ``httpx.AsyncClient`` per event loop (``SharedClient``); the
runner's ``close()`` / ``aclose()`` closes it.
"""

from __future__ import annotations

from toolkit.integrations._client import DEFAULT_CLIENT, SharedClient
from toolkit.integrations._decorator import FunctionIntegration, integration
from toolkit.integrations._http import HttpCheck
from toolkit.integrations._options import StatusSet
from toolkit.integrations._tcp import TcpCheck

__all__ = [
    "DEFAULT_CLIENT",
    "FunctionIntegration",
    "HttpCheck",
    "SharedClient",
    "StatusSet",
    "TcpCheck",
    "integration",
]
