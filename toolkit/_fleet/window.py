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
want. Fields of older epochs and buckets are deleted by the next run that reads the
hash, and the hash expires after twice the window without calls.

Round trips: none of its own. The window rides in the run's two pipelines
(``SharedWindows`` is a ``RunExtension``, see run.py): the run's read fetches, in one
script call, the bucket counts of every shared-window breaker of the run (the epoch
read from ``opened_at`` in the same script); the outcomes this worker records during
the run are counted locally on top of them, so a verdict is the read counts plus this
worker's own outcomes since; the run's write adds those outcomes to the hash
(``HINCRBY``, one ``PEXPIRE``). A status read (``window_failure_rate``) is served from
the same local counts, without a round trip. Outcomes recorded outside a run are
counted the same way and written by the storage's next run.

Freshness: other workers' outcomes reach this worker's verdict at its next run's read,
so the window is one run stale for the rest of the fleet (this worker's own outcomes
count at once). A write that gets no answer in time is not sent again (it may have
landed: sending it twice would count twice). The window is bucketed, so a call leaves
it up to one bucket (a twentieth of ``window_s``) after it would leave an exact window.
Workers' clocks place calls in buckets: keep them in step (NTP).

While Redis is unreachable (a run's read gets no answer) the window lives on in this
process: this worker's own outcomes are counted in a local time window (exact), until
a run's read answers again and the fleet's counts win.
"""

from __future__ import annotations

import math
import time
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import redis

from toolkit._engine.window import TimeWindow
from toolkit._fleet.io import Command
from toolkit._fleet.keys import BreakerKeys
from toolkit._fleet.scripts import LuaScript
from toolkit._fleet.snapshot import Snapshot


class _Storage(Protocol):
    """What the window reads of its breaker's ``RedisBreakerStorage``."""

    keys: BreakerKeys
    _snap: Snapshot

    def _refused(self, what: str) -> None: ...


BUCKETS = 20
"""Buckets per window: a call is counted until up to 1/20 of the window past its time."""
READ_WINDOWS = LuaScript("""
local out = {}
for i = 1, #KEYS, 2 do
  local key, okey = KEYS[i], KEYS[i + 1]
  local oldest = tonumber(ARGV[(i + 1) / 2])
  local epoch = string.format('%d', tonumber(redis.call('GET', okey)) or 0)
  local kept = {epoch}
  local stale = {}
  local fields = redis.call('HGETALL', key)
  for j = 1, #fields, 2 do
    local e, b = string.match(fields[j], '^(.-):(-?%d+):%a$')
    b = tonumber(b)
    if e ~= epoch or b == nil or b < oldest then
      stale[#stale + 1] = fields[j]
    else
      kept[#kept + 1] = fields[j]
      kept[#kept + 1] = fields[j + 1]
    end
  end
  if #stale > 0 then
    redis.call('HDEL', key, unpack(stale))
  end
  out[#out + 1] = kept
end
return out
""")
"""Per (window, opened_at) key pair: delete stale fields, return the epoch and the rest."""

_Counts = Counter[tuple[int, str]]
"""Calls by (bucket, kind), kind one of n (recorded), f (failed), s (slow)."""


class SharedWindow:
    """The fleet's time window of one breaker, in Redis (a ``Window``)."""

    def __init__(self, storage: _Storage, seconds: float) -> None:
        self.seconds = float(seconds)
        self.bucket_s = self.seconds / BUCKETS
        self._storage = storage
        self.name = storage.keys.name
        """The integration whose breaker this window decides for."""
        self.key = f"{storage.keys.namespace}:{storage.keys.name}:toolkit:window"
        """The hash holding the fleet's counters."""
        self.ttl_ms = max(1, math.ceil(self.seconds * 2000))
        """How long the hash outlives its last write."""
        self._local = TimeWindow(self.seconds)
        self._read: _Counts | None = None  # None: no answer yet, or Redis away
        self._read_epoch = 0  # the opened_at the read counts belong to
        self._mine: _Counts = Counter()  # this worker's outcomes since the last read
        self._unsent: Counter[str] = Counter()  # hash field -> increment for the next write

    def bucket(self, at: float) -> int:
        """The bucket a call that ended at ``at`` is counted in."""
        return math.floor(at / self.bucket_s)

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Record one call that ended at ``at``: counted now, written by the run's write."""
        self._local.add(at, failed, slow)
        bucket = self.bucket(at)
        epoch = self._storage._snap.opened_at or 0
        for kind, counted in (("n", True), ("f", failed), ("s", slow)):
            if counted:
                self._mine[bucket, kind] += 1
                self._unsent[f"{epoch}:{bucket}:{kind}"] += 1

    def counts(self, now: float) -> tuple[int, int, int]:
        """The fleet's calls, failures and slow calls as of the last read, plus this worker's
        since (this worker's alone while Redis is away)."""
        if self._read is None:
            return self._local.counts(now)
        newest = self.bucket(now)
        oldest = newest - BUCKETS + 1
        totals = {"n": 0, "f": 0, "s": 0}
        current = self._read_epoch == (self._storage._snap.opened_at or 0)
        for counts in (self._read, self._mine) if current else (self._mine,):
            for (bucket, kind), count in counts.items():
                if oldest <= bucket <= newest:
                    totals[kind] += count
        return totals["n"], totals["f"], totals["s"]

    def peek(self, now: float) -> tuple[int, int, int]:
        """The same as ``counts``: reading the fleet's window changes no verdict."""
        return self.counts(now)

    def clear(self) -> None:
        """An opening or a close: the fleet's window starts anew with the next ``opened_at``
        (counts read of an older one no longer count); this worker's own are emptied."""
        self._local.clear()
        self._mine.clear()
        self._unsent.clear()

    # ------------------------------------------------------ the run's I/O
    def read_args(self, now: float) -> tuple[list[str], int]:
        """The keys and the oldest bucket kept, for ``READ_WINDOWS`` at ``now``."""
        return [self.key, self._storage.keys.opened_at], self.bucket(now) - BUCKETS + 1

    def apply_read(self, reply: Any) -> None:
        """Take the fleet's counts from the run's read (None: no answer, count locally)."""
        if reply is None:
            self._read = None
            return
        try:
            if isinstance(reply, redis.ResponseError):
                raise ValueError(f"refused: {reply}")
            epoch = int(_text(reply[0]))
            read: _Counts = Counter()
            for name, value in zip(reply[1::2], reply[2::2], strict=True):
                _, bucket, kind = _text(name).rsplit(":", 2)
                read[int(bucket), kind] += int(value)
        except (TypeError, ValueError, UnicodeDecodeError, AttributeError) as exc:
            self._storage._refused(f"answered the window's read with something unusable ({exc})")
            self._read = None
            return
        self._read, self._read_epoch = read, epoch
        self._mine = Counter()
        for field, count in self._unsent.items():  # recorded, not yet written: not read
            _, bucket, kind = field.rsplit(":", 2)
            self._mine[int(bucket), kind] += count

    def write_commands(self) -> list[Command]:
        """The increments recorded since the last write (taken: never sent twice)."""
        if not self._unsent:
            return []
        commands: list[Command] = [
            ("HINCRBY", self.key, field, count) for field, count in sorted(self._unsent.items())
        ]
        commands.append(("PEXPIRE", self.key, self.ttl_ms))
        self._unsent.clear()
        return commands

    def __repr__(self) -> str:
        return f"<SharedWindow {self.key!r} {self.seconds:g}s in {BUCKETS} buckets>"


def _text(value: Any) -> str:
    """A reply's bytes as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


class SharedWindows:
    """A storage's shared windows by integration, riding in its runs (a ``RunExtension``)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        """Places the run's read in time (which buckets are stale)."""
        # by breaker storage, each its latest window, dropped with its breaker
        self._windows: weakref.WeakValueDictionary[int, SharedWindow] = (
            weakref.WeakValueDictionary()
        )
        self._asked: list[SharedWindow] = []
        self._writing: list[tuple[SharedWindow, int]] = []

    def window(self, storage: _Storage, seconds: float) -> SharedWindow:
        """A new shared window of ``seconds`` for ``storage``'s breaker (replacing its last)."""
        window = SharedWindow(storage, seconds)
        self._windows[id(storage)] = window
        return window

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """One script call reading the window of every shared-window breaker of the run."""
        if not self._windows:
            self._asked = []
            return []
        now = self.clock()
        wanted = set(names)
        self._asked = [w for w in list(self._windows.values()) if w.name in wanted]
        if not self._asked:
            return []
        keys: list[str] = []
        args: list[int] = []
        for window in self._asked:
            some_keys, oldest = window.read_args(now)
            keys += some_keys
            args.append(oldest)
        return [READ_WINDOWS.load(), READ_WINDOWS.call(keys, args)]

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Hand each window its counts (or None, when Redis did not answer in time)."""
        asked, self._asked = self._asked, []
        if not asked:
            return
        reply = None if replies is None else replies[-1]
        if isinstance(reply, list) and len(reply) == len(asked):
            each: list[Any] = reply
        elif reply is None:
            each = [None] * len(asked)
        else:
            each = [redis.ResponseError(f"unreadable reply {reply!r:.80}")] * len(asked)
        for window, one in zip(asked, each, strict=True):
            window.apply_read(one)

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        """Every window's increments not yet written, whichever run recorded them."""
        commands: list[Command] = []
        self._writing = []
        for window in list(self._windows.values()):
            some = window.write_commands()
            if some:
                self._writing.append((window, len(some)))
                commands += some
        return commands

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        """Say so when Redis refused a window's increments (no answer: nothing to say)."""
        writing, self._writing = self._writing, []
        if replies is None:
            return
        offset = 0
        for window, count in writing:
            refused = [r for r in replies[offset : offset + count] if isinstance(r, Exception)]
            offset += count
            if refused:
                window._storage._refused(f"refused the window's increments: {refused[0]}")

    def __repr__(self) -> str:
        return f"<SharedWindows of {sorted(w.name for w in list(self._windows.values()))}>"
