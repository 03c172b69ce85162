"""IntegrationRunner: every configured integration in parallel, each behind its own breaker.

Per call: ``admit`` (breaker.py) decides synchronously whether ``fetch`` may run;
an open breaker answers at once with outcome ``circuit_open``. Otherwise one task
runs ``fetch`` under ``asyncio.timeout``, and ``settle`` counts the outcome. At
most one call per integration is in flight: a second caller joins it.

A task that swallows its cancellation cannot hold a run: waiters give it
``grace`` seconds past its timeout, then count a timeout and abandon it (it is
logged and left to finish on its own; its late outcome is ignored). Until it
ends, ``fetch`` is not called again: each call is answered at once as a
``timeout`` that counts against the breaker, which so opens after ``fail_max``
(at most one ``fetch`` per integration runs, abandoned or not).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections.abc import Mapping
from typing import Any

from toolkit._engine import breaker as _breaker
from toolkit._engine.attachment import RunnerAttachment
from toolkit._engine.context import current_runner
from toolkit._engine.contract import display_name_of
from toolkit._engine.controls import RunnerControls
from toolkit._engine.errors import ConfigError, IntegrationTimeoutError, UnknownIntegrationError
from toolkit._engine.history import DEFAULT_MAXLEN, CallHistory, EventLog, Outcome, State
from toolkit._engine.policy import Policy
from toolkit._engine.recorder import EventObserver, Observer, RecordSink
from toolkit._engine.registry import IntegrationRegistry
from toolkit._engine.results import IntegrationResult, IntegrationResults, IntegrationSection
from toolkit._engine.slot import (
    Flight,
    Slot,
    classify,
    declares_secrets,
    describe_failure,
    masked_result,
)
from toolkit._engine.storage import BreakerStorage, MemoryStorage, StorageRun, begin_run
from toolkit._engine.sync import LoopGuard, SyncBridge
from toolkit._engine.tally import CallSink

logger = logging.getLogger("toolkit")

_perf = time.perf_counter
_now = time.time
_SERVED = contextlib.nullcontext()
"""A step's batch inside a storage run that serves the breakers' reads: nothing to do."""


class IntegrationRunner(RunnerControls):
    """Runs a registry's configured integrations, each behind its own circuit breaker.

    The configured integrations are built once, here; each gets a pybreaker breaker
    (``breaker(name)``) and the policy given for it, else the defaults below.

    Args:
        registry: the integrations; only those whose ``is_configured()`` is true run.
        settings: passed to each registered class as ``cls(settings)``.
        timeout: seconds one ``fetch`` may take; past it the call is a ``timeout``.
        fail_max: consecutive failures that open a breaker.
        reset_timeout: seconds an open breaker waits before its one trial call.
        slow_after: seconds after which a successful call is flagged ``slow``
            (None: never).
        policies: per integration name, overrides of the settings above or of any other
            ``Policy`` field (rate-based breakers: ``window``, ``failure_rate``, ...), e.g.
            ``{"payments": {"timeout": 2.0, "window": 20}}``.
        history_size: calls and breaker events kept (the oldest are dropped).
        grace: seconds past the timeout given to a call that ignores cancellation,
            before it is abandoned and counted as a timeout.
        storage: where breaker state lives; ``MemoryStorage()`` by default,
            ``RedisStorage`` to share it across a fleet.
        archive: where calls and breaker events are kept beyond ``history_size``
            (``toolkit.Archive(path)``: Parquet, written from a background thread);
            attached here, flushed and detached by ``close()``.

    Raises:
        ConfigError: a setting or policy value that cannot be used, saying which.
        UnknownIntegrationError: a policy given for a name no integration has (only
            a warning when some registered class gets its name in ``__init__``).
    """

    def __init__(
        self,
        registry: IntegrationRegistry,
        settings: Mapping[str, Any] | Any | None = None,
        *,
        timeout: float = 30.0,
        fail_max: int = 3,
        reset_timeout: float = 60.0,
        slow_after: float | None = None,
        policies: Mapping[str, Mapping[str, Any]] | None = None,
        history_size: int = DEFAULT_MAXLEN,
        grace: float = 0.25,
        storage: BreakerStorage | None = None,
        archive: RunnerAttachment | None = None,
    ) -> None:
        self._default = Policy(timeout, fail_max, reset_timeout, slow_after)
        if isinstance(grace, bool) or not isinstance(grace, int | float) or not 0 <= grace < 60:
            raise ConfigError(f"grace must be a number of seconds from 0 to 60, got {grace!r}")
        self.grace = float(grace)
        self.storage: BreakerStorage = storage if storage is not None else MemoryStorage()
        self.history = CallHistory(history_size)
        self.events = EventLog(history_size)
        self.last_results: IntegrationResults | None = None
        self._overrides: dict[str, dict[str, Any]] = {}
        for name, changes in (policies or {}).items():
            self._default.updated(**changes)  # refuse bad keys and values here
            self._overrides[name] = dict(changes)
        self._slots: dict[str, Slot] = {}
        for integration in registry.get_configured(settings):
            try:  # a name or display_name that raises takes down that integration alone
                name, shown = integration.name, display_name_of(integration)
            except Exception as exc:
                logger.warning(
                    "integration %s skipped: reading its name or display_name raised %r",
                    type(integration).__qualname__, exc,
                )  # fmt: skip
                continue
            policy = self._policy_for(name)
            breaker = _breaker.make_breaker(name, policy, self.storage.state_storage(name))
            slot = Slot(name, shown, integration, breaker, policy)
            slot.declares_secrets = declares_secrets(integration)
            slot.known_state = _breaker.storage_state(breaker)
            self._slots[name] = slot
        _check_policy_names(self._overrides, self._slots, registry)
        self._runs = itertools.count(1)
        self._observers: list[Observer] = []
        self._record_sinks: list[RecordSink] = []
        self._failed_observers: set[int] = set()
        self._sinks: list[CallSink] = []
        self._event_observers: list[EventObserver] = []
        self._abandoned: set[asyncio.Task[None]] = set()
        self._bridge = SyncBridge()
        self._loops = LoopGuard()
        self._control_version = 0
        attach = getattr(self.storage, "attach", None)
        if attach is not None:  # a shared storage may stream this runner's calls
            attach(self)
        self.archive = archive
        if archive is not None:  # it observes calls and events until close()
            archive.attach(self)

    # ----------------------------------------------------------------- running
    async def run_all(self) -> IntegrationResults:
        """Run every integration once, in parallel; never raises because of one.

        Raises:
            ConcurrentRunError: this runner's calls are running on another event loop
                (another thread's); ``run_all_sync()`` from several threads takes turns.
        """
        with self._loops.entered():
            return await self._run_all()

    async def _run_all(self) -> IntegrationResults:
        run_id = next(self._runs)
        loop = asyncio.get_running_loop()
        slots = list(self._slots.values())
        run = self._storage_run(slots)
        served = getattr(run, "serves", False) is True
        async with run:  # one read before, one write after
            token = current_runner.set(self)  # the calls' tasks inherit it
            try:
                items = [self._start(slot, run_id, loop, served) for slot in slots]
            finally:
                current_runner.reset(token)
            await self._await([i for i in items if isinstance(i, Flight)])
        results = IntegrationResults(
            [_section(slot, item) for slot, item in zip(slots, items, strict=True)]
        )
        self.last_results = results
        return results

    async def run_one(self, name: str) -> IntegrationResult:
        """Run integration ``name`` once (or join its call in flight) and return its result."""
        slot = self._slot(name)
        with self._loops.entered():
            return await self._run_one(slot)

    async def _run_one(self, slot: Slot) -> IntegrationResult:
        run = self._storage_run([slot])
        served = getattr(run, "serves", False) is True
        async with run:
            token = current_runner.set(self)
            try:
                item = self._start(slot, next(self._runs), asyncio.get_running_loop(), served)
            finally:
                current_runner.reset(token)
            if isinstance(item, Flight):
                await self._await([item])
        return _result_of(item) if isinstance(item, Flight) else item

    def run_all_sync(self) -> IntegrationResults:
        """``run_all`` from plain code or a notebook cell."""
        return self._bridge.run(self.run_all())

    def run_one_sync(self, name: str) -> IntegrationResult:
        """``run_one`` from plain code or a notebook cell."""
        self._slot(name)
        return self._bridge.run(self.run_one(name))

    def _storage_run(self, slots: list[Slot]) -> StorageRun:
        """The storage's I/O for one run over ``slots`` (see ``_engine/storage.py``)."""
        calls = [(slot.breaker, slot.policy.timeout + self.grace) for slot in slots]
        return begin_run(self.storage, calls)

    def _start(
        self, slot: Slot, run_id: int, loop: asyncio.AbstractEventLoop, served: bool = False
    ) -> Flight | IntegrationResult:
        """Join the call in flight, answer for an open breaker, or launch a new call
        (``served``: inside a storage run that serves the breaker's reads)."""
        flight = slot.flight
        if flight is not None:
            flight.waiters += 1
            return flight
        t0, now = _perf(), _now()
        with _SERVED if served else _breaker.batch(slot.breaker):
            admitted = "isolated" if slot.isolated else _breaker.admit(slot.breaker, now)
        if isinstance(admitted, float) or admitted in ("isolated", _breaker.TRIAL_ELSEWHERE):
            return self._refuse(slot, run_id, t0, now, admitted)
        before: State = admitted  # type: ignore[assignment]  # refusals answered above
        if before != slot.known_state:
            self._observe(slot, before)
        if slot.abandoned is not None and _alive(slot.abandoned):
            return self._still_running(slot, run_id, before, t0, now, loop)
        active = slot.fault
        flight = Flight(
            slot, run_id, before, now, t0, loop.time() + slot.policy.timeout + self.grace,
            active.fault.label if active else None,
        )  # fmt: skip
        flight.served = served
        slot.flight = flight
        self._control_version += 1  # a display shows "running" without waiting for the end
        flight.task = loop.create_task(self._fly(flight), name=f"toolkit:{slot.name}")
        return flight

    def _still_running(
        self, slot: Slot, run_id: int, before: State, t0: float, now: float,
        loop: asyncio.AbstractEventLoop,
    ) -> IntegrationResult:  # fmt: skip
        """Answer while an abandoned call of ``slot`` still runs: a timeout, ``fetch`` not called.

        It counts as a failure, so the breaker opens after ``fail_max`` of them rather
        than a second ``fetch`` piling onto a service that does not answer.
        """
        flight = Flight(slot, run_id, before, now, t0, loop.time(), None)
        failure = IntegrationTimeoutError(
            f"not called: its call abandoned in run {slot.abandoned_run} (it ignored "
            "cancellation) still runs; one call at a time"
        )
        self._finish(flight, "timeout", failure, None)
        assert flight.result is not None
        return flight.result

    def _refuse(
        self, slot: Slot, run_id: int, t0: float, now: float, refusal: float | str
    ) -> IntegrationResult:
        """Answer for a breaker that refuses calls: ``fetch`` is not called."""
        state: State
        if isinstance(refusal, float):
            state, error = "open", f"circuit open: trial in {refusal:.1f}s"
        elif refusal == _breaker.TRIAL_ELSEWHERE:
            state, error = "open", "circuit open: another worker is making the trial call"
        else:
            state, error = "isolated", "circuit isolated: held open until reset"
        if state != slot.known_state:
            self._observe(slot, state)
        fault = slot.fault.fault.label if slot.fault else None
        self._record(slot, run_id, now, _perf() - t0, "circuit_open", error, state, state, fault)
        return IntegrationResult(slot.name, False, None, error)

    async def _fly(self, flight: Flight) -> None:
        """Call ``fetch`` once under the timeout and settle the outcome, whatever happens."""
        slot = flight.slot
        timeout = slot.policy.timeout
        active = slot.fault
        # The timeout counts from the launch, as the flight's abandon deadline and the
        # recorded duration do: with grace=0 it fires no later than the runner gives up.
        cm = asyncio.timeout_at(flight.deadline - self.grace)
        try:
            try:
                async with cm:
                    fetch = slot.integration.fetch
                    value = await (active.call(fetch) if active else fetch())
            except asyncio.CancelledError as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    self._drop(flight)
                    raise  # the run was cancelled: no integration failed
                self._finish(flight, "error", exc, None)
            except BaseException as exc:
                if cm.expired():  # our timeout, possibly turned into another error by fetch
                    self._finish(flight, "timeout", _timed_out(timeout), None)
                elif isinstance(exc, TimeoutError):  # fetch's own timeout (a check's read timeout)
                    self._finish(flight, "timeout", exc, None)
                else:
                    self._finish(flight, "error", exc, None)
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
            else:
                if cm.expired():  # fetch swallowed its cancellation, then returned anyway
                    self._finish(flight, "timeout", _timed_out(timeout), None)
                else:
                    outcome, failure, result = classify(slot.name, value)
                    self._finish(flight, outcome, failure, result)
        finally:
            if not flight.settled:
                logger.error("call of %r ended without an outcome; counted as an error", slot.name)
                self._finish(flight, "error", RuntimeError("call ended without an outcome"), None)

    def _finish(
        self,
        flight: Flight,
        outcome: Outcome,
        failure: BaseException | None,
        result: IntegrationResult | None,
    ) -> None:
        """Count the call once against its breaker, record it, and hand out its result."""
        if flight.settled:
            return
        duration = _perf() - flight.t0
        flight.settled = True
        slot = flight.slot
        if slot.flight is flight:
            slot.flight = None
        error = describe_failure(slot, failure)
        try:
            after: State
            with _SERVED if flight.served else _breaker.batch(slot.breaker):
                if slot.isolated:  # isolated by hand meanwhile: it stays so, uncounted
                    after = "isolated"
                else:
                    end = flight.started_at + duration
                    after = _breaker.settle(slot.breaker, failure, end, duration)
            slow = (
                outcome == "ok"
                and slot.policy.slow_after is not None
                and duration > slot.policy.slow_after
            )
            self._record(
                slot, flight.run_id, flight.started_at, duration, outcome, error,
                flight.state_before, after, flight.fault_label, slow,
            )  # fmt: skip
            self._observe(slot, after)
        except Exception:
            logger.exception("recording the call of %r failed", slot.name)
        if result is None or failure is not None:
            result = IntegrationResult(slot.name, False, None, error)
        elif slot.declares_secrets:
            result = masked_result(slot, result)
        flight.result = result
        for waiter in flight.watchers:
            waiter.settled()

    async def _await(self, flights: list[Flight]) -> None:
        """Wait for ``flights``; abandon any still running ``grace`` seconds past its timeout.

        One future per wait, resolved by the last flight to settle, rather than a
        callback on every task: the wait costs the same for one call or ten thousand.
        """
        pending = [f for f in flights if not f.settled]
        if not pending:
            for flight in flights:
                flight.waiters -= 1
            return
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop, len(pending))
        for flight in pending:
            flight.watchers.append(waiter)
        try:
            while waiter.remaining:
                unsettled = [f.deadline for f in pending if not f.settled]
                if not unsettled:
                    break
                delay = min(unsettled) - loop.time()
                if delay > 0:
                    await asyncio.wait((waiter.future,), timeout=delay)
                # One more turn of the loop before giving up on anyone: a call whose own
                # timeout fired in this same tick (or whose loop was paused) settles now.
                await asyncio.sleep(0)
                now = loop.time()
                for flight in pending:
                    if not flight.settled and flight.deadline <= now:
                        self._abandon(flight)
        except asyncio.CancelledError:
            for flight in flights:
                self._leave(flight)
            raise
        finally:
            for flight in pending:
                flight.watchers.remove(waiter)
        for flight in flights:
            flight.waiters -= 1

    def _abandon(self, flight: Flight) -> None:
        """Count a timeout for a call that ignored its cancellation, and stop waiting for it."""
        slot, task = flight.slot, flight.task
        logger.warning(
            "integration %r ignored cancellation %.2gs after its %gs timeout; abandoned",
            slot.name, self.grace, slot.policy.timeout,
        )  # fmt: skip
        if task is not None and not task.done():
            self._abandoned.add(task)
            slot.abandoned, slot.abandoned_run = task, flight.run_id
            task.add_done_callback(functools.partial(self._abandoned_ended, slot))
        failure = IntegrationTimeoutError(
            f"timed out after {slot.policy.timeout:g}s and ignored cancellation; abandoned"
        )
        self._finish(flight, "timeout", failure, None)

    def _abandoned_ended(self, slot: Slot, task: asyncio.Task[None]) -> None:
        """An abandoned call ended at last: the integration may be called again."""
        self._abandoned.discard(task)
        if slot.abandoned is task:
            slot.abandoned = None
            self._control_version += 1

    def _leave(self, flight: Flight) -> None:
        """A waiter was cancelled; cancel the call when nobody else waits for it."""
        flight.waiters -= 1
        if flight.waiters > 0 or flight.settled:
            return
        self._drop(flight)
        if flight.task is not None:
            flight.task.cancel()

    def _drop(self, flight: Flight) -> None:
        """End a cancelled call without counting it: cancelling is no integration's failure."""
        if flight.settled:
            return
        flight.settled = True
        if flight.slot.flight is flight:
            flight.slot.flight = None
        for waiter in flight.watchers:
            waiter.settled()
        logger.debug("call of %r cancelled", flight.slot.name)


