"""SharedWindow: a time window kept in Redis, so every worker's outcomes count in one.

``Policy(window_s=60, shared_window=True)`` with a ``RedisStorage``: one worker's bad
network alone (its failures diluted by the others' successes) does not open the
breaker for all, and a failing service (everyone's calls failing) opens it for all.

Layout: one hash per breaker, ``<ns>:<integration>:toolkit:window``, of bucketed
counters: the window is ``BUCKETS`` buckets of ``window_s / BUCKETS`` seconds, and
field ``<epoch>:<bucket>:<n|f|s>`` counts the calls recorded (n), failed (f) and slow
(s) that ended in that bucket, where the epoch is the breaker's ``opened_at`` as stored
(0 before the first opening). Every opening moves ``opened_at`` forward, so an opening
starts an empty window for every worker at once, idempotently (no worker wipes what
another recorded since); a close after it finds the window still empty, as the rules
want. Fields of older epochs and buckets are deleted by the next call that reads
the hash, and the hash expires after twice the window without calls.

Round trips: recording a call and reading the window's counts is one script call
(``EVALSHA``); a status read is one more. The window is bucketed, so a call leaves
it up to one bucket (a twentieth of ``window_s``) after it would leave an exact
window. Workers' clocks place calls in buckets: keep them in step (NTP).

While Redis is unreachable the window lives on in this process: this worker's own
outcomes are counted in a local time window (exact), until Redis answers again and
the fleet's counts win.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

import redis

from toolkit._engine.window import TimeWindow
from toolkit._fleet.client import Health
from toolkit._fleet.keys import BreakerKeys
from toolkit._fleet.snapshot import Snapshot

if TYPE_CHECKING:
    from redis.commands.core import Script


class _Storage(Protocol):
    """What the window reads of its breaker's ``RedisBreakerStorage``."""

    keys: BreakerKeys
    health: Health
    _redis: redis.Redis
    _snap: Snapshot

    def _refused(self, what: str) -> None: ...


BUCKETS = 20
"""Buckets per window: a call is counted until up to 1/20 of the window past its time."""
RECORD_AND_COUNT = """
local key, epoch, bucket, oldest = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HINCRBY', key, epoch .. ':' .. bucket .. ':n', 1)
  if ARGV[4] == '1' or ARGV[4] == '3' then
    redis.call('HINCRBY', key, epoch .. ':' .. bucket .. ':f', 1)
  end
  if ARGV[4] == '2' or ARGV[4] == '3' then
    redis.call('HINCRBY', key, epoch .. ':' .. bucket .. ':s', 1)
  end
  redis.call('PEXPIRE', key, ARGV[5])
end
local counts = {n = 0, f = 0, s = 0}
local fields = redis.call('HGETALL', key)
local stale = {}
for i = 1, #fields, 2 do
  local e, b, kind = string.match(fields[i], '^(.-):(-?%d+):(%a)$')
  b = tonumber(b)
  if e ~= epoch or b == nil or b < oldest then
    stale[#stale + 1] = fields[i]
  elseif b <= bucket then
    counts[kind] = (counts[kind] or 0) + tonumber(fields[i + 1])
  end
end
if #stale > 0 then
  redis.call('HDEL', key, unpack(stale))
end
return {counts.n, counts.f, counts.s}
"""
"""Record one call (ARGV[4]: '' none, else failed + 2 * slow) and return the window's counts."""


class SharedWindow:
    """The fleet's time window of one breaker, in Redis (a ``Window``)."""

    def __init__(self, storage: _Storage, seconds: float, script: Script) -> None:
        self.seconds = float(seconds)
        self.bucket_s = self.seconds / BUCKETS
        self._storage = storage
        self._key = f"{storage.keys.namespace}:{storage.keys.name}:toolkit:window"
        self._script = script
        self._ttl_ms = max(1, math.ceil(self.seconds * 2000))
        self._local = TimeWindow(self.seconds)
        self._last: tuple[float, tuple[int, int, int]] | None = None

    def _run(self, at: float, flags: str) -> tuple[int, int, int] | None:
        """One script call: record (unless ``flags`` is empty) and count; None if Redis is away."""
        storage = self._storage
        health = storage.health
        if not health.ok:
            return None
        bucket = math.floor(at / self.bucket_s)
        epoch = storage._snap.opened_at or 0
        try:
            reply = self._script(
                keys=[self._key],
                args=[epoch, bucket, bucket - BUCKETS + 1, flags, self._ttl_ms],
                client=storage._redis,
            )
            n, f, s = (int(x) for x in reply)
        except redis.ResponseError as exc:
            storage._refused(f"refused the window script: {exc}")
            return None
        except redis.RedisError as exc:
            health.failed(exc)
            return None
        except (TypeError, ValueError):
            storage._refused("answered the window script with something unreadable")
            return None
        return n, f, s

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Record one call that ended at ``at`` in the fleet's window (one round trip)."""
        self._local.add(at, failed, slow)
        counts = self._run(at, str(int(failed) + 2 * int(slow)))
        self._last = None if counts is None else (at, counts)

    def counts(self, now: float) -> tuple[int, int, int]:
        """The fleet's recorded calls, failures and slow calls (this worker's, Redis away)."""
        if self._last is not None and self._last[0] == now:
            return self._last[1]  # read back with the call just recorded
        counts = self._run(now, "")
        return self._local.counts(now) if counts is None else counts

    def peek(self, now: float) -> tuple[int, int, int]:
        """The same as ``counts``: reading the fleet's window changes no verdict."""
        return self.counts(now)

    def clear(self) -> None:
        """An opening or a close: the fleet's window starts anew with the next ``opened_at``;
        this worker's local stand-in is emptied."""
        self._local.clear()
        self._last = None

    def __repr__(self) -> str:
        return f"<SharedWindow {self._key!r} {self.seconds:g}s in {BUCKETS} buckets>"
