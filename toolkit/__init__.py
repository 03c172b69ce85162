"""Integration health toolkit: optional integrations in parallel, each behind its own breaker.

The core (contract, registry, runner, breakers, faults, history) needs neither
pandas nor ipywidgets; ``toolkit.frames`` and ``toolkit.Dashboard`` load them
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._engine.contract import Integration
from toolkit._engine.errors import (
    BadResultError,
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
    ConcurrentRunError,
    ConfigError,
    ConfigFileError,
    ConfigProblem,
    DuplicateIntegrationError,
    HttpProtocolError,
    HttpStatusError,
    InjectedFault,
    IntegrationFailure,
    IntegrationTimeoutError,
    InvalidJsonError,
    JsonKeyError,
    MissingExtraError,
    NotAnIntegrationError,
    StorageError,
    ToolkitError,
    UnknownIntegrationError,
)
from toolkit._engine.faults import Fault
from toolkit._engine.history import BreakerEvent, CallRecord
from toolkit._engine.policy import Policy
from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.results import IntegrationResult, IntegrationResults, IntegrationSection
from toolkit._engine.runner import IntegrationRunner
from toolkit._engine.status import BreakerStatus
from toolkit._engine.storage import BreakerStorage, MemoryStorage

if TYPE_CHECKING:
    from toolkit import frames, health, integrations, metrics, plots
    from toolkit._archive.archive import Archive
    from toolkit._checks.config import load_config
    from toolkit._fleet.control import Fleet
    from toolkit._fleet.storage import RedisStorage
    from toolkit._view.dashboard import Dashboard
    from toolkit._view.replay import replay
    from toolkit.integrations import HttpCheck, TcpCheck, integration

__all__ = [
    "Archive",
    "BadResultError",
    "BreakerEvent",
    "BreakerStatus",
    "BreakerStorage",
    "CallRecord",
    "CheckConnectError",
    "CheckError",
    "CheckTimeoutError",
    "CheckTlsError",
    "ConcurrentRunError",
    "ConfigError",
    "ConfigFileError",
    "ConfigProblem",
    "Dashboard",
    "DuplicateIntegrationError",
    "Fault",
    "Fleet",
    "HttpCheck",
    "HttpProtocolError",
    "HttpStatusError",
    "InjectedFault",
    "Integration",
    "IntegrationFailure",
    "IntegrationRegistry",
    "IntegrationResult",
    "IntegrationResults",
    "IntegrationRunner",
    "IntegrationSection",
    "IntegrationTimeoutError",
    "InvalidJsonError",
    "JsonKeyError",
    "MemoryStorage",
    "MissingExtraError",
    "NotAnIntegrationError",
    "Policy",
    "RedisStorage",
    "StorageError",
    "TcpCheck",
    "ToolkitError",
    "UnknownIntegrationError",
    "frames",
    "health",
    "integration",
    "integrations",
    "load_config",
    "metrics",
    "plots",
    "replay",
]

# name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "Archive": ("toolkit._archive.archive", "Archive"),
    "Dashboard": ("toolkit._view.dashboard", "Dashboard"),
    "Fleet": ("toolkit._fleet.control", "Fleet"),
    "HttpCheck": ("toolkit._checks.http", "HttpCheck"),
    "RedisStorage": ("toolkit._fleet.storage", "RedisStorage"),
    "TcpCheck": ("toolkit._checks.tcp", "TcpCheck"),
    "frames": ("toolkit.frames", None),
    "health": ("toolkit.health", None),
    "integration": ("toolkit._checks.function", "integration"),
    "integrations": ("toolkit.integrations", None),
    "load_config": ("toolkit._checks.config", "load_config"),
    "metrics": ("toolkit.metrics", None),
    "plots": ("toolkit.plots", None),
    "replay": ("toolkit._view.replay", "replay"),
}


def __getattr__(name: str) -> Any:
    """Load the pandas, widget, HTTP and fleet layers on first use, not at import."""
    if name not in _LAZY:
        raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
