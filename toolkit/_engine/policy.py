"""Policy: the timeout and breaker settings of one integration, checked where they enter."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from toolkit._engine.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Policy:
    """Timeout and breaker settings; ``slow_after`` marks slow successes (None: never)."""

    timeout: float = 30.0
    fail_max: int = 3
    reset_timeout: float = 60.0
    slow_after: float | None = None

    def __post_init__(self) -> None:
        _check_seconds("timeout", self.timeout, positive=True)
        _check_seconds("reset_timeout", self.reset_timeout, positive=False)
        if self.slow_after is not None:
            _check_seconds("slow_after", self.slow_after, positive=True)
        if (
            isinstance(self.fail_max, bool)
            or not isinstance(self.fail_max, int)
            or self.fail_max < 1
        ):
            raise ConfigError(
                f"fail_max must be a whole number of failures >= 1, got {self.fail_max!r}"
            )

    def updated(self, **changes: Any) -> Policy:
        """A copy with ``changes`` applied; unknown keys are refused by name."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"unknown policy setting(s) {', '.join(map(repr, unknown))}; "
                f"known settings: {', '.join(sorted(known))}"
            )
        return replace(self, **changes)

    def __repr__(self) -> str:
        slow = "" if self.slow_after is None else f", slow_after={self.slow_after:g}"
        return (
            f"Policy(timeout={self.timeout:g}s, fail_max={self.fail_max}, "
            f"reset_timeout={self.reset_timeout:g}s{slow})"
        )


MAX_SECONDS = 1e9
"""About 31 years: beyond it timestamps overflow; hold a breaker open with ``isolate``."""


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
