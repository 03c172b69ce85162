"""Per-integration bookkeeping inside a runner: its slot, its in-flight call, outcomes."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from toolkit._engine.breaker import SafeBreaker
from toolkit._engine.contract import Integration
from toolkit._engine.errors import (
    BadResultError,
    CheckError,
    InjectedFault,
    IntegrationFailure,
    IntegrationTimeoutError,
    ToolkitError,
)
from toolkit._engine.faults import ActiveFault
from toolkit._engine.history import Outcome, State
from toolkit._engine.policy import Policy
from toolkit._engine.redact import redact_data, redact_text, secrets_of
from toolkit._engine.results import IntegrationResult

logger = logging.getLogger("toolkit")


@dataclass(slots=True, eq=False)
class Slot:
    """Everything the runner keeps for one integration."""

    name: str
    display_name: str
    integration: Integration
    breaker: SafeBreaker
    policy: Policy
    fault: ActiveFault | None = None
    flight: Flight | None = None
    known_state: State = "closed"
    last_outcome: Outcome | None = None
    last_duration_s: float | None = None
    last_error: str | None = None
    declares_secrets: bool = False
    abandoned: asyncio.Task[None] | None = None
    """A call that ignored its cancellation and still runs: no other call starts meanwhile."""
    abandoned_run: int = 0

    @property
    def isolated(self) -> bool:
        """Held open until reset; kept by the breaker, so a shared storage shares it."""
        return self.breaker.isolated

    @isolated.setter
    def isolated(self, value: bool) -> None:
        self.breaker.isolated = value


@dataclass(slots=True, eq=False)
class Flight:
    """The one call of an integration in flight; later callers join it."""

    slot: Slot
    run_id: int
    state_before: State
    started_at: float
    t0: float
    deadline: float
    fault_label: str | None
    task: asyncio.Task[None] | None = None
    settled: bool = False
    result: IntegrationResult | None = None
    waiters: int = 1
    watchers: list[Any] = field(default_factory=list)
    served: bool = False
    """Launched inside a storage run that serves its breakers' reads (no batch needed)."""


def classify(name: str, value: object) -> tuple[Outcome, BaseException | None, IntegrationResult]:
    """Turn what ``fetch`` returned into an outcome, the failure to count, and a result.

    A result whose fields cannot be read (``success`` that is not truth-testable, say)
    counts as a bad result, never as a crash of the run.
    """
    try:
        return _classify(name, value)
    except Exception as exc:
        failure = BadResultError(
            f"fetch returned an unusable IntegrationResult ({_error_text(exc)})"
        )
        return "error", failure, IntegrationResult(name, False, None, str(failure))


def _classify(name: str, value: object) -> tuple[Outcome, BaseException | None, IntegrationResult]:
    if isinstance(value, IntegrationResult):
        success = bool(value.success)
        if success is not value.success or not (isinstance(value.name, str) and value.name == name):
            value = IntegrationResult(name, success, value.data, value.error)
        if success:
            return "ok", None, value
        failure: ToolkitError = IntegrationFailure(
            str(value.error or "integration reported failure without an error")
        )
        return "error", failure, IntegrationResult(name, False, value.data, str(failure))
    if inspect.iscoroutine(value):
        value.close()
        failure = BadResultError("fetch returned a coroutine; is an 'await' missing?")
    else:
        failure = BadResultError(
            f"fetch returned {type(value).__name__} instead of an IntegrationResult"
        )
    return "error", failure, IntegrationResult(name, False, None, str(failure))


def describe_error(exc: BaseException, secrets: Iterable[str] = ()) -> str:
    """A one-line text for an exception: our own failures by message, others by type too.

    Credentials are masked here, where error text enters the history: ``secrets`` (what
    the integration declares) and anything that looks like one (URL userinfo, ``token=``).
    """
    return redact_text(_error_text(exc), secrets)


def _error_text(exc: BaseException) -> str:
    if type(exc) in (IntegrationFailure, BadResultError, IntegrationTimeoutError):
        return str(exc)
    if isinstance(exc, CheckError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, InjectedFault):
        return f"injected fault: {exc}"
    try:
        text = str(exc)
    except Exception:
        text = "<exception text could not be read>"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe_failure(slot: Slot, failure: BaseException | None) -> str | None:
    """The failure as text, with the integration's declared secrets masked."""
    if failure is None:
        return None
    try:
        return describe_error(failure, secrets_of(slot.integration))
    except Exception:
        logger.exception("describing the failure of %r failed", slot.name)
        return f"{type(failure).__name__} (its text could not be shown safely)"


def declares_secrets(integration: object) -> bool:
    """Whether the integration has a ``secrets`` member, found without running it."""
    try:
        inspect.getattr_static(integration, "secrets")
    except AttributeError:
        return False
    return True


def masked_result(slot: Slot, result: IntegrationResult) -> IntegrationResult:
    """The result with the integration's declared secrets masked in its data."""
    try:
        secrets = secrets_of(slot.integration)
        if not secrets:
            return result
        return IntegrationResult(
            result.name, result.success, redact_data(result.data, secrets, mask_keys=False),
            result.error,
        )  # fmt: skip
    except Exception:
        logger.exception("masking the data of %r failed; data withheld", slot.name)
        return IntegrationResult(result.name, result.success, None, result.error)
