"""The verdicts of a breaker policy over counts: does a window open the breaker, what are
its rates, do the half-open trials close or reopen it.

Pure functions over numbers, shared by the live breaker and the replay.
"""

from __future__ import annotations

import math

from toolkit._engine.policy import Policy

NAN = math.nan


def trips(policy: Policy, recorded: int, failed: int, slow: int) -> bool:
    """True when a window's counts open the breaker under ``policy``.

    No verdict below ``min_calls`` (clamped to a count window's size); then the
    failure rate or, while ``slow_after`` is set, the slow rate at or above its limit.
    """
    if recorded == 0 or recorded < policy.effective_min_calls:
        return False
    if failed / recorded >= policy.failure_rate:
        return True
    return policy.slow_after is not None and slow / recorded >= policy.slow_rate


def rates(policy: Policy, recorded: int, failed: int, slow: int) -> tuple[float, float]:
    """The window's failure and slow rates, both NaN below ``min_calls``."""
    if recorded == 0 or recorded < policy.effective_min_calls:
        return NAN, NAN
    return failed / recorded, slow / recorded


def trials_reopen(policy: Policy, finished: int, failed: int) -> bool | None:
    """After ``finished`` half-open trials of which ``failed`` failed: True reopens, False
    closes, None while trials are still owed (fewer than ``half_open_calls``)."""
    if finished < policy.half_open_calls:
        return None
    return failed / finished >= policy.failure_rate
