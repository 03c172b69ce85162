"""``python -m toolkit check FILE``: run a config's checks from a shell, cron job or CI.

Exit status: 0 when every check that ran is healthy, 1 when any failed, 2 when the
config (or the command line) is bad, 130 when interrupted before a round finished.
``--watch N`` reruns every N seconds and prints what changed; Ctrl-C (or SIGTERM)
stops it cleanly with the exit status of the last finished round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import math
import os
import signal
import sys
from collections.abc import Iterator
from typing import TextIO

from toolkit._checks.config import CheckConfig, load_config
from toolkit._checks.report import Reporter, Round
from toolkit._engine.errors import ConfigError
from toolkit._engine.results import IntegrationResults
from toolkit._engine.runner import IntegrationRunner

INTERRUPTED = 130


def seconds_arg(text: str) -> float:
    """An argparse type: a finite number of seconds > 0 (``--watch``, ``--interval``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit check",
        description="Run the checks of a TOML config file once, or every N seconds.",
        epilog="exit status: 0 all healthy, 1 any check failed, 2 bad config or usage",
    )
    parser.add_argument("config", help="TOML file with [[http]] / [[tcp]] checks")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--watch", type=seconds_arg, metavar="N", help="rerun every N seconds, printing changes"
    )
    return parser


def parse_command_line(
    parser: argparse.ArgumentParser, argv: list[str]
) -> argparse.Namespace | int:
    """The parsed arguments, or the exit status once argparse has printed usage or help.

    Also sets up logging for a command: warnings and errors to stderr, one line each.
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return args


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command and return its exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parse_command_line(_parser(), argv)
    if isinstance(args, int):
        return args
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        return asyncio.run(_run(config, args.json, args.watch, out))
    except KeyboardInterrupt:  # a second Ctrl-C while closing, or no signal handler
        return INTERRUPTED


async def _run(config: CheckConfig, as_json: bool, every: float | None, out: TextIO) -> int:
    """Run rounds until done (once) or stopped (``--watch``); the last finished round's code."""
    runner = config.make_runner()
    skipped = [name for name in config.names if name not in runner.names]
    reporter = Reporter(runner)
    stop = asyncio.Event()
    code: int | None = None
    number = 0
    with _stop_on_signals(stop):
        try:
            while True:
                number += 1
                results = await _until_stopped(runner, stop)
                if results is None:
                    break
                rnd = reporter.round(number, results, skipped)
                code = rnd.exit_code
                try:
                    _show(reporter, rnd, as_json, every, out)
                except BrokenPipeError:  # the reader went away (``| head``): stop quietly
                    _silence(out)
                    break
                if every is None or await _stopped_within(stop, every):
                    break
        finally:
            await runner.aclose()
    return INTERRUPTED if code is None else code


async def _until_stopped(
    runner: IntegrationRunner, stop: asyncio.Event
) -> IntegrationResults | None:
    """Run every check once, or None when ``stop`` is set first (the run is cancelled)."""
    run = asyncio.ensure_future(runner.run_all())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if run.done():
        return run.result()
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run
    return None


async def _stopped_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _show(reporter: Reporter, rnd: Round, as_json: bool, every: float | None, out: TextIO) -> None:
    if as_json:
        print(reporter.json(rnd, indent=None if every is not None else 2), file=out)
    else:
        first = rnd.number == 1
        print(reporter.text(rnd, full=first or every is None), file=out)
        if first and every is not None:
            print(f"\nwatching every {every:g}s; Ctrl-C stops", file=out)
    out.flush()


def _silence(out: TextIO) -> None:
    """Send what is still buffered for ``out`` to /dev/null, so exiting does not fail on it."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into ``stop.set()`` while the checks run (Unix main thread)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # not the main thread, or no signal support: Ctrl-C raises as usual
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
