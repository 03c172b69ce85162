"""One read of a runner or a ``Fleet``: every breaker, the storage, and the call totals.

Metrics and health read a source through this, so a runner and a fleet are exported
the same way. A runner's totals come from a ``CallTally`` it feeds as calls settle; a
fleet's from the call stream, read from where the previous read stopped (so a fleet
reader counts the calls made after it was created, up to the stream's cap between
two reads). While Redis is unreachable a fleet read keeps the breakers it last saw
and says ``storage_ok=False``.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from toolkit._engine.errors import StorageError
from toolkit._engine.history import OUTCOMES, Outcome, State
from toolkit._engine.runner import IntegrationRunner
from toolkit._engine.tally import DEFAULT_BOUNDS, CallSink, CallTally
from toolkit._fleet.control import Fleet

STREAM_BATCH = 10_000
"""Stream entries read per request while a fleet reader catches up."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One breaker as exporters see it."""

    name: str
    state: State
    failures: int
    fail_max: int | None
    trial_in_s: float | None
    last_outcome: Outcome | None = None
    last_duration_s: float | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every breaker of a source at one moment, its storage, and its running call totals."""

    readings: Sequence[Reading]
    storage: str
    storage_ok: bool
    tally: CallTally
    taken_at: float


class Reader(Protocol):
    """Reads a source; never raises because the source's storage is away."""

    tally: CallTally

    def read(self) -> Snapshot:
        """The source as of now."""
        ...

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of every call counted from now on, as the tally is."""
        ...

    def close(self) -> None:
        """Stop feeding the tally."""
        ...


class RunnerReader:
    """A runner: its statuses, and a tally it feeds on every call from now on."""

    def __init__(self, runner: IntegrationRunner, bounds: Sequence[float] = DEFAULT_BOUNDS) -> None:
        self.runner = runner
        self.tally = CallTally(bounds)
        self._sinks: list[CallSink] = [self.tally]
        runner.add_call_sink(self.tally)

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of the runner's calls from now on."""
        self._sinks.append(sink)
        self.runner.add_call_sink(sink)

    def read(self) -> Snapshot:
        """The runner's breakers as of now."""
        statuses = self.runner.statuses()
        readings = [
            Reading(
                s.name,
                s.state,
                s.failures,
                s.fail_max,
                s.trial_in_s,
                s.last_outcome,
                s.last_duration_s,
                s.last_error,
            )
            for s in statuses
        ]
        storage = self.runner.storage
        self.tally.rotate()
        return Snapshot(readings, storage.kind, storage.available, self.tally, time.time())

    def close(self) -> None:
        """Stop counting this runner's calls."""
        for sink in self._sinks:
            with contextlib.suppress(ValueError):
                self.runner.remove_call_sink(sink)


class FleetReader:
    """A fleet: the breakers in Redis, and a tally fed from the call stream at each read."""

    def __init__(self, fleet: Fleet, bounds: Sequence[float] = DEFAULT_BOUNDS) -> None:
        self.fleet = fleet
        self.tally = CallTally(bounds)
        self._sinks: list[CallSink] = [self.tally]
        self._after: str | None = None
        self._started = False
        self._readings: list[Reading] = []
        self._last: dict[str, tuple[Outcome, float | None, str | None]] = {}
        self._start()

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of the stream's calls read from now on."""
        self._sinks.append(sink)

    def _start(self) -> None:
        try:
            self._after = self.fleet.newest_entry_id() or "0"
            self._started = True
        except StorageError:
            self._started = False

    def read(self) -> Snapshot:
        """The fleet as of now (the last breakers seen while Redis is unreachable)."""
        ok = True
        try:
            if not self._started:
                self._start()
            if self._started:
                self._catch_up()
            breakers = self.fleet.statuses(rescan=False)
        except StorageError:
            ok = False
        else:
            self._readings = [
                Reading(
                    b.name, b.state, b.failures, b.fail_max, b.trial_in_s, *self._last_of(b.name)
                )
                for b in breakers
            ]
        self.tally.rotate()
        return Snapshot(self._readings, "redis", ok, self.tally, time.time())

    def _catch_up(self) -> None:
        while self._after is not None:
            entries = self.fleet.entries_after(self._after, STREAM_BATCH)
            for entry_id, fields in entries:
                self._count(fields)
                self._after = entry_id
            if len(entries) < STREAM_BATCH:
                return

    def _count(self, fields: dict[str, str]) -> None:
        name, outcome = fields.get("name"), fields.get("outcome")
        if not name or outcome not in OUTCOMES:
            return
        seconds = _seconds(fields.get("duration_s"))
        for sink in self._sinks:
            sink.add(name, outcome, seconds if seconds is not None else 0.0)
        self._last[name] = (outcome, seconds, fields.get("error"))

    def _last_of(self, name: str) -> tuple[Outcome | None, float | None, str | None]:
        return self._last.get(name, (None, None, None))

    def close(self) -> None:
        """Nothing to detach: a fleet reader only reads."""


def _seconds(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def reader_for(source: object, bounds: Sequence[float] = DEFAULT_BOUNDS) -> Reader:
    """A reader of ``source``: an ``IntegrationRunner`` or a ``Fleet``; anything else is refused."""
    if isinstance(source, IntegrationRunner):
        return RunnerReader(source, bounds)
    if isinstance(source, Fleet):
        return FleetReader(source, bounds)
    raise TypeError(
        f"expected an IntegrationRunner or a Fleet to read, got {type(source).__name__}"
    )
