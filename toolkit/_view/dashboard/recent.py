"""Each integration's last calls, read from the tail of the history and kept up to date.

A refresh must not grow with the size of the call history. The first look walks the
history backwards only until every integration has its ``size`` calls (or the
history ends); later looks read only the records appended since
(``history.version`` counts them). Each integration keeps a deque of its last calls,
from which its sparkline, latency figures and "why is it open" are read.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Any, NamedTuple

from toolkit._engine.errors import ConfigError

if TYPE_CHECKING:
    from toolkit._engine.history import CallHistory


class Call(NamedTuple):
    """One call as a dashboard needs it: when it started, how long, what came of it."""

    started: float
    seconds: float
    outcome: str
    before: str
    after: str

    @property
    def ended(self) -> float:
        """Epoch seconds when the call ended (its start when the duration is unknown)."""
        return self.started + (self.seconds if math.isfinite(self.seconds) else 0.0)


class RecentCalls:
    """The last ``size`` calls of each integration; ``update`` reads only what is new."""

    def __init__(self, size: int = 50) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"window must be a whole number of calls >= 1, got {size!r}")
        self.size = size
        self._calls: dict[str, deque[Call]] = {}
        self._seen: int | None = None

    def update(self, history: CallHistory, names: list[str]) -> set[str]:
        """Take in the calls recorded since the last update; the names that got new calls."""
        version = history.version
        if version == self._seen:
            return set()
        new = None if self._seen is None else version - self._seen
        self._seen = version
        if new is None or not 0 < new <= len(history):
            return self._reload(history, names)
        moved: set[str] = set()
        for record in history[-new:]:
            self._add(record.name, Call(
                record.started_at.timestamp(), record.duration_s, record.outcome,
                record.state_before, record.state_after,
            ))  # fmt: skip
            moved.add(record.name)
        return moved

    def _reload(self, history: CallHistory, names: list[str]) -> set[str]:
        """Fill every integration's window from the history's tail, newest backwards.

        Reads as many records as the windows hold (and a thousand more), then twice
        as many again while some window is short and older records exist: the last calls of 200
        integrations cost a few thousand records, not the whole history.
        """
        size = self.size
        want = size * max(len(names), 1) + 1_000
        while True:
            cols = history.columns(last=want)
            found = self._scan(cols, names)
            short = any(len(bucket) < size for bucket in found.values())
            if not short or want >= len(history):
                break
            want *= 2
        self._calls = {}
        for name, bucket in found.items():
            bucket.reverse()
            self._calls[name] = deque(bucket, maxlen=size)
        return set(self._calls)

    def _scan(self, cols: dict[str, list[Any]], names: list[str]) -> dict[str, list[Call]]:
        """Each integration's newest ``size`` calls in ``cols``, newest first."""
        size = self.size
        make = tuple.__new__  # a Call without NamedTuple's Python-level __new__: 10,000 add up
        found: dict[str, list[Call]] = {name: [] for name in names}
        wanting = len(found)
        rows = zip(
            reversed(cols["name"]), reversed(cols["started_at"]), reversed(cols["duration_s"]),
            reversed(cols["outcome"]), reversed(cols["state_before"]),
            reversed(cols["state_after"]), strict=True,
        )  # fmt: skip
        for name, started, seconds, outcome, before, after in rows:
            bucket = found.get(name)
            if bucket is None:
                bucket = found[name] = []
                wanting += 1
            elif len(bucket) >= size:
                continue
            bucket.append(make(Call, (started, seconds, outcome, before, after)))
            if len(bucket) == size:
                wanting -= 1
                if wanting == 0:
                    break
        return found

    def _add(self, name: str, call: Call) -> None:
        calls = self._calls.get(name)
        if calls is None:
            calls = self._calls[name] = deque(maxlen=self.size)
        calls.append(call)

    def of(self, name: str) -> deque[Call]:
        """The last calls of ``name``, oldest first (empty when it has none)."""
        return self._calls.get(name) or deque()

    def __len__(self) -> int:
        return sum(1 for calls in self._calls.values() if calls)


def quantile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (what pandas' ``quantile`` does)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
