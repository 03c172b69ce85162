"""Where breakers keep their state: per process in memory, or shared by a fleet."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import pybreaker


@runtime_checkable
class BreakerStorage(Protocol):
    """Hands each integration's breaker its pybreaker state storage."""

    kind: str

    def state_storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        """The storage for the breaker of integration ``name``."""
        ...

    @property
    def available(self) -> bool:
        """False while the shared store cannot be reached (memory is always available)."""
        ...


class MemoryStorage:
    """Each breaker keeps its state in this process (pybreaker's ``CircuitMemoryStorage``)."""

    kind = "memory"

    def state_storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        """A fresh, closed in-memory storage."""
        return pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)

    @property
    def available(self) -> bool:
        """Memory is always there."""
        return True

    def __repr__(self) -> str:
        return "MemoryStorage()"
