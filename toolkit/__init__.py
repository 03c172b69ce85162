"""Integration health toolkit: optional integrations in parallel, each behind its own breaker.

The core (contract, registry, runner, breakers, faults, history) needs neither
pandas nor ipywidgets; ``toolkit.frames`` and ``toolkit.Dashboard`` load them
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._errors import (
    BadResultError,
    ConfigError,
    DuplicateIntegrationError,
    InjectedFault,
    IntegrationFailure,
    IntegrationTimeoutError,
    NotAnIntegrationError,
    ToolkitError,
    UnknownIntegrationError,
)
from toolkit._faults import Fault
from toolkit._history import BreakerEvent, CallRecord
from toolkit._policy import Policy
from toolkit._protocol import Integration
from toolkit._registry import IntegrationRegistry
from toolkit._results import IntegrationResult, IntegrationResults, IntegrationSection
from toolkit._runner import IntegrationRunner
from toolkit._status import BreakerStatus
from toolkit._storage import BreakerStorage, MemoryStorage

if TYPE_CHECKING:
    from toolkit import frames

__all__ = [
    "BadResultError",
    "BreakerEvent",
    "BreakerStatus",
    "BreakerStorage",
    "CallRecord",
    "ConfigError",
    "DuplicateIntegrationError",
    "Fault",
    "InjectedFault",
    "Integration",
    "IntegrationFailure",
    "IntegrationRegistry",
    "IntegrationResult",
    "IntegrationResults",
    "IntegrationRunner",
    "IntegrationSection",
    "IntegrationTimeoutError",
    "MemoryStorage",
    "NotAnIntegrationError",
    "Policy",
    "ToolkitError",
    "UnknownIntegrationError",
    "frames",
]

_LAZY = {"frames": "toolkit.frames"}


def __getattr__(name: str) -> Any:
    """Import the pandas and widget layers on first use, keeping ``import toolkit`` light."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        globals()[name] = module
        return module
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
