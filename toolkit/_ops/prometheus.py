"""PrometheusCollector: a runner's or a fleet's breakers for ``prometheus_client``.

A custom collector: nothing is kept per sample, each scrape reads the source once
(``readings``) and yields metric families. ``naming="toolkit"`` follows Prometheus'
conventions; ``naming="resilience4j"`` writes what resilience4j's Micrometer binding
writes, so its published Grafana dashboard works unchanged.

toolkit names (labels ``name`` unless said):

- ``toolkit_breaker_state{name,state}``: 1 for the breaker's state, 0 for the others.
- ``toolkit_calls_seconds{name,outcome}``: histogram of calls that ran (ok, error,
  timeout), from when the collector was created.
- ``toolkit_calls_not_permitted_total``: answers refused by an open breaker.
- ``toolkit_breaker_trial_in_seconds``: seconds until the trial (open breakers only).
- ``toolkit_breaker_failures`` and ``toolkit_breaker_fail_max``: the current count of
  consecutive failures, and the count that opens the breaker.
- ``toolkit_breaker_window_failure_rate`` and ``toolkit_breaker_window_slow_rate``: a
  rate-based breaker's window rates (0 to 1), once ``min_calls`` are recorded.
- ``toolkit_storage_reachable{storage}``: 1 while the breaker storage answers.

resilience4j names: ``resilience4j_circuitbreaker_state{name,state}`` (closed, open,
half_open, forced_open for an isolated breaker, disabled, metrics_only);
``_calls_seconds{name,kind}`` (a histogram; kind successful for ok, failed for error
and timeout) with ``_calls_seconds_max``; ``_not_permitted_calls_total{name,kind}``
and, as the published dashboard queries it, ``_calls_total{name,kind="not_permitted"}``;
``_buffered_calls{name,kind}`` (failed: the consecutive failures counted; successful:
0) and ``_max_buffered_calls`` (``fail_max``); ``_failure_rate`` and
``_slow_call_rate``: a rate-based breaker's window rates in percent, as resilience4j
reports them, and -1, resilience4j's value for "no rate computed", below
``min_calls`` or for a consecutive-count breaker (it keeps no window).

``collect()`` serves any ``CollectorRegistry``; ``render()`` writes the same text
faster, keeping each series' escaped labels between scrapes (``exposition``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, NamedTuple

from toolkit._engine.history import STATES
from toolkit._engine.tally import DEFAULT_BOUNDS, CallTally, OutcomeTotals
from toolkit._ops.extras import missing
from toolkit._ops.readings import Reader, Snapshot, reader_for

try:
    from prometheus_client.core import Metric
    from prometheus_client.registry import Collector
    from prometheus_client.utils import floatToGoString

    from toolkit._ops.exposition import Family, Histogram, TextRenderer, to_metric
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise missing("toolkit.metrics", exc) from exc

Naming = Literal["toolkit", "resilience4j"]
RESILIENCE4J_STATES = ("closed", "open", "half_open", "forced_open", "disabled", "metrics_only")
_R4J_STATE = {
    "closed": "closed",
    "open": "open",
    "half-open": "half_open",
    "isolated": "forced_open",
}
_RAN = ("ok", "error", "timeout")
_R4J_KINDS = (("successful", ("ok",)), ("failed", ("error", "timeout")))
R4J = "resilience4j_circuitbreaker_"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


class _R4JKeys(NamedTuple):
    """One breaker's resilience4j label tuples and constant rows, made once."""

    states: dict[str, list[tuple[tuple[str, str], int]]]
    not_permitted: tuple[str, str]
    failed: tuple[str, str]
    successful_row: tuple[tuple[str, str], int]
    name: tuple[str]
    unknown_rate_row: tuple[tuple[str], int]


