"""What an engineer does to a runner's breakers by hand, and what they read back.

Mixed into ``IntegrationRunner``: trip, reset, expire, isolate, faults, live
policy changes and status snapshots. Each control takes effect at once and is
visible in ``events`` and in ``status()``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any, Self

import pybreaker

from toolkit._engine import breaker as _breaker
from toolkit._engine.attachment import RunnerAttachment
from toolkit._engine.context import current_runner
from toolkit._engine.contract import Integration
from toolkit._engine.errors import ConfigError, UnknownIntegrationError
from toolkit._engine.faults import ActiveFault, Fault
from toolkit._engine.history import CallHistory, EventLog
from toolkit._engine.policy import Policy
from toolkit._engine.recorder import RunnerRecorder
from toolkit._engine.slot import Slot
from toolkit._engine.status import BreakerStatus
from toolkit._engine.storage import BreakerStorage
from toolkit._engine.sync import SyncBridge

logger = logging.getLogger("toolkit")


class RunnerControls(RunnerRecorder):
    """Breaker controls, faults, policies and status for ``IntegrationRunner``."""

    _slots: dict[str, Slot]
    _default: Policy
    _overrides: dict[str, dict[str, Any]]
    _control_version: int
    _bridge: SyncBridge
    history: CallHistory
    events: EventLog
    storage: BreakerStorage
    archive: RunnerAttachment | None

    # ------------------------------------------------------------ lookups
    def _slot(self, name: str) -> Slot:
        try:
            return self._slots[name]
        except (KeyError, TypeError):
            raise UnknownIntegrationError(name, self._slots) from None

    @property
    def names(self) -> list[str]:
        """The configured integrations' names, in registry order."""
        return list(self._slots)

    @property
    def integrations(self) -> dict[str, Integration]:
        """The configured integration instances by name."""
        return {name: slot.integration for name, slot in self._slots.items()}

    def breaker(self, name: str) -> pybreaker.CircuitBreaker:
        """The ``pybreaker.CircuitBreaker`` of integration ``name`` (owned by this runner)."""
        return self._slot(name).breaker

    def in_flight(self, name: str) -> bool:
        """True while a call of ``name`` is running."""
        return self._slot(name).flight is not None

    @property
    def version(self) -> int:
        """Grows whenever a call, an event or a control changes what a display would show."""
        return self.history.version + self.events.version + self._control_version

    # ----------------------------------------------------------- breakers
    def trip(self, name: str) -> None:
        """Open the breaker now; after ``reset_timeout`` one trial call decides as usual.

        An isolated breaker stays isolated: only ``reset`` ends an isolation.
        """
        slot = self._slot(name)
        if slot.isolated:
            logger.info("breaker %r is isolated; trip() leaves it held open", name)
            return
        slot.breaker.open()
        self._changed(slot)

    def reset(self, name: str) -> None:
        """Close the breaker and clear its failure count (ends an isolation too)."""
        slot = self._slot(name)
        slot.isolated = False
        slot.breaker.close()
        self._changed(slot)

    def reset_all(self) -> None:
        """``reset`` every breaker."""
        for name in self._slots:
            self.reset(name)

    def expire(self, name: str) -> None:
        """End an open breaker's wait now: the next call is its trial. No effect otherwise.

        An isolated breaker stays isolated: only ``reset`` ends an isolation.
        """
        slot = self._slot(name)
        if slot.isolated:
            logger.info("breaker %r is isolated; expire() leaves it held open", name)
            return
        _breaker.expire(slot.breaker)
        self._changed(slot)

    def isolate(self, name: str) -> None:
        """Hold the breaker open with no trial call until ``reset`` (an API under maintenance)."""
        slot = self._slot(name)
        slot.isolated = True
        slot.breaker.open()
        self._changed(slot)

    def _changed(self, slot: Slot) -> None:
        _breaker.note_state(slot.breaker, _breaker.storage_state(slot.breaker))
        self._observe(slot, self._state_of(slot), by_hand=True)
        self._control_version += 1

    # --------------------------------------------------------------- faults
    def inject(self, name: str, fault: Fault) -> None:
        """Wrap every later call of ``name`` in ``fault`` (replacing any earlier one)."""
        slot = self._slot(name)
        if not isinstance(fault, Fault):
            raise ConfigError(
                f"inject() needs a toolkit.Fault such as Fault.fail('boom'), got {fault!r}"
            )
        slot.fault = ActiveFault(fault)
        self._control_version += 1

    def clear_faults(self, name: str | None = None) -> None:
        """Remove the fault of ``name``, or of every integration when ``name`` is None."""
        slots = self._slots.values() if name is None else [self._slot(name)]
        for slot in slots:
            slot.fault = None
        self._control_version += 1

    def fault(self, name: str) -> Fault | None:
        """The fault injected into ``name``, if any."""
        active = self._slot(name).fault
        return active.fault if active else None

    # ------------------------------------------------------------- policies
    def policy(self, name: str) -> Policy:
        """The policy in force for integration ``name``."""
        return self._slot(name).policy

    @property
    def default_policy(self) -> Policy:
        """The policy of integrations without overrides."""
        return self._default

    def set_policy(self, name: str | None = None, **changes: Any) -> Policy:
        """Change any ``Policy`` setting at once, live (``window``, ``failure_rate``, ...).

        With ``name`` the change overrides that integration only; without, it changes
        the default for every integration that has not overridden the same setting.
        """
        if name is None:
            default = self._default.updated(**changes)
            for slot in self._slots.values():  # refuse what a storage cannot serve first
                overrides = self._overrides.get(slot.name, {})
                _breaker.check_policy(slot.breaker, default.updated(**overrides))
            self._default = default
        else:
            slot = self._slot(name)
            merged = {**self._overrides.get(name, {}), **changes}
            # refuse bad keys and values before storing
            _breaker.check_policy(slot.breaker, self._default.updated(**merged))
            self._overrides[name] = merged
            self._apply_policy(slot)
            return slot.policy
        for slot in self._slots.values():
            self._apply_policy(slot)
        return self._default

    def _policy_for(self, name: str) -> Policy:
        return self._default.updated(**self._overrides.get(name, {}))

    def _apply_policy(self, slot: Slot) -> None:
        slot.policy = self._policy_for(slot.name)
        _breaker.apply_policy(slot.breaker, slot.policy)
        self._control_version += 1

    # --------------------------------------------------------------- status
    def status(self, name: str) -> BreakerStatus:
        """A snapshot of one breaker, with the seconds until its trial computed now."""
        return self._status(self._slot(name), datetime.now(UTC))

    def statuses(self) -> list[BreakerStatus]:
        """Snapshots of every breaker, in registry order."""
        now = datetime.now(UTC)
        return [self._status(slot, now) for slot in self._slots.values()]

    def _status(self, slot: Slot, now: datetime) -> BreakerStatus:
        cb = slot.breaker
        with _breaker.batch(cb):
            state = self._state_of(slot)
            opened_at = cb._state_storage.opened_at if state in ("open", "isolated") else None
            trial = _breaker.trial_in(cb, now) if state == "open" else None
            failures = cb.fail_counter
            failure_rate, slow_rate = _breaker.window_rates(cb, now.timestamp())
        return BreakerStatus(
            name=slot.name,
            display_name=slot.display_name,
            state=state,
            failures=failures,
            fail_max=slot.policy.fail_max,
            opened_at=opened_at,
            trial_in_s=trial,
            timeout_s=slot.policy.timeout,
            reset_timeout_s=slot.policy.reset_timeout,
            in_flight=slot.flight is not None,
            fault=slot.fault.fault.label if slot.fault else None,
            last_outcome=slot.last_outcome,
            last_duration_s=slot.last_duration_s,
            last_error=slot.last_error,
            taken_at=now,
            storage=self.storage.kind,
            storage_ok=self.storage.available,
            window_failure_rate=failure_rate,
            window_slow_rate=slow_rate,
        )

    # ------------------------------------------------------------ lifecycle
    async def aclose(self) -> None:
        """Close what the integrations hold open (their optional ``aclose()``: HTTP clients),
        and let a shared storage send what it still holds of this runner."""
        token = current_runner.set(self)  # a resource kept per runner closes this runner's
        try:
            for slot in list(self._slots.values()):
                closer = getattr(slot.integration, "aclose", None)
                if not callable(closer):
                    continue
                try:
                    await closer()
                except Exception:
                    logger.exception("closing integration %r failed; ignored", slot.name)
        finally:
            current_runner.reset(token)
        if getattr(self.storage, "detach", None) is not None or self.archive is not None:
            await asyncio.to_thread(self._detach_storage)

    def _detach_storage(self) -> None:
        detach = getattr(self.storage, "detach", None)
        if detach is not None:  # a shared storage sends what it still holds of this runner
            try:
                detach(self)
            except Exception:
                logger.exception("detaching from %r failed; ignored", self.storage)
        if self.archive is not None:  # the archive writes out what it holds of this runner
            try:
                self.archive.detach(self)
            except Exception:
                logger.exception("detaching from %r failed; ignored", self.archive)

    def close(self) -> None:
        """``aclose()`` the integrations, then release the private loop of the ``*_sync`` methods.

        From async code use ``await runner.aclose()`` (or ``async with runner``) instead.
        """
        if any(callable(getattr(s.integration, "aclose", None)) for s in self._slots.values()):
            self._bridge.run(self.aclose())
        else:
            self._detach_storage()
        self._bridge.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        states = [self._state_of(s) for s in self._slots.values()]
        summary = ", ".join(
            f"{states.count(s)} {s}"
            for s in ("closed", "half-open", "open", "isolated")
            if s in states
        )
        count = len(self._slots)
        return f"<IntegrationRunner {count} integrations ({summary or 'none'}), {self._default!r}>"
