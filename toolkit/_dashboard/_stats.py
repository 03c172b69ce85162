"""Latency per integration over its most recent calls, kept up to date incrementally.

A refresh must not grow with the size of the call history, so the window reads
only the records appended since it last looked (``history.version`` counts them)
and recomputes only the integrations those records touched.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from toolkit._errors import ConfigError

if TYPE_CHECKING:
    from toolkit._history import CallHistory


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


class LatencyWindow:
    """The last ``size`` calls of each integration, summarised as ``LatencyRow``s."""

    def __init__(self, size: int = 100) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigError(f"latency window must be a whole number of calls >= 1, got {size!r}")
        self.size = size
        self._calls: dict[str, deque[tuple[str, float]]] = {}
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
            self._calls.clear()
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
        calls = self._calls.get(name)
        if calls is None:
            calls = self._calls[name] = deque(maxlen=self.size)
        calls.append((outcome, seconds))
        self._dirty.add(name)

    def rows(self) -> list[LatencyRow]:
        """Every integration with calls, worst p95 first (integrations without a run call last)."""
        for name in self._dirty:
            self._rows[name] = _summarise(name, self._calls[name])
        self._dirty.clear()
        return sorted(self._rows.values(), key=_worst_first)

    def __len__(self) -> int:
        return len(self._calls)


def _worst_first(row: LatencyRow) -> tuple[bool, float, str]:
    p95 = row.p95_ms
    return (p95 is None, -(p95 or 0.0), row.name)


def _summarise(name: str, calls: deque[tuple[str, float]]) -> LatencyRow:
    ran = sorted(seconds * 1000.0 for outcome, seconds in calls if outcome != "circuit_open")
    ok = sum(1 for outcome, _ in calls if outcome == "ok")
    skipped = sum(1 for outcome, _ in calls if outcome == "circuit_open")
    return LatencyRow(
        name=name,
        calls=len(calls),
        ok=ok,
        failed=len(calls) - ok - skipped,
        skipped=skipped,
        p50_ms=_quantile(ran, 0.5),
        p95_ms=_quantile(ran, 0.95),
        max_ms=ran[-1] if ran else None,
    )


def _quantile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (what pandas' ``quantile`` does)."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
