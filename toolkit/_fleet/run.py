"""One run's Redis I/O: a single pipelined read before its calls, a single write after.

``RedisStorage.begin_run`` makes a ``FleetRun`` for the breakers a run needs. Entering
it sends, through the I/O thread (io.py), one pipeline: one read script over every breaker
(its five keys, and the trial lease when its trial is due) and whatever the run's
extensions add. Inside, admit and settle are served from that read and their writes
queue in the storage's outbox. Leaving sends every queued write, and the extensions'
writes, in one more pipeline. With client tracking (tracking.py) the read leaves out
every breaker Redis has not reported changed since it was last read, and is a PING
when none has; a change reported while the read travelled is read again by a second
exchange. A run of any number of integrations therefore costs at most three round
trips (one when nothing changed), ``run_one`` at most two (a run of one breaker
always reads it); none waits longer than the storage's deadline, and a run that gets
no answer in time goes on from each breaker's local state (Redis then counts as
unreachable until it answers in time again).

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
from toolkit._fleet.tracking import Tracker

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


class Group:
    """The breakers of a run that live in Redis, as a run needs them; the same calls
    make the same group (``RedisStorage.begin_run`` keeps the last few)."""

    __slots__ = ("breakers", "members", "names", "storages", "trials")

    def __init__(self, calls: Sequence[tuple[pybreaker.CircuitBreaker, float]]) -> None:
        self.breakers: list[pybreaker.CircuitBreaker] = []
        self.storages: list[RedisBreakerStorage] = []
        self.trials: list[float] = []
        self.names: list[str] = []
        for cb, trial_s in calls:
            storage = cb._state_storage
            if isinstance(storage, RedisBreakerStorage):
                self.breakers.append(cb)
                self.storages.append(storage)
                self.trials.append(float(trial_s))
                self.names.append(storage.keys.name)
        self.members: frozenset[RedisBreakerStorage] = frozenset(self.storages)
        """The storages, which serve reads and queue writes inside the run (``ACTIVE``)."""


class FleetRun:
    """The read before a run's calls and the write after them (an async context manager)."""

    serves = True
    """Inside, in the run's context (its task, its calls' tasks), every breaker of it
    reads from the run's read."""

    def __init__(
        self,
        io: RedisIO,
        outbox: Outbox,
        calls: Sequence[tuple[pybreaker.CircuitBreaker, float]] | Group,
        extensions: Sequence[RunExtension] = (),
    ) -> None:
        self._io = io
        self._outbox = outbox
        self._group = calls if isinstance(calls, Group) else Group(calls)
        self.names = self._group.names
        self._extensions = list(extensions)
        self._token: Token[Container[object] | None] | None = None

    # --------------------------------------------------------------- read
    async def __aenter__(self) -> FleetRun:
        group = self._group
        parts = [self._ask(ext, "read_commands") for ext in self._extensions]
        extra: list[Command | Packed] = [command for part in parts for command in part]
        # a run of one breaker always reads it: run_one costs two round trips at most
        tracker = self._io.tracker if len(group.storages) > 1 else None
        read = _Read(group, range(len(group.storages)), tracker, extra)
        replies = await self._io.exchange(read) if group.storages or extra else None
        self._take(read, replies)
        stale = read.stale() if replies is not None else []
        if stale:  # changed while the read travelled: read those again
            again = _Read(group, stale, tracker, [])
            self._take(again, await self._io.exchange(again))
        offset = 0
        for ext, part in zip(self._extensions, parts, strict=True):
            got = None if replies is None else replies[offset : offset + len(part)]
            offset += len(part)
            self._tell(ext, "read_replies", got)
        members = group.members
        for storage in group.storages:  # the calls' reads come from this read
            storage.run_members = members
        self._token = ACTIVE.set(members)
        return self

    def _take(self, read: _Read, replies: list[Any] | None) -> None:
        """Apply a read's replies (None: Redis did not answer; every breaker goes on locally)."""
        storages = self._group.storages
        if replies is None:
            for i in read.wanted:
                storages[i].apply_read(None)
            return
        if not read.selected:
            return
        each = _split(replies[read.script_at], len(read.selected))
        clean = read.clean if read.tracked and replies[read.script_at - 1] == b"OK" else None
        seq = read.seq
        for i, reply in zip(read.selected, each, strict=True):
            storage = storages[i]
            if reply is not CLEAN or storage._snap is not CLOSED:  # else: as it was
                storage.apply_read(reply)
            if clean is not None and reply is CLEAN and storage._snap is CLOSED:
                Tracker.mark(clean, storage, seq)

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


PING: Command = ("PING",)
CACHING: Command = ("CLIENT", "CACHING", "YES")


class _Read:
    """A run's read (an ``io.Plan``): built in the I/O thread once the pushes already
    received are read, leaving out the breakers tracking knows are clean (tracking.py)."""

    def __init__(
        self, group: Group, wanted: Sequence[int], tracker: Tracker | None, extra: list[Any]
    ) -> None:
        self.group = group
        self.wanted = wanted
        """Indexes, in the group, of the breakers to read unless known clean."""
        self.size = 3 + len(extra)
        self._tracker = tracker
        self._extra = extra
        self.selected: Sequence[int] = wanted
        """Those read; the others were known clean."""
        self.tracked = False
        self.clean: set[Any] = set()
        self.seq = 0
        self.script_at = 0
        """Where the read script's reply is (the extensions' replies come first)."""
        self._dirty: frozenset[Any] | None = None

    def build(self) -> list[Command | Packed]:
        tracker, group = self._tracker, self.group
        self.tracked = tracker is not None and tracker.active
        if tracker is not None and self.tracked:
            storages = group.storages
            if len(self.wanted) == len(storages):  # the whole run: a set difference
                dirty = self._dirty = group.members - tracker.clean
                self.selected = [i for i in self.wanted if storages[i] in dirty] if dirty else []
            else:
                clean = tracker.clean
                self.selected = [i for i in self.wanted if storages[i] not in clean]
            for i in self.selected:
                if not storages[i].watched:
                    tracker.watch(storages[i])
        # The extensions' commands go first and the tracked script last: every push read
        # with these replies then came before the script's reply (about a change the
        # script saw), and one about a change after it comes after its reply, so
        # ``replied`` takes a number older than that push and the mark is refused.
        commands: list[Command | Packed] = list(self._extra)
        if self.selected:
            breakers, storages, trials = group.breakers, group.storages, group.trials
            wire = [
                storages[i].read_wire(float(breakers[i].reset_timeout), trials[i])
                for i in self.selected
            ]
            commands.append(scripts.READ_ALL.load())
            if self.tracked:
                commands.append(CACHING)
            self.script_at = len(commands)
            commands.append(scripts.read_all(wire, time.time()))
        elif not commands:
            commands.append(PING)  # Redis answers in time, and every push before it is read
        return commands

    def replied(self) -> None:
        if self._tracker is not None:
            self.clean, self.seq = self._tracker.clean, self._tracker.seq

    def stale(self) -> list[int]:
        """The breakers left out as clean that a push, read with the replies, says
        changed (or all of them, when the connection was new by then)."""
        if self._tracker is None or not self.tracked:
            return []
        group = self.group
        if self._dirty is not None:
            gone = group.members - self._dirty - self.clean
        else:
            left = set(self.wanted) - set(self.selected)
            gone = frozenset(group.storages[i] for i in left) - self.clean
        if not gone:
            return []
        return [i for i in self.wanted if group.storages[i] in gone]


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
