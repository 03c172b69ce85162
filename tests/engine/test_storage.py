"""Breakers whose state storage is shared (as with Redis): no worker wipes another's count."""

from __future__ import annotations

import pybreaker
from probes import Probe, registry_of

from toolkit import IntegrationRunner


class SharedMemory:
    """One pybreaker state storage per name, handed to every runner built on this."""

    kind = "shared-memory"
    available = True

    def __init__(self) -> None:
        self.stores: dict[str, pybreaker.CircuitMemoryStorage] = {}

    def state_storage(self, name: str) -> pybreaker.CircuitBreakerStorage:
        return self.stores.setdefault(name, pybreaker.CircuitMemoryStorage("closed"))


def test_failures_counted_by_other_workers_survive_a_stale_cache() -> None:
    shared = SharedMemory()
    first = IntegrationRunner(registry_of(Probe("x", "raise")), storage=shared, fail_max=3)
    second = IntegrationRunner(registry_of(Probe("x", "raise")), storage=shared, fail_max=3)
    for _ in range(3):
        first.run_one_sync("x")
    assert first.status("x").state == "open"
    store = shared.stores["x"]
    store.state = "closed"  # a fleet-wide reset, written straight to the shared storage
    store.reset_counter()
    second.run_one_sync("x")
    second.run_one_sync("x")
    assert store.counter == 2
    first.run_one_sync("x")  # its cached pybreaker state still says "open"
    assert store.counter == 3
    assert store.state == "open" and first.status("x").state == "open"
    first.close()
    second.close()
