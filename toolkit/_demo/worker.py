"""A fleet worker process: demo integrations run over and over with breakers shared in Redis.

``python -m toolkit._demo.worker --url redis://127.0.0.1:6379/0 --namespace demo``
runs ``toolkit.demo`` integrations every ``--interval`` seconds with a
``RedisStorage`` until SIGTERM, SIGINT, ``--runs`` runs, or its parent process goes
away. After each run it prints one JSON line: which integrations ``fetch`` was
called for, each breaker's state, and whether Redis was reachable, so a test or a
notebook can see what every worker did.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from toolkit._demo.services import DemoIntegration, demo_integrations
from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.runner import IntegrationRunner
from toolkit._fleet.storage import RedisStorage


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The worker's command line."""
    parser = argparse.ArgumentParser(prog="python -m toolkit._demo.worker")
    parser.add_argument("--url", required=True, help="Redis URL, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--namespace", default="toolkit")
    parser.add_argument("--worker", default=None, help="name in the call stream (host:pid)")
    parser.add_argument("--count", type=int, default=4, help="how many demo integrations")
    parser.add_argument("--failing", default="", help="comma-separated names that fail")
    parser.add_argument("--latency-scale", type=float, default=0.1)
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between runs")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many (0: never)")
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--fail-max", type=int, default=2)
    parser.add_argument("--reset-timeout", type=float, default=30.0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until told to stop; exit 0."""
    args = parse(argv)
    stop = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    parent = os.getppid()
    integrations = demo_integrations(args.count, latency_scale=args.latency_scale)
    failing = {n for n in args.failing.split(",") if n}
    registry = IntegrationRegistry()
    for integration in integrations:
        integration.failing = integration.name in failing
        registry.register(integration)
    storage = RedisStorage(args.url, args.namespace, worker=args.worker)
    runner = IntegrationRunner(
        registry,
        storage=storage,
        timeout=args.timeout,
        fail_max=args.fail_max,
        reset_timeout=args.reset_timeout,
    )
    try:
        run = 0
        while not stop and (args.runs == 0 or run < args.runs) and os.getppid() == parent:
            run += 1
            report(runner, storage, integrations, run)
            time.sleep(args.interval)
    finally:
        runner.close()
        storage.close()
    return 0


def report(
    runner: IntegrationRunner,
    storage: RedisStorage,
    integrations: list[DemoIntegration],
    run: int,
) -> None:
    """Run once and print what happened as one JSON line."""
    before = {i.name: i.calls for i in integrations}
    started = time.time()
    runner.run_all_sync()
    line = {
        "worker": storage.worker,
        "run": run,
        "started": started,
        "ended": time.time(),
        "called": sorted(i.name for i in integrations if i.calls > before[i.name]),
        "states": {s.name: s.state for s in runner.statuses()},
        "storage_ok": storage.available,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
