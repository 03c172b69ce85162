"""The toolkit's exceptions, under one root.

    ToolkitError
    ├── ConfigError (also ValueError)        a bad policy or config value
    ├── UnknownIntegrationError (also KeyError)  a name no integration has
    ├── DuplicateIntegrationError            two integrations share one name
    ├── NotAnIntegrationError (also TypeError)   an object missing part of the contract
    ├── InjectedFault                        the failure raised by ``Fault.fail``/``flaky``
    ├── IntegrationFailure                   a result with ``success=False``
    ├── BadResultError (also TypeError)      ``fetch`` returned a non-result
    └── IntegrationTimeoutError (also TimeoutError)  ``fetch`` ran past its timeout

The last three are what the runner replays into an integration's breaker, so a
pybreaker listener sees a typed failure for every kind of failed call.
"""

from __future__ import annotations

from collections.abc import Iterable


class ToolkitError(Exception):
    """Root of every error the toolkit raises on purpose."""


class ConfigError(ToolkitError, ValueError):
    """A configuration or policy value is out of range or of the wrong type."""


class UnknownIntegrationError(ToolkitError, KeyError):
    """An integration name that the runner or registry does not know."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        listed = ", ".join(repr(k) for k in self.known) or "none"
        super().__init__(f"unknown integration {name!r}; known integrations: {listed}")

    def __str__(self) -> str:
        # KeyError would show the message quoted; a plain sentence reads better.
        return str(self.args[0])


class DuplicateIntegrationError(ToolkitError):
    """Two different integrations were given the same name."""


class NotAnIntegrationError(ToolkitError, TypeError):
    """An object registered as an integration does not satisfy the contract."""


class InjectedFault(ToolkitError):
    """The failure an injected ``Fault`` raises instead of calling ``fetch``."""


class IntegrationFailure(ToolkitError):
    """An integration returned ``IntegrationResult(success=False)``; counted as a failure."""


class BadResultError(ToolkitError, TypeError):
    """``fetch`` returned something that is not an ``IntegrationResult``; counted as a failure."""


class IntegrationTimeoutError(ToolkitError, TimeoutError):
    """``fetch`` did not finish within its timeout; counted as a failure."""
