"""Policy: the timeout and breaker settings of one integration, checked where they enter.

Two ways to open a breaker. Without ``window``/``window_s`` it opens after
``fail_max`` consecutive failures (pybreaker's rule). With one of them it opens on
a rate: once at least ``min_calls`` calls are recorded in the window, when
failures / recorded >= ``failure_rate`` or slow / recorded >= ``slow_rate``
(resilience4j's sliding windows). Either way ``half_open_calls`` trials decide
after the wait, and ``backoff`` lengthens the wait of each opening in a row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from toolkit._engine.errors import ConfigError

UNBOUNDED_FAIL_MAX = 2**62
"""The ``fail_max`` a rate-based breaker hands pybreaker: its own count never opens it."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Timeout and breaker settings; ``slow_after`` marks slow calls (None: never).

    Attributes:
        timeout: seconds one ``fetch`` may take.
        fail_max: consecutive failures that open the breaker (without a window).
        reset_timeout: seconds an open breaker waits before its trials (first opening).
        slow_after: a call longer than this is slow (None: no call is).
        window: rate over the last N recorded calls (``ok``, ``error``, ``timeout``).
        window_s: rate over the calls recorded in the last T seconds.
        failure_rate: open when failures / recorded >= this, in (0, 1].
        slow_rate: open when slow / recorded >= this, in (0, 1].
        min_calls: no verdict before this many recorded calls (a count window clamps
            it to ``window``).
        half_open_calls: trials after the wait; once they have all finished, their
            failure rate against ``failure_rate`` closes or reopens the breaker.
        backoff: the k-th opening in a row waits ``reset_timeout * backoff**(k-1)``.
        max_reset_timeout: the longest wait backoff may reach (None: no cap).
        shared_window: with ``window_s`` and a ``RedisStorage``, one window for the
            whole fleet, kept in Redis.
    """

    timeout: float = 30.0
    fail_max: int = 3
    reset_timeout: float = 60.0
    slow_after: float | None = None
    window: int | None = None
    window_s: float | None = None
    failure_rate: float = 0.5
    slow_rate: float = 1.0
    min_calls: int = 10
    half_open_calls: int = 1
    backoff: float = 1.0
    max_reset_timeout: float | None = None
    shared_window: bool = False

    def __post_init__(self) -> None:
        _check_seconds("timeout", self.timeout, positive=True)
        _check_seconds("reset_timeout", self.reset_timeout, positive=False)
        if self.slow_after is not None:
            _check_seconds("slow_after", self.slow_after, positive=True)
        _check_count("fail_max", self.fail_max, "failures")
        _check_count("min_calls", self.min_calls, "calls")
        _check_count("half_open_calls", self.half_open_calls, "trial calls")
        if self.window is not None:
            _check_count("window", self.window, "calls")
        if self.window_s is not None:
            _check_seconds("window_s", self.window_s, positive=True)
        if self.window is not None and self.window_s is not None:
            raise ConfigError(
                f"give window (last N calls) or window_s (last T seconds), not both;"
                f" got window={self.window!r} and window_s={self.window_s!r}"
            )
        _check_rate("failure_rate", self.failure_rate)
        _check_rate("slow_rate", self.slow_rate)
        backoff = self.backoff
        if (
            isinstance(backoff, bool)
            or not isinstance(backoff, int | float)
            or not math.isfinite(backoff)
            or not 1.0 <= backoff <= 1000.0
        ):
            raise ConfigError(
                f"backoff must be a number from 1 (every wait the same) to 1000, got {backoff!r}"
            )
        if self.max_reset_timeout is not None:
            _check_seconds("max_reset_timeout", self.max_reset_timeout, positive=False)
            if self.max_reset_timeout < self.reset_timeout:
                raise ConfigError(
                    f"max_reset_timeout ({self.max_reset_timeout!r}) must be at least"
                    f" reset_timeout ({self.reset_timeout!r}): it caps the waits backoff"
                    " lengthens"
                )
        if not isinstance(self.shared_window, bool):
            raise ConfigError(f"shared_window must be True or False, got {self.shared_window!r}")
        if self.shared_window and self.window_s is None:
            raise ConfigError(
                "shared_window=True needs a time window (window_s): the fleet shares the"
                " calls of the last window_s seconds"
            )

    @property
    def rate_based(self) -> bool:
        """True when a window decides (``window`` or ``window_s``), not ``fail_max``."""
        return self.window is not None or self.window_s is not None

    @property
    def effective_min_calls(self) -> int:
        """``min_calls``, clamped to ``window`` for a count window (never for a time one)."""
        if self.window is not None:
            return min(self.min_calls, self.window)
        return self.min_calls

    def wait_after(self, openings: int) -> float:
        """Seconds the ``openings``-th opening in a row waits: backoff applied, then capped."""
        wait = float(self.reset_timeout)
        cap = MAX_SECONDS if self.max_reset_timeout is None else float(self.max_reset_timeout)
        if openings > 1 and self.backoff > 1.0 and wait > 0.0:
            try:
                wait *= float(self.backoff) ** (openings - 1)
            except OverflowError:
                wait = cap
        return min(wait, cap)

    def updated(self, **changes: Any) -> Policy:
        """A copy with ``changes`` applied; unknown keys are refused by name.

        Giving one kind of window replaces the other: ``window_s=30`` on a policy with
        ``window=20`` moves it to a time window (unless both are given).
        """
        for kind, other in (("window", "window_s"), ("window_s", "window")):
            if changes.get(kind) is not None and other not in changes:
                changes = {**changes, other: None}
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown policy setting(s) {', '.join(map(repr, unknown))}; "
                f"known settings: {', '.join(sorted(known - set(_EXTRA_FIELDS)))};"
                f" for rate-based breakers: {', '.join(sorted(_EXTRA_FIELDS))}"
            )
        return replace(self, **changes)

    def __repr__(self) -> str:
        slow = "" if self.slow_after is None else f", slow_after={self.slow_after:g}"
        extra = ""
        defaults = _DEFAULTS
        for name in _EXTRA_FIELDS:
            value = getattr(self, name)
            if value != getattr(defaults, name):
                shown = f"{value:g}" if isinstance(value, float) else repr(value)
                extra += f", {name}={shown}"
        return (
            f"Policy(timeout={self.timeout:g}s, fail_max={self.fail_max}, "
            f"reset_timeout={self.reset_timeout:g}s{slow}{extra})"
        )


MAX_SECONDS = 1e9
"""About 31 years: beyond it timestamps overflow; hold a breaker open with ``isolate``."""

_EXTRA_FIELDS = (
    "window", "window_s", "failure_rate", "slow_rate", "min_calls", "half_open_calls",
    "backoff", "max_reset_timeout", "shared_window",
)  # fmt: skip


def _check_count(name: str, value: object, what: str) -> None:
    """Refuse anything but a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of {what} >= 1, got {value!r}")


def _check_rate(name: str, value: object) -> None:
    """Refuse anything but a fraction in (0, 1]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not 0.0 < value <= 1.0:  # type: ignore[operator]
        raise ConfigError(
            f"{name} must be a fraction of the recorded calls in (0, 1], e.g. 0.5, got {value!r}"
        )


def _check_seconds(name: str, value: object, *, positive: bool) -> None:
    """Refuse a non-number, NaN, infinity, or a value outside the allowed range."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and positive:
        ok = 0 < value <= MAX_SECONDS  # type: ignore[operator]
    elif ok:
        ok = 0 <= value <= MAX_SECONDS  # type: ignore[operator]
    if not ok:
        if isinstance(value, int | float) and math.isfinite(value) and value > MAX_SECONDS:
            raise ConfigError(
                f"{name} must be at most {MAX_SECONDS:g} seconds, got {value!r};"
                " to hold a breaker open indefinitely use isolate()"
            )
        bound = "> 0" if positive else ">= 0"
        raise ConfigError(f"{name} must be a finite number of seconds {bound}, got {value!r}")


_DEFAULTS = Policy()
