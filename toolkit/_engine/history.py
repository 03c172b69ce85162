"""Bounded call history and breaker event log, stored by column.

Each field lives in its own ``deque(maxlen=...)``: appending is O(1), the oldest
record falls off by itself, and a DataFrame is built from whole columns without
creating one Python object per record.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, overload

from toolkit._engine.errors import ConfigError

Outcome = Literal["ok", "error", "timeout", "circuit_open"]
State = Literal["closed", "open", "half-open", "isolated"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "error", "timeout", "circuit_open")
STATES: tuple[State, ...] = ("closed", "half-open", "open", "isolated")

DEFAULT_MAXLEN = 10_000
MAX_HISTORY = 100_000_000
"""The most records a history keeps (a larger bound is a typo, and overflows a deque)."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One guarded call: when, how long, what came of it, and the breaker around it."""

    run_id: int
    name: str
    started_at: datetime
    duration_s: float
    outcome: Outcome
    error: str | None
    state_before: State
    state_after: State
    fault: str | None = None
    slow: bool = False


@dataclass(frozen=True, slots=True)
class BreakerEvent:
    """A change of one breaker's state."""

    at: datetime
    name: str
    old_state: State
    new_state: State


CALL_FIELDS = (
    "run_id", "name", "started_at", "duration_s", "outcome", "error",
    "state_before", "state_after", "fault", "slow",
)  # fmt: skip
EVENT_FIELDS = ("at", "name", "old_state", "new_state")


class _Columns:
    """Shared mechanics: one bounded deque per field, a change counter, record views."""

    _fields: tuple[str, ...] = ()
    _time_field = ""

    def __init__(self, maxlen: int = DEFAULT_MAXLEN) -> None:
        if (
            isinstance(maxlen, bool)
            or not isinstance(maxlen, int)
            or not 1 <= maxlen <= MAX_HISTORY
        ):
            raise ConfigError(
                f"history size must be a whole number from 1 to {MAX_HISTORY:,}, got {maxlen!r}"
            )
        self.maxlen = maxlen
        self._cols: dict[str, deque[Any]] = {f: deque(maxlen=maxlen) for f in self._fields}
        self.version = 0

    def columns(self, last: int | None = None) -> dict[str, list[Any]]:
        """A snapshot of every column as a list, oldest first (times are epoch seconds).

        ``last`` keeps only the newest ``last`` records, without copying the rest.
        """
        if last is None or last >= len(self):
            return {f: list(col) for f, col in self._cols.items()}
        newest = {
            f: list(itertools.islice(reversed(col), max(last, 0))) for f, col in self._cols.items()
        }
        for values in newest.values():
            values.reverse()
        return newest

    def clear(self) -> None:
        """Forget every record."""
        for col in self._cols.values():
            col.clear()
        self.version += 1

    def __len__(self) -> int:
        return len(self._cols[self._fields[0]])

    def _row(self, index: int) -> tuple[Any, ...]:
        return tuple(self._cols[f][index] for f in self._fields)

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        return zip(*(self._cols[f] for f in self._fields), strict=True)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self)} of at most {self.maxlen}>"


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class CallHistory(_Columns):
    """The most recent ``maxlen`` calls, oldest first; indexing yields ``CallRecord``."""

    _fields = CALL_FIELDS

    def append(
        self,
        run_id: int,
        name: str,
        started_at: float,
        duration_s: float,
        outcome: Outcome,
        error: str | None,
        state_before: State,
        state_after: State,
        fault: str | None,
        slow: bool,
    ) -> None:
        """Add one call; ``started_at`` is epoch seconds."""
        c = self._cols
        c["run_id"].append(run_id)
        c["name"].append(name)
        c["started_at"].append(started_at)
        c["duration_s"].append(duration_s)
        c["outcome"].append(outcome)
        c["error"].append(error)
        c["state_before"].append(state_before)
        c["state_after"].append(state_after)
        c["fault"].append(fault)
        c["slow"].append(slow)
        self.version += 1

    @staticmethod
    def _record(row: tuple[Any, ...]) -> CallRecord:
        run_id, name, started, *rest = row
        return CallRecord(run_id, name, _dt(started), *rest)

    @overload
    def __getitem__(self, index: int) -> CallRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[CallRecord]: ...
    def __getitem__(self, index: int | slice) -> CallRecord | list[CallRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return self._record(self._row(index))

    def __iter__(self) -> Iterator[CallRecord]:
        return (self._record(row) for row in self._rows())


class EventLog(_Columns):
    """The most recent ``maxlen`` breaker state changes, oldest first."""

    _fields = EVENT_FIELDS

    def append(self, at: float, name: str, old_state: State, new_state: State) -> None:
        """Add one state change; ``at`` is epoch seconds."""
        c = self._cols
        c["at"].append(at)
        c["name"].append(name)
        c["old_state"].append(old_state)
        c["new_state"].append(new_state)
        self.version += 1

    @overload
    def __getitem__(self, index: int) -> BreakerEvent: ...
    @overload
    def __getitem__(self, index: slice) -> list[BreakerEvent]: ...
    def __getitem__(self, index: int | slice) -> BreakerEvent | list[BreakerEvent]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        at, *rest = self._row(index)
        return BreakerEvent(_dt(at), *rest)

    def __iter__(self) -> Iterator[BreakerEvent]:
        return (BreakerEvent(_dt(at), *rest) for at, *rest in self._rows())
