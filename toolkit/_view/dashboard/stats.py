"""Latency per integration over its most recent calls, kept up to date incrementally.

A refresh must not grow with the size of the call history, so the window reads
only the records appended since it last looked (``history.version`` counts them),
and each integration keeps its counts and a sorted list of durations up to date
call by call: a summary costs the same with 5 calls in the window as with 100.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit._engine.errors import ConfigError

if TYPE_CHECKING:
    from toolkit._engine.history import CallHistory


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """One integration's recent calls: counts by outcome and latency of the calls that ran."""

    name: str
    calls: int
    ok: int
    failed: int
    skipped: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None

    @property
    def success_rate(self) -> float | None:
        """ok / calls (skipped calls included), or None without calls."""
        return self.ok / self.calls if self.calls else None


class _Recent:
    """One integration's last calls, with outcome counts and sorted durations kept in step."""

    __slots__ = ("calls", "counts", "ran")

    def __init__(self, size: int) -> None:
        self.calls: deque[tuple[str, float]] = deque(maxlen=size)
        self.counts: Counter[str] = Counter()
        self.ran: list[float] = []  # durations (ms) of the calls that ran, sorted

    def add(self, outcome: str, ms: float) -> None:
        calls = self.calls
        if len(calls) == calls.maxlen:
            old_outcome, old_ms = calls[0]
            self.counts[old_outcome] -= 1
            if _ran(old_outcome, old_ms):
                del self.ran[bisect.bisect_left(self.ran, old_ms)]
        calls.append((outcome, ms))
        self.counts[outcome] += 1
        if _ran(outcome, ms):
            bisect.insort(self.ran, ms)

    def summary(self, name: str) -> LatencyRow:
        ran, counts = self.ran, self.counts
        skipped = counts["circuit_open"]
        return LatencyRow(
            name=name,
            calls=len(self.calls),
            ok=counts["ok"],
            failed=len(self.calls) - counts["ok"] - skipped,
            skipped=skipped,
            p50_ms=_quantile(ran, 0.5),
            p95_ms=_quantile(ran, 0.95),
            max_ms=ran[-1] if ran else None,
        )


class LatencyWindow:
    """The last ``size`` calls of each integration, summarised as ``LatencyRow``s."""

    def __init__(self, size: int = 100) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"latency window must be a whole number of calls >= 1, got {size!r}")
        self.size = size
        self._recent: dict[str, _Recent] = {}
        self._rows: dict[str, LatencyRow] = {}
        self._dirty: set[str] = set()
        self._seen: int | None = None

    def update(self, history: CallHistory) -> bool:
        """Take in the calls recorded since the last update; True when there were any."""
        version = history.version
        if version == self._seen:
            return False
        new = None if self._seen is None else version - self._seen
        if new is None or not 0 < new <= len(history):
            # first look, a clear(), or more new calls than the history keeps: start over
            self._recent.clear()
            self._rows.clear()
            columns = history.columns()
            for name, outcome, seconds in zip(
                columns["name"], columns["outcome"], columns["duration_s"], strict=True
            ):
                self._add(name, outcome, seconds)
        else:
            for record in history[-new:]:
                self._add(record.name, record.outcome, record.duration_s)
        self._seen = version
        return True

    def _add(self, name: str, outcome: str, seconds: float) -> None:
        recent = self._recent.get(name)
        if recent is None:
            recent = self._recent[name] = _Recent(self.size)
        recent.add(outcome, seconds * 1000.0)
        self._dirty.add(name)

    def rows(self) -> list[LatencyRow]:
        """Every integration with calls, worst p95 first (integrations without a run call last)."""
        for name in self._dirty:
            self._rows[name] = self._recent[name].summary(name)
        self._dirty.clear()
        return sorted(self._rows.values(), key=_worst_first)

    def __len__(self) -> int:
        return len(self._recent)


def _worst_first(row: LatencyRow) -> tuple[bool, float, str]:
    p95 = row.p95_ms
    return (p95 is None, -(p95 or 0.0), row.name)


def _quantile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (what pandas' ``quantile`` does)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ran(outcome: str, ms: float) -> bool:
    """A call whose duration counts: it ran, and its duration is a real number."""
    return outcome != "circuit_open" and math.isfinite(ms)
