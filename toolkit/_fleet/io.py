"""Redis off the event loop: one I/O thread sends each run's pipelines; the loop awaits them.

Why a thread rather than ``redis.asyncio``: the runner runs on whatever loop calls it
(a service's, a notebook's patched one, the private loop of ``run_all_sync``), and an
asyncio connection belongs to one loop; pybreaker's storage interface is synchronous
too. One thread with one connection of its own serves every loop, keeps the commands
of successive runs in order, and costs the loop one ``await`` per exchange. Measured on
loopback (``benchmarks/bench_redis.py``), 1,000 ``MGET`` of five keys in one pipeline,
medians of 20: this thread 8.2 ms per exchange with the loop's longest stall 4.9 ms (the
GIL shared with the parsing), ``redis.asyncio``'s pipeline 26.2 ms with a 17.0 ms stall
(redis-py's per-command bookkeeping runs on the loop itself).

The deadline: an exchange that gets no answer within ``deadline`` seconds (plus
``PER_COMMAND`` for each of its commands) is given up (its late reply is read and
dropped by the thread) and Redis counts as unreachable (``Health.failed``);
``Health`` then PINGs until Redis answers *within the deadline* again. A slow Redis
is thereby treated like an absent one: runs go on from each worker's own state and
do not wait for it again until it is fast enough.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast

import redis

from toolkit._fleet.client import DirectConnection, Health
from toolkit._fleet.tracking import Tracker

logger = logging.getLogger("toolkit")

Command = tuple[str | bytes | int | float, ...]
"""One Redis command as its arguments, e.g. ``("GET", "ns:pay:pybreaker:state")``."""

DEADLINE = 0.1
"""Seconds a run's read or write may wait for Redis before the run goes on without it."""
PER_COMMAND = 50e-6
"""Seconds added to the deadline per command of an exchange (a big run's pipeline takes
longer to carry and parse, however fast Redis is: 1,000 breakers add 50 ms)."""


def _bulk(value: str | bytes | int | float) -> bytes:
    if isinstance(value, bytes):
        data = value
    elif isinstance(value, str):
        data = value.encode("utf-8", "backslashreplace")
    elif isinstance(value, float):
        data = repr(value).encode()
    else:
        data = b"%d" % value
    return b"$%d\r\n%b\r\n" % (len(data), data)


class Packed(bytes):
    """A command already in Redis's wire format: ``pack`` sends it as it is."""

    __slots__ = ()


def bulks(args: Iterable[str | bytes | int | float]) -> bytes:
    """Arguments in the wire format, without the command's header: a part of a command
    that is packed once and sent in many (a breaker's keys in every run's read)."""
    return b"".join([_bulk(arg) for arg in args])


def pack(command: Command | Packed) -> bytes:
    """One command in Redis's wire format (RESP), packed here: redis-py's packing costs
    more than the round trip it is packed for (about 50 us against 3 us a command)."""
    if isinstance(command, Packed):
        return command
    return b"*%d\r\n%b" % (len(command), bulks(command))


class Plan(Protocol):
    """An exchange whose commands are decided in the I/O thread, once the pushes
    already received have been read (a run's read: see tracking.py)."""

    size: int
    """About how many commands it will send (for the deadline)."""

    def build(self) -> Sequence[Command | Packed]:
        """The commands to send now (in the I/O thread)."""
        ...

    def replied(self) -> None:
        """Called in the I/O thread once every reply was read, before any later push."""
        ...


