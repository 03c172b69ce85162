"""``python -m toolkit archive redis://... --namespace shop --to DIR``: a fleet's calls into
an archive, from its call stream through a consumer group, until stopped.

SIGTERM or Ctrl-C ends it after the batch under way is written and acknowledged (exit
status 0); ``--once`` archives what the stream holds and exits. A Redis that stops
answering is waited for; a bad argument exits 2, a failed write 1 (the batch stays
unacknowledged, so a restart writes it).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TextIO

from toolkit._archive.consumer import DEFAULT_CONSUMER, DEFAULT_GROUP, StreamArchiver
from toolkit._checks.command import parse_command_line, seconds_arg
from toolkit._engine.errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit archive",
        description="Archive a fleet's call stream (calls and the breaker events they show) "
        "as Parquet, partitioned by day; toolkit.Archive(DIR) reads it.",
        epilog="exit status: 0 stopped, 1 a write failed, 2 bad arguments",
    )
    parser.add_argument("redis", help="the fleet's Redis, e.g. redis://127.0.0.1:6379/0")
    parser.add_argument("--namespace", required=True, help="the fleet's namespace")
    parser.add_argument("--to", required=True, metavar="DIR", help="the archive's directory")
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"consumer group (default {DEFAULT_GROUP})"
    )
    parser.add_argument(
        "--consumer", default=DEFAULT_CONSUMER,
        help=f"this consumer's name, kept across restarts (default {DEFAULT_CONSUMER})",
    )  # fmt: skip
    parser.add_argument(
        "--interval", type=seconds_arg, default=1.0, metavar="S",
        help="seconds a batch gathers at most before it is written (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--once", action="store_true", help="archive what the stream holds now, then exit"
    )
    return parser


def main(argv: list[str], err: TextIO | None = None) -> int:
    """Run the command and return its exit status."""
    err = err or sys.stderr
    args = parse_command_line(_parser(), argv)
    if isinstance(args, int):
        return args
    try:
        archiver = StreamArchiver(
            args.redis, args.namespace, args.to, group=args.group, consumer=args.consumer,
            interval=args.interval,
        )  # fmt: skip
    except ConfigError as exc:
        print(f"error: {exc}", file=err)
        return 2
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    print(f"archiving {archiver.key} of {archiver.url} to {args.to}", file=err, flush=True)
    try:
        archiver.run(stop, once=args.once)
    except OSError as exc:
        print(f"error: writing the archive failed: {exc}", file=err)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        archiver.close()
    print(
        f"archived {archiver.archived} calls; {archiver.repeats} repeats skipped", file=err,
        flush=True,
    )  # fmt: skip
    return 0
