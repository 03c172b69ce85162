"""The health endpoint: ``/health`` as the IETF health-check draft lays it out, plus
``/livez`` and ``/readyz`` for orchestrators.

``/health`` answers ``application/health+json`` (draft-inadarei-api-health-check):
``status`` pass, warn or fail, and ``checks`` keyed ``"<integration>:responseTime"``
(componentId, componentType, observedValue: the last call that ran, in ms, and
``time``, when it ended; an open breaker's refusals are not calls; observedUnit,
status, output with secrets already masked) and ``"breakerStorage:reachable"``. A
check that has not run yet passes with a null observedValue and the time of the read.
An integration is ``pass`` while its breaker is closed and its last call did not
fail, ``warn`` when closed after a failure or half-open, ``fail`` when open or
isolated. Overall: ``fail`` (HTTP 503) only when an integration listed in
``required`` fails; otherwise ``warn`` when any check is not ``pass``, else ``pass``
(both HTTP 200, as the draft's codes say).

``/livez`` never fails because of an integration: an orchestrator that restarts a
service whose optional dependency is down makes an outage worse. ``/readyz`` fails
(503) only for ``required`` integrations. Both answer ``ok`` in plain text;
``?verbose`` lists each check as ``[+]name ok`` or ``[-]name (required) failed: why``;
a failing optional integration is listed as ``(optional, not counted)``.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from toolkit._engine.errors import UnknownIntegrationError
from toolkit._engine.runner import IntegrationRunner
from toolkit._ops.extras import missing
from toolkit._ops.readings import Reader, Reading, Snapshot, reader_for

try:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import BaseRoute, Route
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing("toolkit.health", exc) from exc

Status = Literal["pass", "warn", "fail"]
HEALTH_JSON = "application/health+json"
"""The media type of the IETF health-check response format."""
OUTPUT_CHARS = 500
"""An output text longer than this is cut, with a note of how much was left out."""


def reading_status(r: Reading) -> tuple[Status, str]:
    """An integration's check status and the text that explains a non-pass."""
    if r.state in ("open", "isolated"):
        why = "isolated: held open until reset" if r.state == "isolated" else "circuit open"
        if r.state == "open" and r.trial_in_s is not None:
            why += f": trial in {math.ceil(r.trial_in_s)}s" if r.trial_in_s > 0 else ": trial due"
        return "fail", why + (f"; last error: {r.last_error}" if r.last_error else "")
    if r.state == "half-open":
        return "warn", "half-open: the trial call decides"
    if r.last_outcome not in (None, "ok"):
        return "warn", f"last call {r.last_outcome}" + (f": {r.last_error}" if r.last_error else "")
    return "pass", ""


def _cut(text: str) -> str:
    if len(text) <= OUTPUT_CHARS:
        return text
    return text[:OUTPUT_CHARS] + f"... ({len(text) - OUTPUT_CHARS} more characters)"


def document(snap: Snapshot, required: Collection[str] = ()) -> tuple[dict[str, Any], Status]:
    """The health document of one read, and its overall status."""
    when = _iso(snap.taken_at)
    checks: dict[str, list[dict[str, Any]]] = {}
    overall: Status = "pass"
    seen = set()
    for r in snap.readings:
        seen.add(r.name)
        status, why = reading_status(r)
        entry: dict[str, Any] = {
            "componentId": r.name,
            "componentType": "component",
            "observedValue": None
            if r.last_duration_s is None
            else round(r.last_duration_s * 1000.0, 3),
            "observedUnit": "ms",
            "status": status,
            "time": when if r.last_at is None else _iso(r.last_at),
        }
        if why:
            entry["output"] = _cut(why)
        checks[f"{r.name}:responseTime"] = [entry]
        overall = _worse(overall, status if r.name in required or status == "pass" else "warn")
    for name in sorted(set(required) - seen):
        checks[f"{name}:responseTime"] = [
            {"componentId": name, "componentType": "component", "status": "fail", "time": when,
             "output": "no breaker of this name (not configured, or not in the fleet)"}
        ]  # fmt: skip
        overall = "fail"
    storage: dict[str, Any] = {
        "componentId": snap.storage,
        "componentType": "datastore",
        "observedValue": snap.storage_ok,
        "status": "pass" if snap.storage_ok else "warn",
        "time": when,
    }
    if not snap.storage_ok:
        storage["output"] = "breaker storage unreachable: each worker runs from its own state"
    checks["breakerStorage:reachable"] = [storage]
    overall = _worse(overall, storage["status"])
    body = {"status": overall, "description": "integration health toolkit", "checks": checks}
    return body, overall


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _worse(a: Status, b: Status) -> Status:
    order = {"pass": 0, "warn": 1, "fail": 2}
    return a if order[a] >= order[b] else b


