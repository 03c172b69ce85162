"""BreakerStatus: a snapshot of one breaker that is never stale.

pybreaker keeps reporting "open" after ``reset_timeout`` has passed (until the
next call). A status therefore carries ``trial_in_s``, computed when the snapshot
is taken: 0.0 means the trial call is due now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from toolkit._engine.history import Outcome, State


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    """One integration's breaker, policy and last call, as of ``taken_at``."""

    name: str
    display_name: str
    state: State
    failures: int
    fail_max: int
    opened_at: datetime | None
    trial_in_s: float | None
    timeout_s: float
    reset_timeout_s: float
    in_flight: bool
    fault: str | None
    last_outcome: Outcome | None
    last_duration_s: float | None
    last_error: str | None
    taken_at: datetime
    storage: str = "memory"
    storage_ok: bool = True
    window_failure_rate: float = math.nan
    """Failures / recorded calls in the policy's window (NaN below min_calls or no window)."""
    window_slow_rate: float = math.nan
    """Slow / recorded calls in the policy's window (NaN below min_calls or no window)."""

    @property
    def trial_label(self) -> str:
        """``"trial in 12 s"``, ``"trial due"``, ``"held open"`` or ``""`` when closed."""
        if self.state == "isolated":
            return "held open"
        if self.state == "half-open":
            return "trial running" if self.in_flight else "trial due"
        if self.state != "open" or self.trial_in_s is None:
            return ""
        if self.trial_in_s <= 0.0:
            return "trial due"
        return f"trial in {math.ceil(self.trial_in_s)} s"
