"""The toolkit's exceptions, under one root.

    ToolkitError
    ├── ConfigError (also ValueError)        a bad policy or config value
    ├── UnknownIntegrationError (also KeyError)  a name no integration has
    ├── DuplicateIntegrationError            two integrations share one name
    ├── NotAnIntegrationError (also TypeError)   an object missing part of the contract
    ├── InjectedFault                        the failure raised by ``Fault.fail``/``flaky``
    ├── IntegrationFailure                   a result with ``success=False``
    ├── BadResultError (also TypeError)      ``fetch`` returned a non-result
    ├── IntegrationTimeoutError (also TimeoutError)  ``fetch`` ran past its timeout
    ├── ConfigFileError (a ConfigError)      a config file with problems, all listed
    ├── ConcurrentRunError (also RuntimeError)  runs of one runner from two event loops at once
    ├── StorageError                         the shared breaker store (Redis) failed a fleet request
    ├── MissingExtraError (also ImportError) an optional part needs an extra installed
    └── CheckError                           a ready-made check found its target unhealthy
        ├── CheckConnectError                no connection: refused, unreachable, unknown host
        ├── CheckTlsError                    the TLS handshake or certificate failed
        ├── CheckTimeoutError (also TimeoutError)  the check's own connect/read timeout
        ├── HttpStatusError                  a status outside ``expect_status``
        ├── HttpProtocolError                a malformed HTTP exchange
        ├── InvalidJsonError                 the body is not JSON (or was cut at the size cap)
        └── JsonKeyError                     ``json_key`` is not in the JSON body

``IntegrationFailure``, ``BadResultError`` and ``IntegrationTimeoutError`` are what
the runner replays into an integration's breaker for failures that raised nothing, so
a pybreaker listener sees a typed failure for every kind of failed call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a config file: where it is, which key, and what is expected."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigFileError(ConfigError):
    """A config file could not be loaded; ``problems`` lists every problem found, not just one."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in config"
        super().__init__("\n  ".join([head + ":", *map(str, self.problems)]))


class CheckError(ToolkitError):
    """A ready-made check (HTTP, TCP) reached a verdict: its target is not healthy."""


class CheckConnectError(CheckError):
    """No connection could be made: refused, unreachable or an unknown host."""


class CheckTlsError(CheckError):
    """The TLS handshake failed or the certificate was not accepted."""


class CheckTimeoutError(CheckError, TimeoutError):
    """The check's own connect or read timeout passed before the target answered."""


class HttpStatusError(CheckError):
    """The response status is not one the check expects."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class HttpProtocolError(CheckError):
    """The server broke the HTTP exchange (malformed response, dropped connection)."""


class InvalidJsonError(CheckError):
    """The body could not be parsed as JSON, or was cut at the size cap before it ended."""


class JsonKeyError(CheckError):
    """The JSON body has no value at the check's ``json_key``."""


class ConcurrentRunError(ToolkitError, RuntimeError):
    """A run was asked of a runner from one event loop while its calls run on another.

    A runner's calls live on one loop at a time; ``run_all_sync()`` from several threads
    takes turns instead. Give each thread its own runner, or wait for the run before.
    """


class StorageError(ToolkitError):
    """The shared breaker store (Redis) could not serve a fleet read or control.

    Runs never raise it: while Redis is unreachable they keep breaker state locally.
    """


class MissingExtraError(ToolkitError, ImportError):
    """An optional part of the toolkit needs packages of an extra that is not installed.

    The message names the part, the missing module and the ``pip install`` command.
    """

    def __init__(self, feature: str, module: str, extra: str) -> None:
        self.feature, self.module, self.extra = feature, module, extra
        super().__init__(
            f"{feature} needs {module}, which is not installed; install the {extra!r} extra: "
            f"pip install 'integration-health-toolkit[{extra}]' (in a clone of the "
            f"repository: .venv/bin/pip install -e '.[{extra}]')"
        )