def readiness(snap: Snapshot, required: Collection[str]) -> tuple[bool, list[str]]:
    """Ready unless a required integration fails; one ``[+]``/``[-]`` line per check."""
    ready, lines = True, []
    by_name = {r.name: r for r in snap.readings}
    for name in sorted(set(by_name) | set(required)):
        r = by_name.get(name)
        status, why = ("fail", "no breaker of this name") if r is None else reading_status(r)
        needed = name in required
        if status == "fail" and needed:
            ready = False
        mark = "-" if status == "fail" else "+"
        tail = "ok" if status == "pass" else f"{'failed' if status == 'fail' else 'warn'}: {why}"
        role = " (required)" if needed else " (optional, not counted)" if status != "pass" else ""
        lines.append(f"[{mark}]{name}{role} {_cut(tail)}")
    return ready, lines


class HealthRoutes:
    """The three endpoints over one reader; reads that block (a fleet) run in a thread."""

    def __init__(self, reader: Reader, required: Collection[str], blocking: bool) -> None:
        self.reader, self.required, self.blocking = reader, frozenset(required), blocking

    async def read(self) -> Snapshot:
        """One read of the source, off the event loop when it waits on Redis."""
        if self.blocking:
            return await asyncio.to_thread(self.reader.read, last_calls=True)
        return self.reader.read(last_calls=True)

    async def health(self, request: Request) -> Response:
        """``/health``: the IETF health document."""
        body, status = document(await self.read(), self.required)
        return Response(
            json.dumps(body, allow_nan=False), status_code=503 if status == "fail" else 200,
            media_type=HEALTH_JSON, headers={"Cache-Control": "no-store"},
        )  # fmt: skip

    async def livez(self, request: Request) -> Response:
        """``/livez``: the process answers; integrations do not matter here."""
        if "verbose" in request.query_params:
            return PlainTextResponse("[+]ping ok\nlivez check passed\n")
        return PlainTextResponse("ok\n")

    async def readyz(self, request: Request) -> Response:
        """``/readyz``: 503 only while a required integration fails."""
        ready, lines = readiness(await self.read(), self.required)
        verdict = "readyz check passed" if ready else "readyz check failed"
        text = (
            "\n".join([*lines, verdict]) + "\n"
            if "verbose" in request.query_params
            else ("ok\n" if ready else "failed\n")
        )
        return PlainTextResponse(text, status_code=200 if ready else 503)

    def routes(self) -> Sequence[BaseRoute]:
        """``/health``, ``/livez`` and ``/readyz``."""
        return [
            Route("/health", self.health, methods=["GET"]),
            Route("/livez", self.livez, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
        ]


def check_required(source: object, required: Collection[str] | None) -> frozenset[str]:
    """The required names; for a runner, each must be one of its integrations."""
    names = frozenset(required or ())
    if isinstance(source, IntegrationRunner):
        unknown = sorted(names - set(source.names))
        if unknown:
            raise UnknownIntegrationError(unknown[0], source.names)
    return names


def app(source: object, *, required: Collection[str] | None = None) -> Starlette:
    """An ASGI app serving ``/health``, ``/livez`` and ``/readyz`` for ``source``.

    ``source`` is an ``IntegrationRunner`` (read on the app's event loop: serve it on
    the loop that runs the runner) or a ``Fleet`` (read in a worker thread).
    ``required`` names the integrations the service cannot work without.
    """
    names = check_required(source, required)
    reader = reader_for(source, count_calls=False)
    routes = HealthRoutes(reader, names, blocking=not isinstance(source, IntegrationRunner))
    return Starlette(routes=list(routes.routes()))
