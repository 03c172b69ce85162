"""Simulated integrations for demos, notebooks and benchmarks, seeded so every run tells
the same story: ``DemoIntegration``, ``demo_integrations``, ``demo_registry``.

Built in ``toolkit._demo.services``; this module is the public path.
"""

from __future__ import annotations

from toolkit._demo.services import (
    DEMO_SERVICES,
    DemoIntegration,
    demo_integrations,
    demo_registry,
)

__all__ = ["DEMO_SERVICES", "DemoIntegration", "demo_integrations", "demo_registry"]
