"""``instrument(source)``: a runner's or a fleet's breakers as OpenTelemetry instruments.

Through ``opentelemetry-api`` only: the service's SDK (or none) decides where they
go. Observable instruments read the source when the SDK collects; call durations
are kept in a bounded buffer as calls settle (a list append each) and recorded into
the ``toolkit.call.duration`` histogram at collection, so the call path never pays
for OpenTelemetry's own recording.

Instruments (attribute ``name`` unless said): ``toolkit.breaker.state`` (gauge, 1 or 0,
with ``state``), ``toolkit.breaker.failures``, ``toolkit.breaker.trial_in`` (s, open
breakers), ``toolkit.breaker.window.failure_rate`` and
``toolkit.breaker.window.slow_rate`` (0 to 1, rate-based breakers once ``min_calls``
are recorded), ``toolkit.storage.reachable`` (with ``storage``), ``toolkit.calls``
(counter, with ``outcome``, refused answers included as ``circuit_open``) and
``toolkit.call.duration`` (histogram, s, calls that ran, with ``outcome``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable

from toolkit._engine.history import STATES, Outcome
from toolkit._ops.extras import missing
from toolkit._ops.readings import Reader, Snapshot, reader_for

try:
    from opentelemetry import metrics as otel_metrics
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing("toolkit.metrics.instrument", exc) from exc

PENDING_MAX = 100_000
"""Call durations kept between two collections; older ones are dropped (and counted)."""
SNAPSHOT_TTL_S = 0.25
"""One collection reads the source once, however many instruments observe it."""


class PendingCalls:
    """Durations of calls since the last collection, bounded."""

    def __init__(self, maxlen: int = PENDING_MAX) -> None:
        self.calls: deque[tuple[str, Outcome, float]] = deque(maxlen=maxlen)
        self.dropped = 0

    def add(self, name: str, outcome: Outcome, duration_s: float) -> None:
        """Keep one call (the oldest kept is dropped when full)."""
        if len(self.calls) == self.calls.maxlen:
            self.dropped += 1
        self.calls.append((name, outcome, duration_s))


class Instruments:
    """The instruments ``instrument`` registered; ``close()`` stops them reporting."""

    _made = 0

    def __init__(self, reader: Reader, provider: MeterProvider) -> None:
        self._reader = reader
        self._pending = PendingCalls()
        reader.add_sink(self._pending)
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._taken = 0.0
        self.closed = False
        # A meter of its own (the scope's attributes tell instances apart): the SDK hands
        # an existing meter's instruments back to a second caller, whose callbacks then
        # never run.
        Instruments._made += 1
        meter = provider.get_meter("toolkit", attributes={"toolkit.instruments": Instruments._made})
        self.duration = meter.create_histogram(
            "toolkit.call.duration", unit="s", description="Calls that ran, by outcome"
        )
        meter.create_observable_gauge(
            "toolkit.breaker.state", [self._states], unit="1",
            description="1 for the breaker's current state, else 0",
        )  # fmt: skip
        meter.create_observable_gauge(
            "toolkit.breaker.failures", [self._failures], unit="1",
            description="Consecutive failures counted",
        )  # fmt: skip
        meter.create_observable_gauge(
            "toolkit.breaker.trial_in", [self._trials], unit="s",
            description="Seconds until an open breaker's trial call",
        )  # fmt: skip
        meter.create_observable_gauge(
            "toolkit.breaker.window.failure_rate", [self._failure_rates], unit="1",
            description="Failures / recorded calls in a rate-based breaker's window",
        )  # fmt: skip
        meter.create_observable_gauge(
            "toolkit.breaker.window.slow_rate", [self._slow_rates], unit="1",
            description="Slow / recorded calls in a rate-based breaker's window",
        )  # fmt: skip
        meter.create_observable_gauge(
            "toolkit.storage.reachable", [self._storage], unit="1",
            description="1 while the breaker storage answers",
        )  # fmt: skip
        meter.create_observable_counter(
            "toolkit.calls", [self._calls], unit="1",
            description="Calls by outcome, refused answers (circuit_open) included",
        )  # fmt: skip

    def _read(self) -> Snapshot | None:
        if self.closed:
            return None
        with self._lock:
            now = time.monotonic()
            if self._snapshot is None or now - self._taken > SNAPSHOT_TTL_S:
                self._drain()
                self._snapshot, self._taken = self._reader.read(), now
            return self._snapshot

    def _drain(self) -> None:
        """Record the buffered call durations into the histogram (during a collection)."""
        calls, record = self._pending.calls, self.duration.record
        while calls:
            name, outcome, seconds = calls.popleft()
            if outcome != "circuit_open":
                record(seconds, {"name": name, "outcome": outcome})

    def _states(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        return [
            Observation(1 if r.state == s else 0, {"name": r.name, "state": s})
            for r in snap.readings
            for s in STATES
        ]

    def _failures(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        return (
            []
            if snap is None
            else [Observation(r.failures, {"name": r.name}) for r in snap.readings]
        )

    def _trials(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        return [
            Observation(r.trial_in_s, {"name": r.name})
            for r in snap.readings
            if r.state == "open" and r.trial_in_s is not None
        ]

    def _failure_rates(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        return [
            Observation(r.window_failure_rate, {"name": r.name})
            for r in snap.readings
            if r.window_failure_rate == r.window_failure_rate  # NaN: no rate yet
        ]

    def _slow_rates(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        return [
            Observation(r.window_slow_rate, {"name": r.name})
            for r in snap.readings
            if r.window_slow_rate == r.window_slow_rate
        ]

    def _storage(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        return [Observation(1 if snap.storage_ok else 0, {"storage": snap.storage})]

    def _calls(self, options: CallbackOptions) -> Iterable[Observation]:
        snap = self._read()
        if snap is None:
            return []
        with snap.tally.reading() as tally:
            return [
                Observation(totals.count, {"name": name, "outcome": outcome})
                for name in tally.names()
                for outcome, totals in tally.totals(name)
            ]

    def close(self) -> None:
        """Stop counting the source's calls; the instruments then report nothing."""
        self.closed = True
        self._reader.close()


def instrument(source: object, meter_provider: MeterProvider | None = None) -> Instruments:
    """Report ``source`` (an ``IntegrationRunner`` or a ``Fleet``) through OpenTelemetry.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics``).
    """
    provider = meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()
    return Instruments(reader_for(source), provider)
