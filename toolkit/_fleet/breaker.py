"""One integration's breaker state in Redis, in pybreaker's own layout, safe when Redis is not.

``RedisBreakerStorage`` is a ``pybreaker.CircuitRedisStorage``: the same keys and the
same integer ``opened_at``, so plain pybreaker workers and ours share breakers. It
differs where pybreaker's storage falls short:

* Round trips. The five keys of a breaker are read together with one ``MGET`` into a
  snapshot. Inside ``batch()`` (the runner's admit step, its settle step, a status)
  the snapshot is read once and then served locally, and a write that would not
  change what was just read is skipped. A call that changes nothing costs two round
  trips: one read before it (may it run?) and one after (did another worker trip
  the breaker meanwhile, and what does pybreaker make of the outcome?).
* A dead Redis. pybreaker logs a traceback for every failed command and then
  answers "closed", letting calls through an open breaker. Here the first failure
  marks Redis unreachable (one log line, see ``Health``); until Redis answers again
  every read and write uses the snapshot: the breaker lives on in this process's
  memory from the last state it shared (an open breaker stays open, failures go on
  counting). When Redis answers again its state wins; a breaker Redis no longer
  has (restarted empty) is written back from this process's state.
* ``opened_at`` is whole seconds in Redis (pybreaker's format). pybreaker rounds the
  opening time down, which can shorten the wait by up to a second; this storage
  rounds it up, so no worker runs a trial before ``reset_timeout`` has passed (the
  wait is up to one second longer), and countdowns computed from the stored value
  match what every worker does. Only ever moved forward when a breaker opens, as in
  pybreaker; ``rewind_opened_at`` (used by ``expire``) moves it back on purpose.
* Isolation. ``isolated`` is a key beside pybreaker's, so a breaker held open until
  reset is held open in every worker of ours (plain pybreaker workers see it open).
* A shared window. ``shared_window(seconds)`` gives a rate policy the fleet's time
  window (``toolkit/_fleet/window.py``) instead of this worker's.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker
import redis
from redis.commands.core import Script

from toolkit._fleet.client import DirectConnection, Health, describe
from toolkit._fleet.keys import BreakerKeys
from toolkit._fleet.snapshot import OPENED_AT_MAX, Snapshot, parse_snapshot
from toolkit._fleet.window import RECORD_AND_COUNT, SharedWindow

logger = logging.getLogger("toolkit")

T = TypeVar("T")
EXPIRED = 1
"""The ``opened_at`` that ``expire`` writes: so long ago that every worker's wait is over."""
RAISE_OPENED_AT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '')
local proposed = tonumber(ARGV[1])
if current == nil or proposed > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return proposed
end
return current
"""
"""Set ``opened_at`` only if it moves forward (pybreaker's rule), in one round trip."""


class _Batch:
    """Reentrant, per thread: the snapshot is read once on entry, then served locally."""

    __slots__ = ("_storage",)

    def __init__(self, storage: RedisBreakerStorage) -> None:
        self._storage = storage

    def __enter__(self) -> None:
        local = self._storage._local
        depth = getattr(local, "depth", 0)
        if depth == 0:
            self._storage._refresh()  # may raise (an interrupt): the depth is left as it was
        local.depth = depth + 1

    def __exit__(self, *exc: object) -> None:
        self._storage._local.depth -= 1


class RedisBreakerStorage(pybreaker.CircuitRedisStorage):
    """pybreaker's Redis storage with one-read snapshots, a local fallback and isolation."""

    def __init__(
        self,
        client: redis.Redis,
        keys: BreakerKeys,
        health: Health,
        raise_opened_at: Script,
        direct: DirectConnection | None = None,
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
        self._raise_opened_at = raise_opened_at
        self._direct = direct or DirectConnection(client)
        self._mget = self._direct.pack("MGET", *keys.snapshot())
        self._snap = Snapshot()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._batch = _Batch(self)
        self._complained = False
        self._refresh()

    # ------------------------------------------------------------ plumbing
    def batch(self) -> _Batch:
        """Read the breaker once now; reads inside the ``with`` block use that snapshot."""
        return self._batch

    def _batched(self) -> bool:
        return getattr(self._local, "depth", 0) > 0

    def _current(self) -> Snapshot:
        if not self._batched():
            self._refresh()
        return self._snap

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._snap = replace(self._snap, **changes)

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

    def _refused(self, what: str) -> None:
        """Log the first command Redis refused (or reply it gave that makes no sense)."""
        if not self._complained:
            self._complained = True
            logger.warning(
                "Redis %s for breaker %r; its state is kept locally", what, self.keys.name
            )

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
            with self._lock:
                self._snap = snap

    def _seed(self) -> Snapshot | None:
        """Write this process's state for a breaker Redis does not have, unless one appears."""
        local, keys = self._snap, self.keys

        def seed(r: redis.Redis) -> list[Any]:
            pipe = r.pipeline(transaction=True)
            pipe.setnx(keys.fail_counter, local.fail_counter)
            pipe.setnx(keys.success_counter, local.success_counter)
            if local.opened_at is not None:
                pipe.setnx(keys.opened_at, local.opened_at)
            if local.isolated:
                pipe.setnx(keys.isolated, 1)
            pipe.setnx(keys.state, local.state)
            pipe.sadd(keys.registry, keys.name)  # so a Fleet finds it without a SCAN
            pipe.mget(keys.snapshot())
            return pipe.execute()

        replies = self._send(seed)
        return None if replies is None else parse_snapshot(replies[-1])

    def _initialize_redis_state(self, state: str) -> None:
        """pybreaker's key creation, guarded: creates the keys only where missing."""
        self._update(state=str(state))
        self._seed()

    # --------------------------------------------------------------- state
    @property
    def state(self) -> str:
        """The breaker's state: closed, open or half-open."""
        return self._current().state

    @state.setter
    def state(self, state: str) -> None:
        state = str(state)
        if self._batched() and self._snap.state == state:
            return
        self._update(state=state)
        self._send(lambda r: r.set(self.keys.state, state))

    @property
    def isolated(self) -> bool:
        """True while the breaker is held open until reset, in every worker."""
        return self._current().isolated

    @isolated.setter
    def isolated(self, value: bool) -> None:
        value = bool(value)
        if self._batched() and self._snap.isolated == value:
            return
        self._update(isolated=value)
        key = self.keys.isolated
        self._send(lambda r: r.set(key, 1) if value else r.delete(key))

    # ------------------------------------------------------------ counters
    @property
    def counter(self) -> int:
        """Consecutive failures."""
        return self._current().fail_counter

    def increment_counter(self) -> None:
        """Count one more failure (the new count comes back with the reply)."""
        count = self._send(lambda r: r.incr(self.keys.fail_counter))
        self._update(fail_counter=count if count is not None else self._snap.fail_counter + 1)

    def reset_counter(self) -> None:
        """Set the failure count to zero."""
        if self._batched() and self._snap.fail_counter == 0:
            return
        self._update(fail_counter=0)
        self._send(lambda r: r.set(self.keys.fail_counter, 0))

    @property
    def success_counter(self) -> int:
        """Consecutive successes while half-open."""
        return self._current().success_counter

    def increment_success_counter(self) -> None:
        """Count one more success while half-open."""
        count = self._send(lambda r: r.incr(self.keys.success_counter))
        fallback = self._snap.success_counter + 1
        self._update(success_counter=count if count is not None else fallback)

    def reset_success_counter(self) -> None:
        """Set the success count to zero."""
        if self._batched() and self._snap.success_counter == 0:
            return
        self._update(success_counter=0)
        self._send(lambda r: r.set(self.keys.success_counter, 0))

    # ----------------------------------------------------------- opened_at
    @property
    def opened_at(self) -> datetime | None:
        """When the breaker last opened, to the whole second as stored."""
        seconds = self._current().opened_at
        return None if not seconds else datetime.fromtimestamp(seconds, UTC)

    @opened_at.setter
    def opened_at(self, now: datetime) -> None:
        seconds = math.ceil(_aware(now).timestamp())
        stored = self._send(
            lambda r: self._raise_opened_at(keys=[self.keys.opened_at], args=[seconds], client=r)
        )
        if stored is None:
            stored = max(seconds, self._snap.opened_at or 0)
        stored = int(stored)
        self._update(opened_at=stored if 0 < stored <= OPENED_AT_MAX else seconds)

    def shared_window(self, seconds: float) -> SharedWindow:
        """The fleet's time window of this breaker, kept in Redis (``Policy.shared_window``)."""
        return SharedWindow(self, seconds, self._redis.register_script(RECORD_AND_COUNT))

    def rewind_opened_at(self, when: datetime) -> None:
        """End the wait in every worker, whatever its ``reset_timeout`` (``expire``).

        ``opened_at`` becomes ``EXPIRED`` (1970), earlier than ``when`` and than any
        worker's wait, so pybreaker and our admit both allow the trial.
        """
        seconds = min(EXPIRED, math.floor(_aware(when).timestamp()))
        self._update(opened_at=seconds)
        self._send(lambda r: r.set(self.keys.opened_at, seconds))

    def __repr__(self) -> str:
        snap = self._snap
        down = "" if self.health.ok else ", Redis unreachable: local state"
        return f"<RedisBreakerStorage {self.keys.pybreaker_namespace!r} {snap.state}{down}>"


def _aware(when: datetime) -> datetime:
    """pybreaker treats a naive datetime as UTC; so does this storage."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
