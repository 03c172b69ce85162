"""Where breakers keep their state: per process in memory, or shared by a fleet.

A shared storage may offer optional hooks, which the core uses when present:

- on the storage: ``attach(runner)`` when a runner is built on it, ``detach(runner)``
  when that runner closes (``RedisStorage`` streams the runner's calls between them);
- on each breaker's state storage: ``batch()``, a context manager inside which one
  step's reads (admit, settle, a status) are fetched once; ``isolated``, a bool
  property that shares ``isolate`` with every worker; ``rewind_opened_at(when)``,
  which ``expire`` uses to move ``opened_at`` back where the storage only moves it
  forward; ``trial_granted()``, which ``admit`` asks before a trial call: False when
  another worker of the fleet holds the trial (one trial per fleet).

A storage whose state lives elsewhere offers ``begin_run(calls)``: the runner calls it
once per run with ``(breaker, trial_s)`` for every breaker the run needs (``trial_s``:
the longest a call of it may take) and uses the ``StorageRun`` it returns as an async
context manager around admitting the calls, awaiting them and settling them. Entering
reads every breaker at once; inside, the breakers' reads are served from that read and
their writes are queued; leaving sends the queued writes at once. Neither waits for
the store longer than its own deadline, and neither raises because of the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

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


class StorageRun(Protocol):
    """One run's storage I/O: one read before its calls launch, one write after they settle.

    ``serves`` (optional, False when absent): inside the run, its breakers' reads on the
    run's thread come from the run's read, so a step needs no ``batch()`` of its own.
    """

    async def __aenter__(self) -> Any:
        """Read every breaker of the run at once (bounded by the storage's deadline)."""
        ...

    async def __aexit__(self, *exc: object) -> Any:
        """Send the writes the run queued (awaited on success, sent unawaited otherwise)."""
        ...


class _NoRun:
    """The run of a storage without ``begin_run``: nothing to read or send."""

    serves = False

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


NO_RUN = _NoRun()


def begin_run(
    storage: BreakerStorage, calls: Sequence[tuple[pybreaker.CircuitBreaker, float]]
) -> StorageRun:
    """The storage's ``StorageRun`` for these ``(breaker, trial_s)`` pairs, or a no-op one."""
    begin = getattr(storage, "begin_run", None)
    return NO_RUN if begin is None else begin(calls)
