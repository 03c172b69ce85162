"""Simulated integrations for demos, notebooks and benchmarks: seeded, so every run tells
the same story."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.results import IntegrationResult

DEMO_SERVICES: tuple[tuple[str, str, float], ...] = (
    ("weather", "Weather API", 40.0),
    ("payments", "Payments gateway", 60.0),
    ("geocoder", "Geocoder", 25.0),
    ("search", "Search index", 50.0),
    ("crm", "CRM sync", 80.0),
    ("mail", "Mail relay", 30.0),
)
"""The simulated services: (name, display name, mean latency in ms)."""


class DemoIntegration:
    """A simulated external service with seeded latency; set ``failing`` to take it down."""

    def __init__(
        self,
        name: str,
        display_name: str | None = None,
        *,
        latency_ms: float = 40.0,
        jitter: float = 0.3,
        failure_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.name = name
        self.display_name = display_name or name
        self.latency_ms = latency_ms
        self.jitter = jitter
        self.failure_rate = failure_rate
        self.failing = False
        self.calls = 0
        self._rng = random.Random(f"{seed}:{name}")

    def is_configured(self) -> bool:
        """Always configured: it needs no settings."""
        return True

    def validate_config(self) -> None:
        """Nothing to validate."""
        return None

    async def fetch(self) -> IntegrationResult:
        """Wait a seeded latency, then answer, or raise like a refused connection."""
        self.calls += 1
        spread = self.latency_ms * self.jitter
        delay_ms = max(0.0, self._rng.uniform(self.latency_ms - spread, self.latency_ms + spread))
        await asyncio.sleep(delay_ms / 1000.0)
        if self.failing or self._rng.random() < self.failure_rate:
            raise ConnectionError(f"{self.display_name}: connection refused (simulated outage)")
        return IntegrationResult(self.name, True, {"items": self._rng.randint(1, 50)})

    def __repr__(self) -> str:
        down = ", failing" if self.failing else ""
        return f"DemoIntegration({self.name!r}, latency_ms={self.latency_ms:g}{down})"


def demo_integrations(
    count: int | None = None,
    *,
    seed: int = 7,
    latency_scale: float = 1.0,
    services: Sequence[tuple[str, str, float]] = DEMO_SERVICES,
) -> list[DemoIntegration]:
    """``count`` demo integrations (all of ``DEMO_SERVICES`` by default; more get numbered)."""
    count = len(services) if count is None else count
    made: list[DemoIntegration] = []
    for i in range(count):
        name, shown, latency = services[i % len(services)]
        if i >= len(services):
            name, shown = f"{name}-{i // len(services)}", f"{shown} #{i // len(services)}"
        made.append(DemoIntegration(name, shown, latency_ms=latency * latency_scale, seed=seed))
    return made


def demo_registry(
    count: int | None = None, *, seed: int = 7, latency_scale: float = 1.0
) -> IntegrationRegistry:
    """A registry of demo integrations, ready for ``IntegrationRunner``."""
    registry = IntegrationRegistry()
    for integration in demo_integrations(count, seed=seed, latency_scale=latency_scale):
        registry.register(integration)
    return registry
