"""The integration contract: what the registry and runner need from an integration."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from toolkit._engine.results import IntegrationResult


@runtime_checkable
class Integration(Protocol):
    """An optional external integration: configured or not, and fetched asynchronously.

    ``display_name: str`` is optional; the runner falls back to ``name``.
    """

    name: str

    def is_configured(self) -> bool:
        """True when every setting the integration needs is present."""
        ...

    def validate_config(self) -> str | None:
        """A warning when the integration is only partly configured, else None."""
        ...

    async def fetch(self) -> IntegrationResult:
        """Call the external system once and report what happened."""
        ...


def display_name_of(integration: object) -> str:
    """The integration's ``display_name`` when it has a usable one, else its ``name``."""
    shown = getattr(integration, "display_name", None)
    if isinstance(shown, str) and shown:
        return shown
    return str(getattr(integration, "name", "?"))
