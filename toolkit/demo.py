"""Simulated integrations for demos, notebooks and benchmarks, seeded so every run tells
the same story: ``DemoIntegration``, ``demo_integrations``, ``demo_registry``;
``simulated_week()``: days of calls and breaker events for the history notebook; and a
flapping service recorded on simulated time for replays: ``record_flapping``,
``FlappingService``, ``SimulatedClock``.
"""

from __future__ import annotations

from toolkit._demo.flapping import FlappingService, SimulatedClock, record_flapping
from toolkit._demo.services import (
    DEMO_SERVICES,
    DemoIntegration,
    demo_integrations,
    demo_registry,
)

__all__ = [
    "DEMO_SERVICES", "DemoIntegration", "FlappingService", "SimulatedClock", "demo_integrations",
    "demo_registry", "record_flapping",
]  # fmt: skip

for _name in (
    "DemoIntegration", "FlappingService", "SimulatedClock", "demo_integrations", "demo_registry",
    "record_flapping",
):  # fmt: skip
    globals()[_name].__module__ = __name__  # shown, and pickled, under the public path

from toolkit._demo.history import simulated_week  # noqa: E402

__all__ += ["simulated_week"]
simulated_week.__module__ = __name__
