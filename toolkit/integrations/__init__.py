"""Ready-made integrations: HTTP endpoints, TCP ports, and any async function.

- ``HttpCheck(name, url, ...)``: one request, judged by status and optionally a JSON value.
- ``TcpCheck(name, host, port)``: connect, time it, close.
- ``integration(name=...)``: a decorator turning an async function into an integration.

HTTP checks share one ``httpx.AsyncClient`` per event loop (``SharedClient``); the
runner's ``close()`` / ``aclose()`` closes it. Their failures are ``CheckError``
subclasses, one per kind (status, connect, TLS, timeout, JSON), re-exported here.
"""

from __future__ import annotations

from toolkit._errors import (
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
    HttpProtocolError,
    HttpStatusError,
    InvalidJsonError,
    JsonKeyError,
)
from toolkit.integrations._client import DEFAULT_CLIENT, SharedClient
from toolkit.integrations._decorator import FunctionIntegration, integration
from toolkit.integrations._http import HttpCheck
from toolkit.integrations._options import StatusSet
from toolkit.integrations._tcp import TcpCheck

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
