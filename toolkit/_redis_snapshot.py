"""A breaker's five Redis keys as one value: what one ``MGET`` read, parsed leniently.

Garbage in Redis (a state pybreaker does not know, a counter that is not a number)
reads as closed and zero rather than raising inside a guarded call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pybreaker

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
    except ValueError:
        return None


def parse_snapshot(values: list[Any]) -> Snapshot | None:
    """A snapshot from an ``MGET`` of ``BreakerKeys.snapshot()`` (None: no state key)."""
    state = _text(values[0])
    if state is None:
        return None
    return Snapshot(
        state=state if state in _STATES else pybreaker.STATE_CLOSED,
        fail_counter=_int(values[1]) or 0,
        success_counter=_int(values[2]) or 0,
        opened_at=_int(values[3]) or None,
        isolated=values[4] is not None,
    )
