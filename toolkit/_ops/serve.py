"""``python -m toolkit serve FILE``: run a config's checks on a schedule and serve them.

Endpoints: ``/metrics`` (Prometheus text), ``/health``, ``/livez``, ``/readyz`` (see
``health``) and ``/``, an HTML status page. The checks run every ``--interval``
seconds on the server's own event loop, so reads never race a run. A bad config or
command line, or a port that cannot be bound, exits 2 before any check runs; SIGTERM
or Ctrl-C ends the current round, closes the checks' connections and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from typing import TextIO

from toolkit._checks.command import parse_command_line, seconds_arg
from toolkit._checks.config import load_config
from toolkit._engine.errors import ConfigError
from toolkit._engine.runner import IntegrationRunner
from toolkit._ops.extras import missing
from toolkit._ops.health import HealthRoutes, check_required
from toolkit._ops.page import page

try:
    import uvicorn
    from prometheus_client import CONTENT_TYPE_LATEST
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from toolkit._ops.prometheus import Naming, PrometheusCollector
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing("python -m toolkit serve", exc) from exc

logger = logging.getLogger("toolkit.serve")
GRACE_S = 1
"""Seconds uvicorn gives open connections at shutdown (SIGTERM ends within ~2 s)."""


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit serve",
        description="Run a config's checks every interval; serve /metrics, /health, "
        "/livez, /readyz and a status page.",
        epilog="exit status: 0 stopped by SIGTERM or Ctrl-C, 2 bad config, usage or port",
    )
    parser.add_argument("config", help="TOML file with [[http]] / [[tcp]] checks")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=9100, help="port to bind (default 9100)")
    parser.add_argument(
        "--interval", type=seconds_arg, default=30.0, help="seconds between rounds (default 30)"
    )
    parser.add_argument(
        "--naming", choices=("toolkit", "resilience4j"), default="toolkit",
        help="metric names: the toolkit's or resilience4j's (default toolkit)",
    )  # fmt: skip
    parser.add_argument(
        "--required", action="append", default=[], metavar="NAME",
        help="an integration the service cannot work without (/readyz); repeatable",
    )  # fmt: skip
    return parser


class Service:
    """The runner, its exporters and the schedule, as one Starlette app."""

    def __init__(
        self, runner: IntegrationRunner, *, interval: float, naming: Naming,
        required: frozenset[str],
    ) -> None:  # fmt: skip
        self.runner, self.interval, self.required = runner, interval, required
        self.collector = PrometheusCollector(runner, naming)
        self.health = HealthRoutes(self.collector.reader, required, blocking=False)
        self.rounds = 0
        routes = [
            *self.health.routes(),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/", self.status_page, methods=["GET"]),
        ]
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    async def metrics(self, request: Request) -> Response:
        """``/metrics``: one scrape of the collector."""
        return Response(self.collector.render(), media_type=CONTENT_TYPE_LATEST)

    async def status_page(self, request: Request) -> Response:
        """``/``: the HTML status page."""
        snap = await self.health.read()
        return HTMLResponse(page(snap, refresh_s=min(self.interval, 30.0), required=self.required))

    async def _schedule(self) -> None:
        """Run every check once per interval, counted from the start of each round.

        A round never raises because of a check; should the runner itself fail, the
        error is logged (with its traceback the first time) and the next round runs.
        """
        failed = False
        while True:
            started = time.monotonic()
            try:
                await self.runner.run_all()
                self.rounds += 1
            except Exception:
                logger.error("a round of checks failed; next round in %gs", self.interval,
                             exc_info=not failed)  # fmt: skip
                failed = True
            await asyncio.sleep(max(0.0, self.interval - (time.monotonic() - started)))

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(self._schedule(), name="toolkit-serve: rounds")
        try:
            yield
        finally:
            task.cancel()
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            finally:
                await self.runner.aclose()
                self.collector.close()


def main(argv: list[str], err: TextIO | None = None) -> int:
    """Run the command and return its exit status."""
    err = err or sys.stderr
    args = parse_command_line(_parser(), argv)
    if isinstance(args, int):
        return args
    try:
        config = load_config(args.config)
        runner = config.make_runner()
        required = check_required(runner, args.required)
    except (ConfigError, KeyError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:  # bound before anything starts: a port in use is an error, not a round of checks
        sock = _bind(args.host, args.port)
    except OSError as exc:
        print(
            f"error: could not listen on {args.host}:{args.port}: {exc.strerror or exc}", file=err
        )
        return 2
    service = Service(runner, interval=args.interval, naming=args.naming, required=required)
    server = uvicorn.Server(
        uvicorn.Config(
            service.app,
            host=args.host,
            port=args.port,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=GRACE_S,
        )
    )
    print(
        f"serving {len(runner.names)} checks on http://{args.host}:{args.port}/ "
        f"every {args.interval:g}s (/metrics /health /livez /readyz)",
        file=err, flush=True,
    )  # fmt: skip
    # uvicorn shuts down on SIGTERM or SIGINT, then raises the signal again for the
    # handler it found: ours ends the process with 0 (a stop that was asked for).
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
    return 0 if server.started else 1


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (IPv4 or IPv6, as the address says)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _stopped(signum: int, frame: object) -> None:
    """SIGTERM once uvicorn has shut down: nothing left to do but return 0."""
