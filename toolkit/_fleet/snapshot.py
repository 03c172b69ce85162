"""A breaker's five Redis keys as one value: what one ``MGET`` read, parsed leniently.

Garbage in Redis (a state pybreaker does not know, a counter that is not a number
or not finite, an ``opened_at`` beyond what a datetime holds) reads as closed, zero
or no time rather than raising inside a guarded call. An ``opened_at`` later than
``OPENED_AT_MAX`` reads as that time (still far in the future: the breaker stays shut).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pybreaker

OPENED_AT_MAX = 7_258_118_400
"""2200-01-01 UTC: the latest ``opened_at`` read as such (pandas and datetimes hold it)."""
_STATES = frozenset({pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A breaker's five keys as last read (or, while Redis is down, as kept locally)."""

    state: str = pybreaker.STATE_CLOSED
    fail_counter: int = 0
    success_counter: int = 0
    opened_at: int | None = None
    isolated: bool = False


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _int(value: bytes | str | None) -> int | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return int(float(text))
    except (ValueError, OverflowError):  # not a number, or not finite
        return None


def _opened_at(value: bytes | str | None) -> int | None:
    seconds = _int(value)
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, OPENED_AT_MAX)


def parse_snapshot(values: list[Any]) -> Snapshot | None:
    """A snapshot from an ``MGET`` of ``BreakerKeys.snapshot()`` (None: no state key)."""
    state = _text(values[0])
    if state is None:
        return None
    return Snapshot(
        state=state if state in _STATES else pybreaker.STATE_CLOSED,
        fail_counter=_int(values[1]) or 0,
        success_counter=_int(values[2]) or 0,
        opened_at=_opened_at(values[3]),
        isolated=values[4] is not None,
    )
