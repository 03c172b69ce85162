"""Where breakers keep their state: per process in memory, or shared by a fleet.

A shared storage may offer optional hooks, which the core uses when present:

- on the storage: ``attach(runner)`` when a runner is built on it, ``detach(runner)``
  when that runner closes (``RedisStorage`` streams the runner's calls between them);
- on each breaker's state storage: ``batch()``, a context manager inside which one
  step's reads (admit, settle, a status) are fetched once; ``isolated``, a bool
  property that shares ``isolate`` with every worker; ``rewind_opened_at(when)``,
  which ``expire`` uses to move ``opened_at`` back where the storage only moves it
  forward.
"""

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
