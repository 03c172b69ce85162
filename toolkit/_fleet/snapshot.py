"""A breaker's five Redis keys as one value: what one ``MGET`` read, parsed leniently.

Garbage in Redis (a state pybreaker does not know, a counter that is not a whole
number from 0 to ``COUNT_MAX``, an ``opened_at`` beyond what a datetime holds) reads as
closed, zero or no time rather than raising inside a guarded call or a frame, and is
named in ``Snapshot.problems`` so readers can say so. An ``opened_at`` later than
``OPENED_AT_MAX`` reads as that time (workers clamp what they believe: see breaker.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pybreaker

OPENED_AT_MAX = 7_258_118_400
"""2200-01-01 UTC: the latest ``opened_at`` read as such (pandas and datetimes hold it)."""
COUNT_MAX = 2**53
"""The largest counter read as a count (a float holds it exactly; int64 frames too)."""
_STATES = frozenset({pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN})


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A breaker's five keys as last read (or, while Redis is down, as kept locally)."""

    state: str = pybreaker.STATE_CLOSED
    fail_counter: int = 0
    success_counter: int = 0
    opened_at: int | None = None
    isolated: bool = False
    problems: tuple[str, ...] = ()
    """Values that could not be read as they should, e.g. ``"fail_counter held 'abc'"``."""


CLOSED = Snapshot()
"""A breaker closed with nothing counted, as Redis holds most of them."""


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


def _count(value: bytes | str | None) -> int | None:
    """A counter: a whole number from 0 to ``COUNT_MAX`` (None for anything else)."""
    count = _int(value)
    if count is None or not 0 <= count <= COUNT_MAX or count != float(_text(value) or 0):
        return None
    return count


def _opened_at(value: bytes | str | None) -> int | None:
    seconds = _int(value)
    if seconds is None or seconds <= 0:
        return None
    return min(seconds, OPENED_AT_MAX)


def _shown(value: bytes | str | None) -> str:
    text = _text(value) or ""
    return repr(text if len(text) <= 40 else text[:40] + "...")


def parse_snapshot(values: list[Any]) -> Snapshot | None:
    """A snapshot from an ``MGET`` of ``BreakerKeys.snapshot()`` (None: no state key)."""
    state = _text(values[0])
    if state is None:
        return None
    problems = []
    if state not in _STATES:
        problems.append(f"state held {_shown(values[0])}")
    counters = []
    for field, value in (("fail_counter", values[1]), ("success_counter", values[2])):
        count = _count(value)
        if count is None and value is not None:
            problems.append(f"{field} held {_shown(value)}")
        counters.append(count or 0)
    opened_at = _opened_at(values[3])
    if opened_at is None and values[3] is not None and _int(values[3]) is None:
        problems.append(f"opened_at held {_shown(values[3])}")
    return Snapshot(
        state=state if state in _STATES else pybreaker.STATE_CLOSED,
        fail_counter=counters[0],
        success_counter=counters[1],
        opened_at=opened_at,
        isolated=values[4] is not None,
        problems=tuple(problems),
    )
