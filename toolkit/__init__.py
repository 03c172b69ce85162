"""Integration health toolkit: optional integrations in parallel, each behind its own breaker.

The core (contract, registry, runner, breakers, faults, history) needs neither
pandas nor ipywidgets; ``toolkit.frames`` and ``toolkit.Dashboard`` load them
only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit._errors import (
    BadResultError,
    CheckConnectError,
    CheckError,
    CheckTimeoutError,
    CheckTlsError,
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
    NotAnIntegrationError,
    StorageError,
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
    from toolkit import frames, integrations, plots
    from toolkit._config import load_config
    from toolkit._dashboard import Dashboard
    from toolkit._fleet import Fleet
    from toolkit._redis_storage import RedisStorage
    from toolkit.integrations import HttpCheck, TcpCheck, integration

__all__ = [
    "BadResultError",
    "BreakerEvent",
    "BreakerStatus",
    "BreakerStorage",
    "CallRecord",
    "CheckConnectError",
    "CheckError",
    "CheckTimeoutError",
    "CheckTlsError",
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
    "NotAnIntegrationError",
    "Policy",
    "RedisStorage",
    "StorageError",
    "TcpCheck",
    "ToolkitError",
    "UnknownIntegrationError",
    "frames",
    "integration",
    "integrations",
    "load_config",
    "plots",
]

# name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "Dashboard": ("toolkit._dashboard", "Dashboard"),
    "Fleet": ("toolkit._fleet", "Fleet"),
    "HttpCheck": ("toolkit.integrations", "HttpCheck"),
    "RedisStorage": ("toolkit._redis_storage", "RedisStorage"),
    "TcpCheck": ("toolkit.integrations", "TcpCheck"),
    "frames": ("toolkit.frames", None),
    "integration": ("toolkit.integrations", "integration"),
    "integrations": ("toolkit.integrations", None),
    "load_config": ("toolkit._config", "load_config"),
    "plots": ("toolkit.plots", None),
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