class PrometheusCollector(Collector):
    """Exports ``source`` (an ``IntegrationRunner`` or a ``Fleet``) at each scrape.

    Register it in a ``prometheus_client.CollectorRegistry``. Call counts start when
    the collector is created; a runner then queues each call for it (about 0.1 µs).
    ``buckets`` are the histogram's bounds in seconds; ``labels`` are put on every
    series (``{"application": "shop"}``, as Micrometer's common tags).
    """

    def __init__(
        self,
        source: object,
        naming: Naming = "toolkit",
        *,
        buckets: Sequence[float] = DEFAULT_BOUNDS,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        if naming not in ("toolkit", "resilience4j"):
            raise ValueError(f"naming must be 'toolkit' or 'resilience4j', got {naming!r}")
        self._const = _const_labels(labels)
        self.naming: Naming = naming
        self._reader: Reader = reader_for(source, buckets)
        self._les = [floatToGoString(b) for b in self._reader.tally.bounds] + ["+Inf"]
        self._renderer = TextRenderer(self._les)
        self._series: dict[str, _R4JKeys] = {}

    @property
    def tally(self) -> CallTally:
        """The running call totals this collector exports."""
        return self._reader.tally

    @property
    def reader(self) -> Reader:
        """How the collector reads its source (shared by a server's health routes)."""
        return self._reader

    def families(self) -> list[Family]:
        """One read of the source, as metric families."""
        snapshot = self._reader.read()
        with snapshot.tally.reading():
            families = (
                self._toolkit(snapshot)
                if self.naming == "toolkit"
                else self._resilience4j(snapshot)
            )
        if self._const:
            for family in families:
                family.const = self._const
        return families

    def collect(self) -> Iterable[Metric]:
        """The metric families of one read of the source (prometheus_client's API)."""
        return [to_metric(f, self._les) for f in self.families()]

    def describe(self) -> Iterable[Metric]:
        """The families' names without reading the source (checked at registration)."""
        empty = self._toolkit(None) if self.naming == "toolkit" else self._resilience4j(None)
        for family in empty:
            family.const = self._const
        return [to_metric(f, self._les) for f in empty]

    def render(self) -> str:
        """One scrape in the Prometheus text format, as ``generate_latest`` writes it."""
        return self._renderer.render(self.families())

    def close(self) -> None:
        """Stop counting the source's calls (unregister the collector as well)."""
        self._reader.close()

    # ------------------------------------------------------------- toolkit
    def _toolkit(self, snap: Snapshot | None) -> list[Family]:
        state = Family(
            "toolkit_breaker_state", "gauge", "1 for the breaker's current state, else 0",
            ("name", "state"),
        )  # fmt: skip
        calls = Family(
            "toolkit_calls_seconds", "histogram", "Calls that ran, by outcome, in seconds",
            ("name", "outcome"),
        )  # fmt: skip
        refused = Family(
            "toolkit_calls_not_permitted", "counter", "Answers refused by an open breaker",
            ("name",),
        )  # fmt: skip
        trial = Family(
            "toolkit_breaker_trial_in_seconds", "gauge",
            "Seconds until an open breaker's trial call", ("name",),
        )  # fmt: skip
        failures = Family(
            "toolkit_breaker_failures", "gauge", "Consecutive failures counted", ("name",)
        )
        fail_max = Family(
            "toolkit_breaker_fail_max", "gauge", "Consecutive failures that open the breaker",
            ("name",),
        )  # fmt: skip
        storage = Family(
            "toolkit_storage_reachable", "gauge", "1 while the breaker storage answers",
            ("storage",),
        )  # fmt: skip
        window_failures = Family(
            "toolkit_breaker_window_failure_rate", "gauge",
            "Failures / recorded calls in a rate-based breaker's window", ("name",),
        )  # fmt: skip
        window_slow = Family(
            "toolkit_breaker_window_slow_rate", "gauge",
            "Slow / recorded calls in a rate-based breaker's window", ("name",),
        )  # fmt: skip
        families = [
            state, calls, refused, trial, failures, fail_max, storage, window_failures,
            window_slow,
        ]  # fmt: skip
        if snap is None:
            return families
        tally = snap.tally
        for r in snap.readings:
            key = (r.name,)
            for s in STATES:
                state.add((r.name, s), 1 if r.state == s else 0)
            refused.add(key, tally.count(r.name, "circuit_open"))
            if r.state == "open" and r.trial_in_s is not None:
                trial.add(key, r.trial_in_s)
            failures.add(key, r.failures)
            if r.fail_max is not None:
                fail_max.add(key, r.fail_max)
            if r.window_failure_rate == r.window_failure_rate:  # not NaN
                window_failures.add(key, r.window_failure_rate)
                window_slow.add(key, r.window_slow_rate)
        for name in tally.names():
            for outcome, totals in tally.totals(name):
                if outcome in _RAN:
                    calls.add_histogram(
                        Histogram((name, outcome), totals.cumulative(), totals.count, totals.sum_s)
                    )
        storage.add((snap.storage,), 1 if snap.storage_ok else 0)
        return families

    # --------------------------------------------------------- resilience4j
    def _resilience4j(self, snap: Snapshot | None) -> list[Family]:
        nk = ("name", "kind")
        state = Family(
            R4J + "state", "gauge", "The states of the circuit breaker", ("name", "state")
        )
        calls = Family(
            R4J + "calls_seconds", "histogram", "Total number of calls which succeeded or failed",
            nk,
        )  # fmt: skip
        calls_max = Family(
            R4J + "calls_seconds_max", "gauge", "The longest call of the last minute or two", nk
        )
        not_permitted = Family(
            R4J + "not_permitted_calls", "counter", "Total number of not permitted calls", nk
        )
        calls_total = Family(R4J + "calls", "counter", "Total number of not permitted calls", nk)
        buffered = Family(R4J + "buffered_calls", "gauge", "The number of buffered calls", nk)
        max_buffered = Family(
            R4J + "max_buffered_calls", "gauge", "The maximum number of buffered calls", ("name",)
        )
        failure_rate = Family(
            R4J + "failure_rate", "gauge", "The failure rate of the circuit breaker", ("name",)
        )
        slow_rate = Family(
            R4J + "slow_call_rate", "gauge", "The slow call rate of the circuit breaker", ("name",)
        )
        families = [
            state, calls, calls_max, not_permitted, calls_total, buffered, max_buffered,
            failure_rate, slow_rate,
        ]  # fmt: skip
        if snap is None:
            return families
        tally = snap.tally
        add_states, add_np = state.samples.extend, not_permitted.samples.append
        add_calls, add_buffered = calls_total.samples.append, buffered.samples.append
        add_max, add_fr, add_sr = (
            max_buffered.samples.append,
            failure_rate.samples.append,
            slow_rate.samples.append,
        )
        counted = tally.count
        for r in snap.readings:
            keys = self._keys(r.name)
            add_states(keys.states[_R4J_STATE.get(r.state, "closed")])
            refused = counted(r.name, "circuit_open")
            add_np((keys.not_permitted, refused))
            add_calls((keys.not_permitted, refused))
            add_buffered((keys.failed, r.failures))
            add_buffered(keys.successful_row)
            if r.fail_max is not None:
                add_max((keys.name, r.fail_max))
            if r.window_failure_rate == r.window_failure_rate:  # not NaN: a rate was computed
                add_fr((keys.name, r.window_failure_rate * 100.0))
                add_sr((keys.name, r.window_slow_rate * 100.0))
            else:
                add_fr(keys.unknown_rate_row)
                add_sr(keys.unknown_rate_row)
        for name in tally.names():
            by = dict(tally.totals(name))
            for kind, outcomes in _R4J_KINDS:
                parts = [by[o] for o in outcomes if o in by]
                if parts:
                    count = sum(p.count for p in parts)
                    total_s = sum(p.sum_s for p in parts)
                    calls.add_histogram(
                        Histogram((name, kind), self._summed(parts), count, total_s)
                    )
                    calls_max.add((name, kind), max(p.recent_max for p in parts))
        return families

    def _keys(self, name: str) -> _R4JKeys:
        keys = self._series.get(name)
        if keys is None:
            if len(self._series) > 100_000:
                self._series.clear()
            series = [(name, s) for s in RESILIENCE4J_STATES]
            states = {
                shown: [(key, 1 if key[1] == shown else 0) for key in series]
                for shown in RESILIENCE4J_STATES
            }
            keys = self._series[name] = _R4JKeys(
                states, (name, "not_permitted"), (name, "failed"),
                ((name, "successful"), 0), (name,), ((name,), -1),
            )  # fmt: skip
        return keys

    @staticmethod
    def _summed(parts: Sequence[OutcomeTotals]) -> list[int]:
        """Cumulative bucket counts of one or more outcomes' totals, added up."""
        if len(parts) == 1:
            return parts[0].cumulative()
        return [sum(column) for column in zip(*(p.cumulative() for p in parts), strict=True)]


def _const_labels(labels: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """Constant labels, checked: Prometheus label names, text values, none of ours."""
    if not labels:
        return ()
    reserved = {"name", "state", "outcome", "kind", "storage", "le"}
    checked = []
    for key, value in labels.items():
        if not isinstance(key, str) or not _LABEL_NAME.fullmatch(key) or key.startswith("__"):
            raise ValueError(
                f"labels: {key!r} is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)"
            )
        if key in reserved:
            raise ValueError(f"labels: {key!r} is a label the collector sets itself")
        if not isinstance(value, str):
            raise ValueError(
                f"labels: the value of {key!r} must be text, got {type(value).__name__}"
            )
        checked.append((key, value))
    return tuple(sorted(checked))
