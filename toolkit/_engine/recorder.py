"""Recording a runner's calls and breaker state changes, and telling its observers.

Mixed into ``IntegrationRunner`` (through ``RunnerControls``): every call becomes a
history record, every change of a breaker's state an event and a log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from toolkit._engine import breaker as _breaker
from toolkit._engine.history import (
    BreakerEvent,
    CallHistory,
    CallRecord,
    EventLog,
    Outcome,
    State,
)
from toolkit._engine.slot import Slot
from toolkit._engine.tally import CallSink

logger = logging.getLogger("toolkit")

Observer = Callable[[CallRecord], None]
CallFields = tuple[int, str, float, float, Outcome, str | None, State, State, str | None, bool]
"""A call's ``CallRecord`` fields in their order, ``started_at`` in epoch seconds."""
RecordSink = Callable[[CallFields], None]
"""Told of every call as its fields: an observer that needs no ``CallRecord`` built."""
EventObserver = Callable[[BreakerEvent, bool], None]
"""Told of each breaker state change, and whether it was made by hand (trip, reset...)."""
_now = time.time


class RunnerRecorder:
    """History, events and observers of a runner."""

    history: CallHistory
    events: EventLog
    _observers: list[Observer]
    _record_sinks: list[RecordSink]
    _failed_observers: set[int]
    _sinks: list[CallSink]
    _event_observers: list[EventObserver]

    def _record(
        self, slot: Slot, run_id: int, started_at: float, duration: float, outcome: Outcome,
        error: str | None, before: State, after: State, fault: str | None, slow: bool = False,
    ) -> None:  # fmt: skip
        self.history.append(
            run_id, slot.name, started_at, duration, outcome, error, before, after, fault, slow
        )
        slot.last_outcome, slot.last_duration_s, slot.last_error = outcome, duration, error
        for sink in self._sinks:
            try:
                sink.add(slot.name, outcome, duration)
            except Exception:
                self._observer_failed(sink)
        if self._record_sinks:
            fields = (
                run_id, slot.name, started_at, duration, outcome, error, before, after, fault,
                slow,
            )  # fmt: skip
            for record_sink in list(self._record_sinks):
                try:
                    record_sink(fields)
                except Exception:
                    self._observer_failed(record_sink)
        if self._observers:
            record = CallRecord(
                run_id, slot.name, datetime.fromtimestamp(started_at, UTC), duration, outcome,
                error, before, after, fault, slow,
            )  # fmt: skip
            for observer in list(self._observers):
                try:
                    observer(record)
                except Exception:
                    self._observer_failed(observer)

    def _observe(self, slot: Slot, state: State, by_hand: bool = False) -> None:
        """Note the breaker's state; a change becomes an event and a log line.

        A breaker opening by itself logs one WARNING and closing logs INFO; changes
        made by hand (trip, reset, isolate) log at INFO.
        """
        old = slot.known_state
        if state == old:
            return
        slot.known_state = state
        at = _now()
        self.events.append(at, slot.name, old, state)
        if self._event_observers:
            event = BreakerEvent(datetime.fromtimestamp(at, UTC), slot.name, old, state)
            for event_observer in list(self._event_observers):
                try:
                    event_observer(event, by_hand)
                except Exception:
                    self._observer_failed(event_observer)
        if by_hand:
            self._hand_changes()[slot.name] = at
            logger.info("circuit breaker %r set by hand: %s -> %s", slot.name, old, state)
        elif state == "open":
            logger.warning(
                "circuit breaker %r opened (%s -> open): calls skipped for %gs",
                slot.name, old, slot.policy.reset_timeout,
            )  # fmt: skip
        elif state == "closed":
            logger.info("circuit breaker %r closed (%s -> closed)", slot.name, old)
        else:
            logger.debug("circuit breaker %r %s -> %s", slot.name, old, state)

    def _hand_changes(self) -> dict[str, float]:
        changes: dict[str, float] | None = self.__dict__.get("_by_hand")
        if changes is None:
            changes = self.__dict__["_by_hand"] = {}
        return changes

    def changed_by_hand(self, name: str) -> float | None:
        """When ``name``'s breaker last changed state by trip, reset or isolate (epoch s).

        None when it never did here: a dashboard tells "tripped by hand" from "opened
        by its calls" or "opened by another worker" with it.
        """
        return self._hand_changes().get(name)

    def _state_of(self, slot: Slot) -> State:
        return "isolated" if slot.isolated else _breaker.storage_state(slot.breaker)

    def _observer_failed(self, observer: object) -> None:
        """Log an observer's exception: its first with the traceback, later ones briefly."""
        key = id(observer)
        if key in self._failed_observers:
            logger.debug("observer %r raised again; ignored", observer, exc_info=True)
            return
        self._failed_observers.add(key)
        logger.exception("observer %r raised; ignored (further errors logged at DEBUG)", observer)

    def add_observer(self, observer: Observer) -> None:
        """Call ``observer(record)`` after every call; what it raises is logged, not raised."""
        self._observers.append(observer)

    def remove_observer(self, observer: Observer) -> None:
        """Stop calling ``observer``."""
        self._observers.remove(observer)

    def add_record_sink(self, sink: RecordSink) -> None:
        """Call ``sink(fields)`` after every call with its ``CallFields``: an observer that
        costs the call no record (the fleet's call stream packs the fields elsewhere);
        what it raises is logged, not raised."""
        self._record_sinks.append(sink)

    def remove_record_sink(self, sink: RecordSink) -> None:
        """Stop telling ``sink``."""
        self._record_sinks.remove(sink)

    def add_event_observer(self, observer: EventObserver) -> None:
        """Call ``observer(event, by_hand)`` after every breaker state change (``by_hand``: a
        trip, reset, isolate or expire, not a call); what it raises is logged."""
        self._event_observers.append(observer)

    def remove_event_observer(self, observer: EventObserver) -> None:
        """Stop calling ``observer``."""
        self._event_observers.remove(observer)

    def add_call_sink(self, sink: CallSink) -> None:
        """Call ``sink.add(name, outcome, duration_s)`` after every call (a ``CallTally``).

        Cheaper than an observer (no record is built), for exporters that keep totals;
        what it raises is logged, not raised.
        """
        self._sinks.append(sink)

    def remove_call_sink(self, sink: CallSink) -> None:
        """Stop telling ``sink``."""
        self._sinks.remove(sink)
