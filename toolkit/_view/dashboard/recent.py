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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit._engine.errors import ConfigError

if TYPE_CHECKING:
    from toolkit._engine.history import CallHistory


@dataclass(frozen=True, slots=True)
class Call:
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
        """Fill every integration's window from the history's tail, newest backwards."""
        self._calls = {name: deque(maxlen=self.size) for name in names}
        wanting = len(self._calls)
        cols = history.columns()
        name_col, started = cols["name"], cols["started_at"]
        seconds, outcome = cols["duration_s"], cols["outcome"]
        before, after = cols["state_before"], cols["state_after"]
        found: dict[str, list[Call]] = {name: [] for name in names}
        for i in range(len(name_col) - 1, -1, -1):
            bucket = found.get(name_col[i])
            if bucket is None:
                bucket = found[name_col[i]] = []
                self._calls[name_col[i]] = deque(maxlen=self.size)
                wanting += 1
            if len(bucket) >= self.size:
                continue
            bucket.append(Call(started[i], seconds[i], outcome[i], before[i], after[i]))
            if len(bucket) == self.size:
                wanting -= 1
                if wanting == 0:
                    break
        for name, bucket in found.items():
            self._calls[name].extend(reversed(bucket))
        return set(self._calls)

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
