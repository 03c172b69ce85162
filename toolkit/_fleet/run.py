"""One run's Redis I/O: a single pipelined read before its calls, a single write after.

``RedisStorage.begin_run`` makes a ``FleetRun`` for the breakers a run needs. Entering
it sends, through the I/O thread (io.py), one pipeline: one read script over every breaker
(its five keys, and the trial lease when its trial is due) and whatever the run's
extensions add. Inside, admit and settle are served from that read and their writes
queue in the storage's outbox. Leaving sends every queued write, and the extensions'
writes, in one more pipeline. A run of any number of integrations therefore costs at
most two round trips (one when nothing changed), ``run_one`` the same; neither waits
longer than the storage's deadline, and a run that gets no answer in time goes on
from each breaker's local state (Redis then counts as unreachable until it answers
in time again).

Extensions (``RedisStorage.add_run_extension``) ride along in both round trips: a
component that keeps its own per-run state in Redis (say, a time window shared by
the fleet) adds its commands to the read and to the write and gets their replies,
paying no round trip of its own. See ``RunExtension``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextvars import Token
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pybreaker
import redis

from toolkit._fleet import scripts
from toolkit._fleet.breaker import RedisBreakerStorage
from toolkit._fleet.io import Command, Packed, RedisIO
from toolkit._fleet.outbox import ACTIVE, Outbox, Write
from toolkit._fleet.scripts import CLEAN
from toolkit._fleet.snapshot import CLOSED

if TYPE_CHECKING:
    from collections.abc import Container

logger = logging.getLogger("toolkit")


@runtime_checkable
class RunExtension(Protocol):
    """Commands another component adds to each run's read and write pipelines.

    Every method is called on the event loop's thread and must not block. ``names``
    are the integrations of the run. Replies come in the order of the commands, error
    replies as ``redis.ResponseError`` objects; ``None`` means Redis did not answer
    in time (or is down): go on without it. An extension's exception is logged and
    never breaks the run.
    """

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Commands to send with the run's read, before its calls launch."""
        ...

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """The replies to ``read_commands``."""
        ...

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Commands to send with the run's write, once its calls have settled."""
        ...

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """The replies to ``write_commands``."""
        ...


class FleetRun:
    """The read before a run's calls and the write after them (an async context manager)."""

    def __init__(
        self,
        io: RedisIO,
        outbox: Outbox,
        calls: Sequence[tuple[pybreaker.CircuitBreaker, float]],
        extensions: Sequence[RunExtension] = (),
    ) -> None:
        self._io = io
        self._outbox = outbox
        self._members: list[tuple[RedisBreakerStorage, float, float]] = []
        self.names: list[str] = []
        for cb, trial_s in calls:
            storage = cb._state_storage
            if isinstance(storage, RedisBreakerStorage):
                self._members.append((storage, float(cb.reset_timeout), float(trial_s)))
                self.names.append(storage.keys.name)
        self._ids: Container[int] = frozenset(id(m[0]) for m in self._members)
        self._extensions = list(extensions)
        self._token: Token[Container[int] | None] | None = None

    # --------------------------------------------------------------- read
    async def __aenter__(self) -> FleetRun:
        now = time.time()
        commands: list[Command | Packed] = []
        if self._members:
            wire = [storage.read_wire(wait, trial_s) for storage, wait, trial_s in self._members]
            commands += [scripts.READ_ALL.load(), scripts.read_all(wire, now)]
        parts = [self._ask(ext, "read_commands") for ext in self._extensions]
        for part in parts:
            commands += part
        replies = await self._io.exchange(commands) if commands else None
        offset = 0
        if self._members:
            each = _split(None if replies is None else replies[1], len(self._members))
            for (storage, _, _), reply in zip(self._members, each, strict=True):
                if reply is not CLEAN or storage._snap is not CLOSED:  # else: as it was
                    storage.apply_read(reply)
            offset = 2
        for ext, part in zip(self._extensions, parts, strict=True):
            got = None if replies is None else replies[offset : offset + len(part)]
            offset += len(part)
            self._tell(ext, "read_replies", got)
        self._token = ACTIVE.set(self._ids)
        return self

    # -------------------------------------------------------------- write
    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        if self._token is not None:
            ACTIVE.reset(self._token)
            self._token = None
        writes = self._outbox.drain()
        parts = [self._ask(ext, "write_commands") for ext in self._extensions]
        commands: list[Command] = [s.load() for s in _scripts_of(writes)]
        head = len(commands)
        commands += [w.command for w in writes]
        for part in parts:
            commands += part
        if len(commands) == head:
            return
        replies = None
        try:
            if exc_type is None:
                replies = await self._io.exchange(commands)  # sent even if cancelled meanwhile
            else:  # cancelled or interrupted: send without waiting, replies unread
                self._io.submit(commands)
        finally:  # every write is accounted for, even when this run is cancelled here
            _answer(writes, None if replies is None else replies[head : head + len(writes)])
            offset = head + len(writes)
            for ext, part in zip(self._extensions, parts, strict=True):
                got = None if replies is None else replies[offset : offset + len(part)]
                offset += len(part)
                self._tell(ext, "write_replies", got)

    # ---------------------------------------------------------- extensions
    def _ask(self, ext: RunExtension, hook: str) -> list[Command]:
        try:
            return list(getattr(ext, hook)(self.names))
        except Exception:
            logger.exception("run extension %r failed in %s; ignored", ext, hook)
            return []

    def _tell(self, ext: RunExtension, hook: str, replies: Sequence[Any] | None) -> None:
        try:
            getattr(ext, hook)(self.names, replies)
        except Exception:
            logger.exception("run extension %r failed in %s; ignored", ext, hook)


def _split(reply: Any, count: int) -> list[Any]:
    """Per breaker, its six values from ``READ_ALL`` (None, or the error, for every one)."""
    if not isinstance(reply, bytes):
        return [reply] * count
    try:
        return scripts.split_read_all(reply, count)
    except ValueError as exc:
        return [redis.ResponseError(f"unreadable reply to the run's read ({exc})")] * count


def _scripts_of(writes: Sequence[Write]) -> list[scripts.LuaScript]:
    """The scripts the writes call, to load at the head of their pipeline."""
    shas = {str(w.command[1]) for w in writes if w.command[0] == "EVALSHA"}
    return [scripts.BY_SHA[sha] for sha in sorted(shas)]


def _answer(writes: Sequence[Write], replies: Sequence[Any] | None) -> None:
    """Hand each write its reply (none when Redis did not answer) and mark it sent."""
    for i, write in enumerate(writes):
        reply = None if replies is None else replies[i]
        refused = reply if isinstance(reply, redis.ResponseError) else None
        if write.sender is not None:
            write.sender.sent(None if refused is None else f"refused a command: {refused}")
        if replies is None or write.on_reply is None or refused is not None:
            continue
        try:
            write.on_reply(reply)
        except Exception:
            logger.exception("handling the reply to %r failed; ignored", write.command[0])