class RedisIO:
    """A thread that exchanges pipelines with Redis for runs, awaited under a deadline."""

    def __init__(
        self, client: redis.Redis, health: Health, *, deadline: float = DEADLINE,
        tracking: bool = True,
    ) -> None:  # fmt: skip
        self.health = health
        self.deadline = deadline
        self.round_trips = 0
        """Exchanges sent so far (one pipelined round trip each)."""
        self.tracker = Tracker(health.label, enabled=tracking)
        """What the connection's client tracking knows (tracking.py)."""
        self._direct = DirectConnection(client, self.tracker)
        self._executor = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix=f"toolkit-redis-io {health.label}"
        )
        self._lock = threading.Lock()
        self._closed = False

    def _exchange(self, commands: Sequence[Command | Packed] | Plan) -> list[Any] | None:
        """In the I/O thread: one round trip; None when Redis is down or failed meanwhile."""
        if not self.health.ok:
            return None
        try:
            plan = _plan(commands)
            if plan is not None:
                self._direct.drain()
                sent = plan.build()
            else:
                sent = cast("Sequence[Command | Packed]", commands)
            packed = [b"".join([pack(command) for command in sent])]
            self.round_trips += 1
            replies = self._direct.call_many(packed, len(sent))
            if plan is not None:
                plan.replied()
            return replies
        except redis.RedisError as exc:
            self.health.failed(exc)
        except Exception as exc:  # never let the store's trouble reach a run
            logger.warning("a Redis exchange failed (%s); runs go on from local state", exc)
            self.health.failed(exc)
        return None

    def submit(
        self, commands: Sequence[Command | Packed] | Plan
    ) -> concurrent.futures.Future[list[Any] | None]:
        """Queue one exchange in the I/O thread, in order after those queued before."""
        with self._lock:
            if self._closed or not _size(commands):
                done: concurrent.futures.Future[list[Any] | None] = concurrent.futures.Future()
                done.set_result(None)
                return done
            work = _plan(commands) or list(cast("Sequence[Command | Packed]", commands))
            return self._executor.submit(self._exchange, work)

    async def exchange(self, commands: Sequence[Command | Packed] | Plan) -> list[Any] | None:
        """The replies to ``commands`` (error replies as exceptions), or None: Redis is
        down, or did not answer within the deadline (it then counts as unreachable)."""
        count = _size(commands)
        if not count or not self.health.ok:
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[list[Any] | None] = loop.create_future()

        def landed(done: concurrent.futures.Future[list[Any] | None]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_hand_over, waiter, done)

        self.submit(commands).add_done_callback(landed)
        bound = self.bound(count)
        try:
            # the exchange is sent whatever happens to this await (a deadline missed, a
            # run cancelled): its late replies are read in the thread and dropped
            async with asyncio.timeout(bound):
                return await waiter
        except TimeoutError:
            self.tracker.forget()
            self.health.failed(
                redis.TimeoutError(
                    f"no answer within the {bound * 1000:.0f} ms deadline ({count} commands)"
                )
            )
            return None

    def bound(self, count: int) -> float:
        """Seconds an exchange of ``count`` commands may take."""
        return self.deadline + count * PER_COMMAND

    def call(self, commands: Sequence[Command | Packed], timeout: float) -> list[Any] | None:
        """``exchange`` from plain code: waits at most ``timeout`` seconds, never raises."""
        if not commands or not self.health.ok:
            return None
        try:
            return self.submit(commands).result(timeout)
        except concurrent.futures.TimeoutError:
            self.health.failed(redis.TimeoutError(f"no answer within {timeout:g} s"))
            return None

    def close(self) -> None:
        """Finish what is queued, stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._executor.shutdown(wait=True)
        self._direct.close()


def _plan(commands: Sequence[Command | Packed] | Plan) -> Plan | None:
    """``commands`` when they are a plan (they have ``build``); the cheap test, as a
    Protocol's ``isinstance`` costs microseconds."""
    return cast(Plan, commands) if hasattr(commands, "build") else None


def _size(commands: Sequence[Command | Packed] | Plan) -> int:
    plan = _plan(commands)
    return plan.size if plan is not None else len(cast("Sequence[Command | Packed]", commands))


def _hand_over(
    waiter: asyncio.Future[list[Any] | None], done: concurrent.futures.Future[list[Any] | None]
) -> None:
    """On the loop: the exchange's outcome to whoever still awaits it."""
    if waiter.done():
        return
    exc = done.exception()
    if exc is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())
