"""Ready-made integrations: HTTP endpoints, TCP ports, and any async function.

- ``HttpCheck(name, url, ...)``: one request, judged by status and optionally a JSON value.
- ``TcpCheck(name, host, port)``: connect, time it, close.
- ``integration(name=...)``: a decorator turning an async function into an integration.

HTTP checks share one ``httpx.AsyncClient`` per event loop (``SharedClient``); the
runner's ``close()`` / ``aclose()`` closes it. Their failures are ``CheckError``
subclasses, one per kind (status, connect, TLS, timeout, JSON), re-exported here.
"""

from __future__ import annotations

from toolkit._checks.client import DEFAULT_CLIENT, SharedClient
from toolkit._checks.function import FunctionIntegration, integration
from toolkit._checks.http import HttpCheck
from toolkit._checks.options import StatusSet
from toolkit._checks.tcp import TcpCheck
from toolkit._engine.errors import (
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
    HttpProtocolError,
    HttpStatusError,
    InvalidJsonError,
    JsonKeyError,
)

__all__ = [
    "DEFAULT_CLIENT",
    "CheckConnectError",
    "CheckError",
    "CheckTimeoutError",
    "CheckTlsError",
    "FunctionIntegration",
    "HttpCheck",
    "HttpProtocolError",
    "HttpStatusError",
    "InvalidJsonError",
    "JsonKeyError",
    "SharedClient",
    "StatusSet",
    "TcpCheck",
    "integration",
]
