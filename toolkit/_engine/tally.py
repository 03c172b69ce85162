"""CallTally: running totals of a runner's calls, per integration and outcome, for exporters.

Counts, summed seconds, histogram buckets and a recent maximum, so a metrics scrape
reads totals instead of history, which is bounded and forgets. Monotonic from the
moment the tally is attached, as Prometheus counters expect. A settling call only
appends to a queue (about 0.1 µs); the queue is folded into the totals when they are
read, or every ``FOLD_AT`` calls, so the call path never touches a thousand
integrations' counters. Appending and folding are safe from different threads (a
scrape served from a thread of its own).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from toolkit._engine.errors import ConfigError
from toolkit._engine.history import OUTCOMES, Outcome

DEFAULT_BOUNDS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram bucket bounds in seconds (Prometheus' defaults); +Inf is implicit."""

FOLD_AT = 10_000
"""Calls queued before they are folded into the totals even without a read."""

MAX_WINDOW_S = 60.0
"""A recent maximum covers the current and the previous window, rotated when totals are
read (about Micrometer's ``_max``, which spans a couple of minutes)."""


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

    def cumulative(self) -> list[int]:
        """Bucket counts as Prometheus wants them: calls at or under each bound, then all."""
        out, total = [], 0
        for n in self.buckets:
            total += n
            out.append(total)
        return out

    @property
    def recent_max(self) -> float:
        """The longest call of the current or the previous max window (0.0 when none)."""
        return max(self.max_now, self.max_before)


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
        self._pending: deque[tuple[str, Outcome, float]] = deque()
        self._folding = threading.RLock()
        self._clock = time.monotonic
        self._window = int(self._clock() // self.max_window_s)

    def add(self, name: str, outcome: Outcome, duration_s: float) -> None:
        """Count one call (queued; folded into the totals when they are next read)."""
        pending = self._pending
        pending.append((name, outcome, duration_s))
        if len(pending) >= FOLD_AT:
            self.fold()

    def fold(self) -> None:
        """Add the queued calls to the totals; a non-finite or negative duration counts 0 s."""
        with self._folding:
            self._fold()

    def _fold(self) -> None:
        pending, totals_of, bounds = self._pending, self._totals, self.bounds
        size = len(bounds) + 1
        while pending:
            name, outcome, duration_s = pending.popleft()
            per_name = totals_of.get(name)
            if per_name is None:
                per_name = totals_of[name] = {}
            totals = per_name.get(outcome)
            if totals is None:
                totals = per_name[outcome] = OutcomeTotals(buckets=[0] * size)
            if not (duration_s >= 0 and duration_s != math.inf):  # NaN fails the first test
                duration_s = 0.0
            totals.count += 1
            totals.sum_s += duration_s
            totals.buckets[bisect_left(bounds, duration_s)] += 1
            if duration_s > totals.max_now:
                totals.max_now = duration_s

    def rotate(self) -> None:
        """Fold the queued calls, starting a new max window first when the current one is
        over (readers call this before they read the totals)."""
        window = int(self._clock() // self.max_window_s)
        with self._folding:
            if window != self._window:
                follows = window == self._window + 1
                self._window = window
                for per_name in self._totals.values():
                    for totals in per_name.values():
                        totals.max_before = totals.max_now if follows else 0.0
                        totals.max_now = 0.0
            self._fold()

    @contextlib.contextmanager
    def reading(self) -> Iterator[CallTally]:
        """Rotate and fold, then hold the totals still while the caller reads them.

        A fold from another thread (a scrape served from a thread of its own, or the
        event loop's ``FOLD_AT`` fold) waits, so a histogram's count and its buckets
        are read from the same moment.
        """
        with self._folding:
            self.rotate()
            yield self

    def names(self) -> list[str]:
        """Integrations with at least one call counted."""
        self.fold()
        return list(self._totals)

    def totals(self, name: str) -> Iterator[tuple[Outcome, OutcomeTotals]]:
        """``(outcome, totals)`` of ``name``, in the order of ``OUTCOMES``, counted ones only."""
        if self._pending:
            self.fold()
        per_name = self._totals.get(name, {})
        for outcome in OUTCOMES:
            totals = per_name.get(outcome)
            if totals is not None:
                yield outcome, totals

    def count(self, name: str, outcome: Outcome) -> int:
        """How many calls of ``name`` ended with ``outcome``."""
        if self._pending:
            self.fold()
        totals = self._totals.get(name, {}).get(outcome)
        return 0 if totals is None else totals.count
