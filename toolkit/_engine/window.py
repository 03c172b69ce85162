"""Sliding windows of recorded calls: the last N (``CountWindow``) or the last T seconds
(``TimeWindow``), each keeping running counts of failures and slow calls.

A call is recorded at the moment its outcome is known (its end). Only ``ok``,
``error`` and ``timeout`` are recorded: a breaker's refusal and a cancelled call are
no evidence about the service. Pure and I/O free: the live breaker and the replay
use the same windows, so they reach the same verdicts.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from toolkit._engine.policy import Policy


class Window(Protocol):
    """What a breaker asks of its window."""

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Record one call that ended at ``at`` (epoch seconds)."""
        ...

    def counts(self, now: float) -> tuple[int, int, int]:
        """Recorded calls, failures and slow calls in the window as of ``now``."""
        ...

    def peek(self, now: float) -> tuple[int, int, int]:
        """``counts(now)`` without forgetting anything (a status read changes nothing)."""
        ...

    def clear(self) -> None:
        """Forget every call (the breaker opened or closed)."""
        ...


class CountWindow:
    """The last ``size`` recorded calls."""

    __slots__ = ("_calls", "_failed", "_slow", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._calls: deque[int] = deque()
        self._failed = 0
        self._slow = 0

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Record one call; the oldest falls out once ``size`` are held."""
        calls = self._calls
        if len(calls) == self.size:
            old = calls.popleft()
            self._failed -= old & 1
            self._slow -= old >> 1
        calls.append(failed | (slow << 1))
        self._failed += failed
        self._slow += slow

    def counts(self, now: float) -> tuple[int, int, int]:
        """Recorded calls, failures and slow calls (``now`` does not matter here)."""
        return len(self._calls), self._failed, self._slow

    def peek(self, now: float) -> tuple[int, int, int]:
        """The same as ``counts``: a count window does not age."""
        return len(self._calls), self._failed, self._slow

    def clear(self) -> None:
        """Forget every call."""
        self._calls.clear()
        self._failed = self._slow = 0

    def __repr__(self) -> str:
        return f"<CountWindow {len(self._calls)} of {self.size} calls, {self._failed} failed>"


class TimeWindow:
    """The calls recorded in the last ``seconds``: a call ended at ``e`` counts while
    ``now - e < seconds``."""

    __slots__ = ("_calls", "_failed", "_slow", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._calls: deque[tuple[float, int]] = deque()
        self._failed = 0
        self._slow = 0

    def _expire(self, now: float) -> None:
        calls, horizon = self._calls, self.seconds
        while calls and now - calls[0][0] >= horizon:
            _, old = calls.popleft()
            self._failed -= old & 1
            self._slow -= old >> 1

    def add(self, at: float, failed: bool, slow: bool) -> None:
        """Record one call that ended at ``at``; calls older than the window fall out."""
        self._expire(at)
        self._calls.append((at, failed | (slow << 1)))
        self._failed += failed
        self._slow += slow

    def counts(self, now: float) -> tuple[int, int, int]:
        """Recorded calls, failures and slow calls that ended less than ``seconds`` ago."""
        self._expire(now)
        return len(self._calls), self._failed, self._slow

    def peek(self, now: float) -> tuple[int, int, int]:
        """``counts(now)`` without forgetting the calls that have aged out."""
        recorded, failed, slow = len(self._calls), self._failed, self._slow
        for at, flags in self._calls:
            if now - at < self.seconds:
                break
            recorded, failed, slow = recorded - 1, failed - (flags & 1), slow - (flags >> 1)
        return recorded, failed, slow

    def clear(self) -> None:
        """Forget every call."""
        self._calls.clear()
        self._failed = self._slow = 0

    def __repr__(self) -> str:
        return f"<TimeWindow {len(self._calls)} calls in {self.seconds:g}s, {self._failed} failed>"


def window_for(policy: Policy) -> CountWindow | TimeWindow | None:
    """The window a policy asks for, or None for consecutive counting (``fail_max``)."""
    if policy.window is not None:
        return CountWindow(policy.window)
    if policy.window_s is not None:
        return TimeWindow(float(policy.window_s))
    return None
