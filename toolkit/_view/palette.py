"""Colours of breaker states and call outcomes, shared by the dashboard, styled frames and plots."""

from __future__ import annotations

from typing import Final

STATE_COLORS: Final[dict[str, str]] = {
    "closed": "#1a7f37",
    "half-open": "#9a6700",
    "open": "#cf222e",
    "isolated": "#82071e",
}
"""Badge backgrounds: closed green, half-open amber, open red, isolated dark red."""

OUTCOME_COLORS: Final[dict[str, str]] = {
    "ok": "#1a7f37",
    "error": "#cf222e",
    "timeout": "#bc4c00",
    "circuit_open": "#6e7781",
}
"""Call outcomes: ok green, error red, timeout orange, skipped by an open breaker grey."""

RUNNING_COLOR: Final = "#0969da"
MUTED_COLOR: Final = "#57606a"
BAR_COLOR: Final = "#9ecbff"
ON_COLOR: Final = "#ffffff"
"""Text colour on a state badge."""


def state_color(state: object) -> str:
    """The colour of ``state``; grey for anything that is not a breaker state."""
    return STATE_COLORS.get(state, MUTED_COLOR) if isinstance(state, str) else MUTED_COLOR


def outcome_color(outcome: object) -> str:
    """The colour of ``outcome``; grey for anything that is not a call outcome."""
    if not isinstance(outcome, str):
        return MUTED_COLOR
    return OUTCOME_COLORS.get(outcome, MUTED_COLOR)


def rate_color(rate: float) -> str:
    """A background from red (0 %) through amber (50 %) to green (100 %) for a success rate."""
    low, mid, high = (255, 215, 213), (255, 236, 179), (209, 242, 214)
    rate = min(max(rate, 0.0), 1.0)
    a, b, t = (low, mid, rate * 2) if rate < 0.5 else (mid, high, rate * 2 - 1)
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return f"#{r:02x}{g:02x}{bl:02x}"
