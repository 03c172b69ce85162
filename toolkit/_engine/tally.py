"""CallTally: running totals of a runner's calls, per integration and outcome, for exporters.

Counts, summed seconds, histogram buckets and a recent maximum, kept as calls settle
(about a microsecond of plain arithmetic each) so a metrics scrape reads totals
instead of history, which is bounded and forgets. Monotonic from the moment the
tally is attached, as Prometheus counters expect.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from toolkit._engine.errors import ConfigError
from toolkit._engine.history import OUTCOMES, Outcome

DEFAULT_BOUNDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram bucket bounds in seconds (Prometheus' defaults); +Inf is implicit."""

MAX_WINDOW_S = 60.0
"""A recent maximum covers the last one to two windows (as Micrometer's ``_max``)."""


class CallSink(Protocol):
    """Something told of every call as it settles: integration, outcome, seconds."""

    def add(self, name: str, outcome: Outcome, duration_s: float) -> None:
        """Take one call."""
        ...


@dataclass(slots=True)
class OutcomeTotals:
    """One integration's calls of one outcome: count, sum, buckets (not cumulative), max."""

    count: int = 0
    sum_s: float = 0.0
    buckets: list[int] = field(default_factory=list)
    max_now: float = 0.0
    max_before: float = 0.0
    window: int = 0

    def cumulative(self) -> list[int]:
        """Bucket counts as Prometheus wants them: calls at or under each bound, then all."""
        out, total = [], 0
        for n in self.buckets:
            total += n
            out.append(total)
        return out

    def recent_max(self, window: int) -> float:
        """The longest call of the current or the previous window (0.0 when none)."""
        if window == self.window:
            return max(self.max_now, self.max_before)
        if window == self.window + 1:
            return self.max_now
        return 0.0


class CallTally:
    """Running totals per integration and outcome, fed by a runner (``add_call_sink``)."""

    def __init__(
        self, bounds: Sequence[float] = DEFAULT_BOUNDS, *, max_window_s: float = MAX_WINDOW_S
    ) -> None:
        cleaned = tuple(float(b) for b in bounds)
        if not cleaned or any(not math.isfinite(b) or b <= 0 for b in cleaned):
            raise ConfigError(f"bucket bounds must be finite seconds > 0, got {bounds!r}")
        if list(cleaned) != sorted(set(cleaned)):
            raise ConfigError(f"bucket bounds must increase strictly, got {bounds!r}")
        self.bounds = cleaned
        self.max_window_s = float(max_window_s)
        self._totals: dict[str, dict[Outcome, OutcomeTotals]] = {}
        self._clock = time.monotonic

    def add(self, name: str, outcome: Outcome, duration_s: float) -> None:
        """Count one call; a non-finite or negative duration counts with 0 seconds."""
        per_name = self._totals.get(name)
        if per_name is None:
            per_name = self._totals[name] = {}
        totals = per_name.get(outcome)
        if totals is None:
            totals = per_name[outcome] = OutcomeTotals(buckets=[0] * (len(self.bounds) + 1))
        if not (duration_s >= 0 and duration_s != math.inf):  # NaN fails the first test
            duration_s = 0.0
        totals.count += 1
        totals.sum_s += duration_s
        totals.buckets[bisect_left(self.bounds, duration_s)] += 1
        window = int(self._clock() // self.max_window_s)
        if window != totals.window:
            totals.max_before = totals.max_now if window == totals.window + 1 else 0.0
            totals.max_now, totals.window = 0.0, window
        if duration_s > totals.max_now:
            totals.max_now = duration_s

    def window(self) -> int:
        """The current max window's number (for ``OutcomeTotals.recent_max``)."""
        return int(self._clock() // self.max_window_s)

    def names(self) -> list[str]:
        """Integrations with at least one call counted."""
        return list(self._totals)

    def totals(self, name: str) -> Iterator[tuple[Outcome, OutcomeTotals]]:
        """``(outcome, totals)`` of ``name``, in the order of ``OUTCOMES``, counted ones only."""
        per_name = self._totals.get(name, {})
        for outcome in OUTCOMES:
            totals = per_name.get(outcome)
            if totals is not None:
                yield outcome, totals

    def count(self, name: str, outcome: Outcome) -> int:
        """How many calls of ``name`` ended with ``outcome``."""
        totals = self._totals.get(name, {}).get(outcome)
        return 0 if totals is None else totals.count
