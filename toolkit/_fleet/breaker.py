"""One integration's breaker state in Redis, in pybreaker's own layout, safe when Redis is not.

``RedisBreakerStorage`` is a ``pybreaker.CircuitRedisStorage``: the same keys and the
same integer ``opened_at``, so plain pybreaker workers and ours share breakers. It
differs where pybreaker's storage falls short:

* Round trips, and the event loop. Inside a run (``FleetRun``, see run.py) the
  breaker is read once, with every other breaker of the run, in one pipeline sent by
  an I/O thread before any call launches; admit and settle are then served from that
  read, and their writes are queued and sent together when the run's calls have
  settled. Outside a run (controls, a status) the five keys are read together with
  one ``MGET``; inside ``batch()`` that read is served locally, and a write that would
  not change what was just read is skipped.
* One trial per fleet. The run's read takes the trial lease (``SET NX PX``) when the
  trial is due: only the worker holding it makes the trial call (``trial_granted``);
  the lease is released when the trial settles, and lapses on its own (after the
  call's timeout, grace and one second) when the worker died mid-trial.
* A dead or slow Redis. pybreaker logs a traceback for every failed command and then
  answers "closed", letting calls through an open breaker. Here the first failure, or
  a run's read or write that misses its deadline, marks Redis unreachable (one log
  line, see ``Health``); until Redis answers in time again every read and write uses
  the local snapshot: the breaker lives on in this process's memory from the last
  state it shared (an open breaker stays open, failures go on counting, the trial is
  this worker's own). When Redis answers again its state wins; a breaker Redis no
  longer has (restarted or flushed empty) is written back from this process's state.
* ``opened_at`` is whole seconds in Redis (pybreaker's format). pybreaker rounds the
  opening time down, which can shorten the wait by up to a second; this storage
  rounds it up, so no worker runs a trial before ``reset_timeout`` has passed (the
  wait is up to one second longer), and countdowns computed from the stored value
  match what every worker does. Only ever moved forward when a breaker opens, as in
  pybreaker; ``rewind_opened_at`` (used by ``expire``) moves it back on purpose, and
  closing the breaker deletes it. An ``opened_at`` more than a second ahead of this
  worker's clock (a clock ahead, or garbage) is believed to be the moment this worker
  first saw it: the wait is then this worker's own ``reset_timeout``, never longer.
* Garbage. A counter that holds no whole number reads as 0 with one warning naming
  the value, and the next count writes 1 over it (pybreaker's ``INCR`` would fail for
  good and the breaker would never open).
* Isolation. ``isolated`` is a key beside pybreaker's, so a breaker held open until
  reset is held open in every worker of ours (plain pybreaker workers see it open).
* A shared window. ``shared_window(seconds)`` gives a rate policy the fleet's time
  window (``toolkit/_fleet/window.py``) instead of this worker's.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from threading import get_ident
from typing import Any, TypeVar

import pybreaker
import redis

from toolkit._fleet import scripts
from toolkit._fleet.client import DirectConnection, Health, describe
from toolkit._fleet.io import Command, bulks
from toolkit._fleet.keys import BreakerKeys
from toolkit._fleet.outbox import ACTIVE, Outbox
from toolkit._fleet.scripts import CLEAN
from toolkit._fleet.snapshot import CLOSED, OPENED_AT_MAX, Snapshot, parse_snapshot
from toolkit._fleet.tracking import Tracker
from toolkit._fleet.window import SharedWindow, SharedWindows

logger = logging.getLogger("toolkit")

T = TypeVar("T")
EXPIRED = 1
"""The ``opened_at`` that ``expire`` writes: so long ago that every worker's wait is over."""
LEASE_MARGIN = 1.0
"""Seconds a trial lease outlives the trial call's timeout and grace (for its release)."""
FUTURE_SLACK = 1.0
"""Seconds an ``opened_at`` may be ahead of this worker's clock and still be believed."""
_tokens = itertools.count(1)


_NO_BATCH = contextlib.nullcontext()
_NO_RUN = object()


class _Batch:
    """Reentrant, per thread: the snapshot is read once on entry, then served locally
    (a synchronous block: no other task of the thread runs inside it)."""

    __slots__ = ("_storage",)

    def __init__(self, storage: RedisBreakerStorage) -> None:
        self._storage = storage

    def __enter__(self) -> None:
        storage = self._storage
        ident = get_ident()
        serving = storage._serving
        if ident not in serving and not storage._deferred():
            storage._refresh()  # may raise (an interrupt): nothing is served yet
        serving[ident] = serving.get(ident, 0) + 1

    def __exit__(self, *exc: object) -> None:
        serving = self._storage._serving
        ident = get_ident()
        depth = serving[ident] - 1
        if depth:
            serving[ident] = depth
        else:
            del serving[ident]


class RedisBreakerStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage with batched reads, a trial lease, a local fallback."""

    # Slots, not the instance dict: with pybreaker's attributes a dict would hold more
    # than the 30 keys CPython shares between instances, and every call reads these
    # several times (a run of 1,000 breakers paid about 1 ms more for it).
    __slots__ = (
        "_batch", "_complained", "_direct", "_future_of", "_future_since",
        "_granted", "_in_redis", "_lease_held", "_lock", "_mget", "_on_lost", "_outbox",
        "_parsed", "_parsed_from", "_serving", "_snap", "_tracker", "_unsent", "_windows",
        "_wire", "_wire_for", "health", "invalidated", "keys", "losses", "published",
        "run_members", "token", "watched",
    )  # fmt: skip

    def __init__(
        self,
        client: redis.Redis,
        keys: BreakerKeys,
        health: Health,
        direct: DirectConnection | None = None,
        outbox: Outbox | None = None,
        worker: str = "worker",
        on_lost: Callable[[], None] | None = None,
        windows: SharedWindows | None = None,
        tracker: Tracker | None = None,
    ) -> None:
        # CircuitRedisStorage.__init__ writes to Redis without guarding against errors;
        # its attributes are set here and the keys created by the first read instead.
        pybreaker.CircuitBreakerStorage.__init__(self, "redis")
        self._redis = client
        self._namespace_name = keys.pybreaker_namespace
        self._fallback_circuit_state = pybreaker.STATE_CLOSED
        self._initial_state = pybreaker.STATE_CLOSED
        self._cluster_mode = False
        self.keys = keys
        self.health = health
        self.token = f"{worker}#{next(_tokens)}"
        """This breaker's name for itself in the trial lease (unique in its process)."""
        self._direct = direct or DirectConnection(client)
        self._outbox = outbox
        self._on_lost = on_lost
        self._windows = windows if windows is not None else SharedWindows()
        self._mget = self._direct.pack("MGET", *keys.snapshot())
        self._wire_for: tuple[float, float, float | None] | None = None
        self._wire = (bulks(keys.snapshot()), bulks((keys.trial,)), b"")
        self._parsed_from: tuple[Any, ...] | None = None
        self._parsed: Snapshot | None = None
        self._snap = Snapshot()
        self._lock = threading.Lock()
        self._serving: dict[int, int] = {}
        """Per thread, the depth of the batches that serve its reads from ``_snap``."""
        self.run_members: object = _NO_RUN
        """The breakers of the last run that read this one (run.py sets it): inside that
        run's context ``ACTIVE`` holds this very object, the properties' fast test. Runs
        overlapping on one breaker still serve theirs, by membership (``_deferred``)."""
        self._batch = _Batch(self)
        self._complained: set[str] = set()
        self._granted = True
        self._lease_held = False
        self._future_since: float | None = None
        self._future_of: int | None = None
        self._in_redis = False
        self.losses = 0
        """Times Redis was found without this breaker after having had it."""
        self.published: tuple[Any, int] | None = None
        """The policy last published for this breaker, with ``losses`` then (policies.py)."""
        self._unsent = 0
        self._tracker = tracker
        self.invalidated = 0
        """The number of the last tracking push about this breaker's keys (tracking.py)."""
        self.watched = False
        self._refresh()

    # ------------------------------------------------------------ plumbing
    def batch(self) -> AbstractContextManager[None]:
        """Read the breaker once now; reads inside the ``with`` block use that snapshot
        (nothing to read inside a run that read it, or inside a batch of it already)."""
        if get_ident() in self._serving or self._deferred():
            return _NO_BATCH
        return self._batch

    def _batched(self) -> bool:
        return get_ident() in self._serving

    def _deferred(self) -> bool:
        """True inside a run that read this breaker: reads are local, writes queued."""
        members = ACTIVE.get()
        return (
            members is not None
            and (members is self.run_members or self in members)
            and self._outbox is not None
        )

    def _current(self) -> Snapshot:
        """The snapshot, read again first unless a batch or a run already read it (the
        properties look for the run themselves first: they are read several times a call).

        Only the run's own context (its task, its calls' tasks) is served from the run's
        read: another task of the same thread (a dashboard's refresh, a control) reads
        Redis, as it would outside any run."""
        if get_ident() not in self._serving and not self._deferred():
            self._refresh()
        return self._snap

    def _update(self, **changes: Any) -> None:
        if self._tracker is not None:
            self._tracker.discard(self)  # changed here: the next run reads it again
        with self._lock:
            self._snap = replace(self._snap, **changes)

    def tracked_keys(self) -> list[str]:
        """The keys a change of which makes this breaker's clean read stale (tracking.py)."""
        return self.keys.snapshot()

    def _adopt(self, snap: Snapshot) -> None:
        """Take what Redis holds, unless this process has writes for it not yet sent."""
        self._in_redis = True
        if snap.opened_at is None:  # no opening, so no opened_at ahead of the clock either
            self._future_since = self._future_of = None
        self._complain_about(snap)
        if self._tracker is not None and snap != CLOSED:
            self._tracker.discard(self)
        with self._lock:
            if self._unsent == 0:
                self._snap = snap

    def _send(self, command: Callable[[redis.Redis], T]) -> T | None:
        """Run ``command`` unless Redis is down; a failure is noted, never raised."""
        if not self.health.ok:
            return None
        try:
            return command(self._redis)
        except redis.ResponseError as exc:
            self._refused(f"refused a command: {describe(exc)}")
        except redis.RedisError as exc:
            self.health.failed(exc)
        return None

    def _write(
        self, commands: Sequence[Command], on_reply: Callable[[Any], None] | None = None
    ) -> None:
        """Queue ``commands`` inside a run, else send them now (``on_reply``: the last reply)."""
        outbox = self._outbox
        if outbox is not None and self._deferred():
            for i, command in enumerate(commands):
                with self._lock:
                    self._unsent += 1
                last = i == len(commands) - 1
                outbox.add(command, on_reply if last else None, self)
            return
        packed = self._direct.pack_many([_standalone(c) for c in commands])
        replies = self._send(lambda r: self._direct.call_many(packed, len(commands)))
        if replies is None:
            return
        for reply in replies:
            if isinstance(reply, redis.ResponseError):
                self._refused(f"refused a command: {describe(reply)}")
        if on_reply is not None and not isinstance(replies[-1], Exception):
            on_reply(replies[-1])

    def sent(self, refused: str | None = None) -> None:
        """A queued write was sent, or given up (the run's write calls it)."""
        with self._lock:
            self._unsent = max(0, self._unsent - 1)
        if refused is not None:
            self._refused(refused)

    def _refused(self, what: str) -> None:
        """Log the first command Redis refused, and each value that makes no sense, once."""
        key = "refused" if what.startswith("refused") else what
        if key not in self._complained:
            self._complained.add(key)
            logger.warning(
                "Redis %s for breaker %r; this worker goes on from its own state",
                what, self.keys.name,
            )  # fmt: skip

    def _complain_about(self, snap: Snapshot) -> None:
        """One warning per value Redis holds that is no count, state or time."""
        for problem in snap.problems:
            if problem in self._complained:
                continue
            self._complained.add(problem)
            logger.warning(
                "breaker %r in Redis: %s, which is not a valid value; read as %s, and "
                "written over by this worker's next change",
                self.keys.name, problem, "closed" if problem.startswith("state") else "0",
            )  # fmt: skip

    def _refresh(self) -> None:
        """Read all five keys in one round trip (or re-create them when Redis lost them)."""
        values = self._send(lambda r: self._direct.call(self._mget))
        if values is None:
            return
        try:
            snap = parse_snapshot(values)
        except (ValueError, TypeError, OverflowError, IndexError) as exc:
            self._refused(f"unreadable values ({exc})")
            return
        if snap is None:
            snap = self._seed()
        if snap is not None:
            self._adopt(snap)

    def _seed_commands(self) -> list[Command]:
        """Write this process's state for a breaker Redis does not have, unless one appears."""
        local, keys = self._snap, self.keys
        commands: list[Command] = [
            ("SETNX", keys.fail_counter, local.fail_counter),
            ("SETNX", keys.success_counter, local.success_counter),
        ]
        if local.opened_at is not None:
            commands.append(("SETNX", keys.opened_at, local.opened_at))
        if local.isolated:
            commands.append(("SETNX", keys.isolated, 1))
        commands.append(("SETNX", keys.state, local.state))
        commands.append(("SADD", keys.registry, keys.name))  # so a Fleet finds it without a SCAN
        return commands

    def _seed(self) -> Snapshot | None:
        """Write this process's state for a breaker Redis does not have, and read it back."""

        def seed(r: redis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            for command in self._seed_commands():
                pipe.execute_command(*command)
            pipe.mget(self.keys.snapshot())
            return pipe.execute()

        replies = self._send(seed)
        if replies is None:
            return None
        self._lost()
        return parse_snapshot(replies[-1])

    def _lost(self) -> None:
        """Redis did not have this breaker: a loss when it had it before (a restart, a
        flush), counted in ``losses`` (what the storage then publishes again); a new
        breaker's first write is none."""
        if self._in_redis:
            self.losses += 1
            if self._on_lost is not None:
                self._on_lost()
        self._in_redis = True

    def _initialize_redis_state(self, state: str) -> None:
        """pybreaker's key creation, guarded: creates the keys only where missing."""
        self._update(state=str(state))
        self._seed()

    # -------------------------------------------------------------- the run
    def read_wire(self, reset_timeout: float, trial_s: float) -> tuple[bytes, bytes, bytes]:
        """This breaker's five keys, trial key and arguments in a run's ``READ_ALL``,
        packed: the keys once, the arguments again only when one of them changes."""
        wanted = (reset_timeout, trial_s, self._future_since)
        if wanted != self._wire_for:
            lease_ms = max(1, math.ceil((trial_s + LEASE_MARGIN) * 1000))
            believed = "" if self._future_since is None else self._future_since
            args = bulks((float(reset_timeout), lease_ms, self.token, believed))
            self._wire = (self._wire[0], self._wire[1], args)
            self._wire_for = wanted
        return self._wire

    def apply_read(self, reply: Any) -> None:
        """Take the run's read (None: Redis did not answer in time; go on locally)."""
        if reply is CLEAN:  # closed, nothing counted: most breakers of most runs
            self._granted, self._lease_held, self._in_redis = True, False, True
            self._future_since = self._future_of = None
            with self._lock:
                if self._unsent == 0:
                    self._snap = CLOSED
            return
        if reply is None or isinstance(reply, Exception):
            if isinstance(reply, redis.ResponseError):
                self._refused(f"refused a command: {describe(reply)}")
            self._granted = True  # this worker's own fallback: its trial is its own
            return
        values = tuple(reply[:5])
        if values == self._parsed_from:
            snap = self._parsed
        else:
            try:
                snap = parse_snapshot(list(values))
            except (ValueError, TypeError, OverflowError, IndexError) as exc:
                self._refused(f"unreadable values ({exc})")
                self._granted = True
                return
            self._parsed_from, self._parsed = values, snap
        holder = reply[5] if len(reply) > 5 else None
        holder = holder.decode("utf-8", "replace") if isinstance(holder, bytes) else holder
        self._granted = holder is None or holder == self.token
        self._lease_held = holder == self.token
        if snap is None:  # Redis lost the breaker (restarted empty, FLUSHALL): write it back
            self._write(self._seed_commands())
            self._lost()
            return
        self._adopt(snap)

    def trial_granted(self) -> bool:
        """Whether this worker may make the trial call (no other worker holds the lease)."""
        return self._granted

    def _release(self) -> list[Command]:
        """The command that gives the trial lease back, if this worker holds it."""
        if not self._lease_held:
            return []
        self._lease_held = False
        return [scripts.RELEASE.call([self.keys.trial], [self.token])]

    # --------------------------------------------------------------- state
    @property
    def state(self) -> str:
        """The breaker's state: closed, open or half-open."""
        return (self._snap if ACTIVE.get() is self.run_members else self._current()).state

    @state.setter
    def state(self, state: str) -> None:
        state = str(state)
        if (self._batched() or self._deferred()) and self._snap.state == state:
            return
        self._update(state=state)
        commands: list[Command] = [("SET", self.keys.state, state)]
        if state == pybreaker.STATE_CLOSED:
            commands.append(("DEL", self.keys.opened_at))  # a reset clears a bad opened_at too
            self._update(opened_at=None)
            self._future_since = None
        if state != pybreaker.STATE_HALF_OPEN:
            commands += self._release()
        self._write(commands)

    @property
    def isolated(self) -> bool:
        """True while the breaker is held open until reset, in every worker."""
        return (self._snap if ACTIVE.get() is self.run_members else self._current()).isolated

    @isolated.setter
    def isolated(self, value: bool) -> None:
        value = bool(value)
        if (self._batched() or self._deferred()) and self._snap.isolated == value:
            return
        self._update(isolated=value)
        key = self.keys.isolated
        self._write([("SET", key, 1) if value else ("DEL", key)])

    # ------------------------------------------------------------ counters
    def _counted(self, field: str) -> Callable[[Any], None]:
        def take(reply: Any) -> None:
            if reply == -1:  # the key held garbage: counting restarted at 1
                self._refused(f"held no whole number in {field} (written over with 1)")
                reply = 1
            if isinstance(reply, int) and not self._deferred():
                self._update(**{field: reply})

        return take

    @property
    def counter(self) -> int:
        """Consecutive failures."""
        return (self._snap if ACTIVE.get() is self.run_members else self._current()).fail_counter

    def increment_counter(self) -> None:
        """Count one more failure (outside a run, the new count comes back with the reply)."""
        self._update(fail_counter=self._snap.fail_counter + 1)
        key = self.keys.fail_counter
        self._write([scripts.INCREMENT.call([key])], self._counted("fail_counter"))

    def reset_counter(self) -> None:
        """Set the failure count to zero (nothing to write when a run or batch read zero:
        pybreaker resets it after every success)."""
        snap = self._snap
        if snap.fail_counter == 0 and not snap.problems and ACTIVE.get() is self.run_members:
            return  # the common case, a success inside a run: one test
        garbage = snap.problems and any(p.startswith("fail_counter") for p in snap.problems)
        if (
            snap.fail_counter == 0 and not garbage
            and (self._batched() or self._deferred())
        ):  # fmt: skip
            return
        self._update(fail_counter=0)
        self._write([("SET", self.keys.fail_counter, 0)])

    @property
    def success_counter(self) -> int:
        """Consecutive successes while half-open."""
        return (self._snap if ACTIVE.get() is self.run_members else self._current()).success_counter

    def increment_success_counter(self) -> None:
        """Count one more success while half-open."""
        self._update(success_counter=self._snap.success_counter + 1)
        key = self.keys.success_counter
        self._write([scripts.INCREMENT.call([key])], self._counted("success_counter"))

    def reset_success_counter(self) -> None:
        """Set the success count to zero."""
        if (self._batched() or self._deferred()) and self._snap.success_counter == 0:
            return
        self._update(success_counter=0)
        self._write([("SET", self.keys.success_counter, 0)])

    # ----------------------------------------------------------- opened_at
    @property
    def opened_at(self) -> datetime | None:
        """When the breaker last opened, to the whole second as stored.

        One more than ``FUTURE_SLACK`` seconds ahead of this worker's clock reads as
        the moment this worker first saw it so, and the wait is its own reset_timeout.
        """
        seconds = (self._snap if ACTIVE.get() is self.run_members else self._current()).opened_at
        if not seconds:
            self._future_since = None
            return None
        now = time.time()
        if seconds <= now + FUTURE_SLACK:
            self._future_since = None
            return datetime.fromtimestamp(seconds, UTC)
        if self._future_since is None or self._future_of != seconds:
            self._future_since, self._future_of = now, seconds
            self._refused(
                f"holds an opened_at {seconds - now:.0f} s ahead of this worker's clock "
                "(a clock ahead, or garbage): this worker waits its own reset_timeout from "
                "now, and a reset clears it"
            )
        return datetime.fromtimestamp(self._future_since, UTC)

    @opened_at.setter
    def opened_at(self, now: datetime) -> None:
        seconds = math.ceil(_aware(now).timestamp())
        self._future_since = None
        self._update(opened_at=max(seconds, self._snap.opened_at or 0))

        def take(stored: Any) -> None:
            if isinstance(stored, int) and 0 < stored <= OPENED_AT_MAX and not self._deferred():
                self._update(opened_at=stored)

        key = self.keys.opened_at
        self._write([scripts.RAISE_OPENED_AT.call([key], [seconds])], take)

    def shared_window(self, seconds: float) -> SharedWindow:
        """The fleet's time window of this breaker, kept in Redis (``Policy.shared_window``);
        it rides in the runs of the storage that made this breaker (window.py)."""
        return self._windows.window(self, seconds)

    def rewind_opened_at(self, when: datetime) -> None:
        """End the wait in every worker, whatever its ``reset_timeout`` (``expire``).

        ``opened_at`` becomes ``EXPIRED`` (1970), earlier than ``when`` and than any
        worker's wait, so pybreaker and our admit both allow the trial.
        """
        seconds = min(EXPIRED, math.floor(_aware(when).timestamp()))
        self._update(opened_at=seconds)
        self._future_since = None
        self._write([("SET", self.keys.opened_at, seconds)])

    def __repr__(self) -> str:
        snap = self._snap
        down = "" if self.health.ok else ", Redis unreachable: local state"
        return f"<RedisBreakerStorage {self.keys.pybreaker_namespace!r} {snap.state}{down}>"


def _standalone(command: Command) -> Command:
    """A command as sent outside a run's pipeline: scripts by body (``EVAL``), not by SHA."""
    if command[0] != "EVALSHA":
        return command
    script = scripts.BY_SHA[str(command[1])]
    return ("EVAL", script.body, *command[2:])


def _aware(when: datetime) -> datetime:
    """pybreaker treats a naive datetime as UTC; so does this storage."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
