"""Redis client tracking: a run re-reads only the breakers that changed since it last read them.

The I/O connection speaks RESP3 with ``CLIENT TRACKING ON OPTIN``; a run's read script
goes out right after ``CLIENT CACHING YES``, so Redis remembers every key that script
read and pushes an invalidation, on the same connection, when any client changes one
of them (another worker, a plain pybreaker, ``Fleet``, this worker's own writes, an
eviction, ``FLUSHALL``). A breaker read *clean* (closed, nothing counted: one ``c``
byte) and not invalidated since is known to be clean still, so the next run leaves it
out of its read. A healthy fleet's run therefore reads nothing but a ``PING``: one
round trip, and no script time in Redis, whatever the number of breakers.

Why this is exact, not a cache with a lifetime: Redis sends an invalidation before the
reply to any command it runs after the change, on the same connection. ``Tracker.clean``
holds the storages read clean in this connection's life (``epoch``) with no push about
them since: a push takes its storages out, and a storage marked clean after a push
about it arrived (pushes are numbered, ``seq``) is taken out again. The I/O thread
reads the pushes already there just before it builds a run's read, so a breaker
changed before that is read in the same round trip; one changed while the read
travels is read again by a second one.

What ends the knowledge: a new connection (its tracking starts empty: a restart, a
failover, a dropped socket), an invalidation of everything (``FLUSHALL``), Redis
counting as unreachable, or any change this worker makes locally. Redis that refuses
RESP3 or tracking (a proxy, an old Redis, an ACL) is used without it: every run then
reads every breaker, as ``RedisStorage(client_tracking=False)`` does on purpose. A
refusal that passes (``BUSY``: a long script; ``MASTERDOWN``, ``TRYAGAIN``) fails the
connect instead, so it is tried again when Redis answers.

The pipeline of a run's read ends with the tracked script, after any extension's
commands: every push read with its replies then came before the script's reply, and
one about a change the script did not see comes after it, numbered above the ``seq``
the read took, so that breaker is not marked clean.
"""

from __future__ import annotations

import itertools
import logging
import weakref
from typing import Any, Protocol

import redis

logger = logging.getLogger("toolkit")

PUSHED = object()
"""What the push handler answers, to tell a push from a reply while draining."""
PASSING = frozenset({"BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"})
"""Error codes that say Redis cannot answer now, not that it never will (``LOADING``
is one too, but redis-py raises it as a connection error already)."""


def refusal(exc: redis.ResponseError, what: str) -> redis.ConnectionError | None:
    """None when ``exc`` refuses ``what`` for good (an unknown command, an ACL); else
    the connection error to fail the connect with, so that it is tried again once Redis
    answers (a long script running: ``BUSY``; a replica loading), rather than tracking
    being given up for the life of the process."""
    # redis-py keeps the code of the errors it has a class for in status_code, and
    # leaves it out of the message; others (BUSY) keep it as the message's first word
    code = getattr(exc, "status_code", None) or str(exc).split(" ", 1)[0]
    if code in PASSING:
        return redis.ConnectionError(f"{what} could not be sent now ({exc})")
    return None


class Tracked(Protocol):
    """What the tracker reads and writes of a breaker's storage."""

    invalidated: int
    """``Tracker.seq`` of the last push about one of its keys (0: none)."""
    watched: bool
    """Whether its keys are registered with the tracker."""

    def tracked_keys(self) -> list[str]:
        """The keys whose change makes a clean read stale."""
        ...


class Tracker:
    """One I/O connection's tracking: which storages read clean are still clean."""

    def __init__(self, label: str, *, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled
        """False when turned off, or once Redis refused RESP3 or tracking."""
        self.active = False
        """Tracking is on for the connection now open."""
        self.seq = 0
        self._epochs = itertools.count(1)
        self.epoch = next(self._epochs)
        self.invalidations = 0
        """Pushes received so far."""
        self.clean: set[Any] = set()
        """The storages read clean in this epoch, unchanged since (replaced, never
        emptied in place, when the epoch changes: a late mark lands in the old set)."""
        self._by_key: dict[bytes, list[weakref.ref[Any]]] = {}

    # ----------------------------------------------------- the I/O thread
    def on_connect(self, conn: Any) -> None:
        """Turn tracking on for a new connection (a connect callback of redis-py)."""
        self.active = False
        self.forget()
        if not self.enabled:
            return
        try:
            conn._parser.invalidation_push_handler_func = self.on_push
            conn.send_command("CLIENT", "TRACKING", "ON", "OPTIN", check_health=False)
            reply = conn.read_response()
        except redis.ResponseError as exc:
            passing = refusal(exc, "CLIENT TRACKING")
            if passing is not None:
                conn.disconnect()  # redis-py leaves a failed connect callback's socket open
                raise passing from exc
            self.refused(f"CLIENT TRACKING was refused ({exc})")
            return
        if reply not in (b"OK", "OK"):
            self.refused(f"CLIENT TRACKING answered {reply!r}")
            return
        self.active = True

    def on_push(self, message: list[Any]) -> object:
        """An invalidation: the storages holding one of its keys are no longer clean."""
        self.seq += 1
        self.invalidations += 1
        keys = message[1] if len(message) > 1 else None
        if keys is None:  # FLUSHALL, FLUSHDB: everything
            self.forget()
            return PUSHED
        by_key, clean = self._by_key, self.clean
        for key in keys:
            refs = by_key.get(key if isinstance(key, bytes) else str(key).encode())
            if refs is None:
                continue
            for ref in refs:
                storage = ref()
                if storage is not None:
                    storage.invalidated = self.seq  # first: see ``mark``
                    clean.discard(storage)
        return PUSHED

    def watch(self, storage: Tracked) -> None:
        """Map ``storage``'s keys to it, so pushes about them reach it."""
        storage.watched = True
        ref = weakref.ref(storage)
        for key in storage.tracked_keys():
            refs = self._by_key.setdefault(key.encode(), [])
            refs[:] = [r for r in refs if r() is not None]
            refs.append(ref)

    def refused(self, why: str) -> None:
        """Redis will not track for this connection: go on without (logged once)."""
        self.active = False
        if self.enabled:
            self.enabled = False
            logger.info(
                "Redis at %s does not track keys for clients (%s): every run reads "
                "every breaker", self.label, why,
            )  # fmt: skip

    # -------------------------------------------------------- any thread
    def forget(self) -> None:
        """Nothing read before now counts as clean (Redis failed, or the connection did)."""
        self.epoch = next(self._epochs)  # next() on a count is atomic: no update is lost
        self.clean = set()

    def discard(self, storage: Tracked) -> None:
        """``storage`` changed here: its next run reads it again."""
        self.clean.discard(storage)

    @staticmethod
    def mark(clean: set[Any], storage: Tracked, seq: int) -> None:
        """Note ``storage`` read clean by the reply after which ``seq`` pushes had come,
        into the ``clean`` set of that reply's epoch; a push about it read since then
        (by the I/O thread, meanwhile) takes it out again."""
        clean.add(storage)
        if storage.invalidated > seq:
            clean.discard(storage)