class _Waiter:
    """Counts down the flights one wait is waiting for; its future resolves at zero."""

    __slots__ = ("future", "remaining")

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.remaining = count

    def settled(self) -> None:
        """One flight settled."""
        self.remaining -= 1
        if self.remaining <= 0 and not self.future.done():
            self.future.set_result(None)


def _check_policy_names(
    overrides: Mapping[str, Any], slots: Mapping[str, Slot], registry: IntegrationRegistry
) -> None:
    """Refuse a policy override for a name no integration has (a typo would pass silently).

    Names of unconfigured integrations are fine. When some registered class only gets
    its name in ``__init__``, an unknown name can only be warned about.
    """
    known = set(slots) | set(registry.names())
    unknown = sorted(set(overrides) - known)
    if not unknown:
        return
    if len(registry.names()) == len(registry):
        raise UnknownIntegrationError(unknown[0], known)
    logger.warning("policy override(s) for unknown integration(s) ignored: %s", ", ".join(unknown))


def _alive(task: asyncio.Task[None]) -> bool:
    """True while a task can still run (not done, and its loop not closed)."""
    return not task.done() and not task.get_loop().is_closed()


def _timed_out(timeout: float) -> IntegrationTimeoutError:
    return IntegrationTimeoutError(f"timed out after {timeout:g}s")


def _result_of(flight: Flight) -> IntegrationResult:
    """The flight's result (a cancelled call has none)."""
    if flight.result is not None:
        return flight.result
    return IntegrationResult(flight.slot.name, False, None, "call was cancelled")


def _section(slot: Slot, item: Flight | IntegrationResult) -> IntegrationSection:
    """One integration's part of a run's results."""
    result = _result_of(item) if isinstance(item, Flight) else item
    return IntegrationSection(
        slot.name, slot.display_name, result.success, result.data, result.error
    )
