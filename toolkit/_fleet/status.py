"""What a fleet view reads: one breaker as stored in Redis (``FleetBreaker``), and the
``FleetSource`` protocol that ``Fleet`` implements for its dashboard.

The dashboard, its rows and the fleet's frames depend on these, not on ``Fleet``,
so ``Fleet.dashboard()`` can build the widget without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from toolkit._engine.history import State


@dataclass(frozen=True, slots=True)
class FleetBreaker:
    """One breaker as stored in Redis, with the policy a worker published for it (if any)."""

    name: str
    state: State
    failures: int
    opened_at: float | None
    trial_in_s: float | None
    fail_max: int | None
    reset_timeout_s: float
    timeout_s: float | None
    worker: str | None
    taken_at: float


class FleetSource(Protocol):
    """The reads and controls the fleet dashboard uses (``Fleet`` provides them)."""

    namespace: str
    url: str

    def statuses(self, *, rescan: bool = True) -> list[FleetBreaker]:
        """Every breaker as of now, sorted by name."""
        ...

    def entries(self, last: int | None = 10_000) -> list[tuple[str, dict[str, str]]]:
        """The newest ``last`` call-stream entries, oldest first, decoded."""
        ...

    def trip(self, name: str) -> None:
        """Open ``name``'s breaker in every worker."""
        ...

    def reset(self, name: str) -> None:
        """Close ``name``'s breaker in every worker."""
        ...

    def isolate(self, name: str) -> None:
        """Hold ``name``'s breaker open in every worker until reset."""
        ...

    def reset_all(self) -> None:
        """Close every breaker under the namespace."""
        ...
