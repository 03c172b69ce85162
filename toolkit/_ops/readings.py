"""One read of a runner or a ``Fleet``: every breaker, the storage, and the call totals.

Metrics and health read a source through this, so a runner and a fleet are exported
the same way. A runner's totals come from a ``CallTally`` it feeds as calls settle; a
fleet's from the call stream, read from where the previous read stopped (so a fleet
reader counts the calls made after it was created, up to the stream's cap between
two reads), each entry once: a batch a worker sent twice is recognised by its
worker, source and sequence number. While Redis is unreachable a fleet read keeps the
breakers it last saw and says ``storage_ok=False``.

A reading's ``last_*`` fields describe the last call that ran: an open breaker's
refusals do not hide the error that opened it.
"""

from __future__ import annotations

import contextlib
import math
import threading
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

LastCall = tuple[Outcome | None, float | None, str | None, float | None]
"""(outcome, seconds, error, ended at epoch seconds) of the last call that ran."""
_NO_CALL: LastCall = (None, None, None, None)


@dataclass(frozen=True, slots=True)
class Reading:
    """One breaker as exporters see it, with the last call that ran (not a refusal).

    ``window_failure_rate`` and ``window_slow_rate`` are the rate window's (0 to 1),
    NaN below ``min_calls``, for a breaker counting consecutive failures, and for a
    fleet's breakers (the fleet reads no worker's window).
    """

    name: str
    state: State
    failures: int
    fail_max: int | None
    trial_in_s: float | None
    last_outcome: Outcome | None = None
    last_duration_s: float | None = None
    last_error: str | None = None
    last_at: float | None = None
    window_failure_rate: float = math.nan
    window_slow_rate: float = math.nan


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

    def read(self, *, last_calls: bool = False) -> Snapshot:
        """The source as of now; ``last_calls``: with when each last call ended."""
        ...

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of every call counted from now on, as the tally is."""
        ...

    def close(self) -> None:
        """Stop feeding the tally and the sinks."""
        ...


class RunnerReader:
    """A runner: its statuses, and (when counting) a tally it feeds on every call."""

    def __init__(
        self, runner: IntegrationRunner, bounds: Sequence[float] = DEFAULT_BOUNDS,
        *, count_calls: bool = True,
    ) -> None:  # fmt: skip
        self.runner = runner
        self.tally = CallTally(bounds)
        self._sinks: list[CallSink] = []
        if count_calls:
            self.add_sink(self.tally)

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of the runner's calls from now on."""
        self._sinks.append(sink)
        self.runner.add_call_sink(sink)

    def read(self, *, last_calls: bool = False) -> Snapshot:
        """The runner's breakers as of now.

        The last call that ran comes from the status, or from the history when the
        last answer was a refusal (or when ``last_calls`` asks for its end time too).
        """
        statuses = self.runner.statuses()
        if last_calls:
            refused = {s.name for s in statuses}
        else:
            refused = {s.name for s in statuses if s.last_outcome == "circuit_open"}
        ran = self._last_ran(refused) if refused else {}
        readings = []
        for s in statuses:
            if s.name in refused:
                last = ran.get(s.name, _NO_CALL)
            else:
                last = (s.last_outcome, s.last_duration_s, s.last_error, None)
            readings.append(
                Reading(
                    s.name, s.state, s.failures, s.fail_max, s.trial_in_s, *last,
                    window_failure_rate=s.window_failure_rate,
                    window_slow_rate=s.window_slow_rate,
                )
            )  # fmt: skip
        storage = self.runner.storage
        return Snapshot(readings, storage.kind, storage.available, self.tally, time.time())

    def _last_ran(self, names: set[str]) -> dict[str, LastCall]:
        """The last call that ran of each of ``names``, from the history (newest first)."""
        c = self.runner.history.columns()
        found: dict[str, LastCall] = {}
        for i in range(len(c["name"]) - 1, -1, -1):
            name = c["name"][i]
            if name in names and name not in found and c["outcome"][i] != "circuit_open":
                seconds = c["duration_s"][i]
                found[name] = (
                    c["outcome"][i],
                    seconds,
                    c["error"][i],
                    c["started_at"][i] + seconds,
                )
                if len(found) == len(names):
                    break
        return found

    def close(self) -> None:
        """Stop telling the tally and the sinks of this runner's calls."""
        for sink in self._sinks:
            with contextlib.suppress(ValueError):
                self.runner.remove_call_sink(sink)


class FleetReader:
    """A fleet: the breakers in Redis, and a tally fed from the call stream at each read.

    Reads are serialised (a threaded scrape, or two at once, never counts an entry
    twice).
    """

    def __init__(
        self, fleet: Fleet, bounds: Sequence[float] = DEFAULT_BOUNDS, *, count_calls: bool = True
    ) -> None:
        self.fleet = fleet
        self.tally = CallTally(bounds)
        self._sinks: list[CallSink] = [self.tally] if count_calls else []
        self._lock = threading.Lock()
        self._after: str | None = None
        self._readings: list[Reading] = []
        self._last: dict[str, LastCall] = {}
        self._seqs: dict[tuple[str, str], int] = {}
        with self._lock:
            self._start()

    def add_sink(self, sink: CallSink) -> None:
        """Tell ``sink`` of the stream's calls read from now on."""
        self._sinks.append(sink)

    def _start(self) -> None:
        try:
            self._after = self.fleet.newest_entry_id() or "0"
        except StorageError:
            self._after = None

    def read(self, *, last_calls: bool = False) -> Snapshot:
        """The fleet as of now (the last breakers seen while Redis is unreachable)."""
        with self._lock:
            ok = True
            try:
                if self._after is None:
                    self._start()
                if self._after is not None:
                    self._catch_up()
                breakers = self.fleet.statuses(rescan=False)
            except StorageError:
                ok = False
            else:
                self._readings = [
                    Reading(
                        b.name,
                        b.state,
                        b.failures,
                        b.fail_max,
                        b.trial_in_s,
                        *self._last.get(b.name, _NO_CALL),
                    )
                    for b in breakers
                ]
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
        if self._repeated(fields):
            return
        seconds = _number(fields.get("duration_s"))
        for sink in self._sinks:
            sink.add(name, outcome, seconds if seconds is not None else 0.0)
        if outcome != "circuit_open":
            started = _number(fields.get("started_at"))
            ended = None if started is None else started + (seconds or 0.0)
            self._last[name] = (outcome, seconds, fields.get("error"), ended)

    def _repeated(self, fields: dict[str, str]) -> bool:
        """True for an entry a worker sent again: its writer numbers each ``seq`` once,
        in order, so one at or below the highest seen from that writer is a repeat."""
        seq = _number(fields.get("seq"))
        if seq is None:
            return False
        writer = (fields.get("worker", ""), fields.get("source", ""))
        if seq <= self._seqs.get(writer, -1):
            return True
        self._seqs[writer] = int(seq)
        return False

    def close(self) -> None:
        """Nothing to detach: a fleet reader only reads."""


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def reader_for(
    source: object, bounds: Sequence[float] = DEFAULT_BOUNDS, *, count_calls: bool = True
) -> Reader:
    """A reader of ``source``: an ``IntegrationRunner`` or a ``Fleet``; anything else is refused.

    ``count_calls=False`` for a reader that only needs breakers (a health endpoint).
    """
    if isinstance(source, IntegrationRunner):
        return RunnerReader(source, bounds, count_calls=count_calls)
    if isinstance(source, Fleet):
        return FleetReader(source, bounds, count_calls=count_calls)
    raise TypeError(
        f"expected an IntegrationRunner or a Fleet to read, got {type(source).__name__}"
    )
