"""Analyses of a calls or events frame, live or archived (documented in ``toolkit.frames``).

Each takes the frames of ``frames.calls``/``frames.events``, ``fleet.calls()`` or
``Archive.calls()``/``events()``; a ``worker`` column, when there is one, keeps the
workers apart where a breaker's view differs between them.

Between two calls of one integration (by one worker) its breaker is taken to stay in
the state the first call left it in: an open breaker is open until the call that
finds it half-open (its trial) or closed; the time after an integration's last call
is not observed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit._engine.errors import ConfigError

__all__ = ["availability", "incidents", "reliability"]

AVAILABILITY_COLUMNS = [
    "name", "period", "calls", "ok", "ok_share", "open_s", "observed_s", "open_share",
]  # fmt: skip
INCIDENT_COLUMNS = [
    "name", "start", "end", "duration_s", "ongoing", "cause", "reopens", "skipped", "trials",
    "workers",
]  # fmt: skip
RELIABILITY_COLUMNS = [
    "name", "calls", "ok_share", "incidents", "mttr_s", "mtbf_s", "opens_per_hour",
    "observed_h", "p50_ms", "p95_ms", "p99_ms",
]  # fmt: skip
CAUSES = ("timeout", "error", "by hand", "another worker", "unknown")
"""What opened a breaker, as ``incidents`` tells it."""

_OPEN = ("open", "isolated")
_CALL_NEEDS = ("name", "started_at", "duration_ms", "outcome", "state_before", "state_after")
_EVENT_NEEDS = ("at", "name", "old_state", "new_state")
_SETTLED_S = 0.05
"""A call's end and the opening it caused are this close in time (seconds), at most."""


def _require(frame: pd.DataFrame, needs: tuple[str, ...], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ConfigError(f"{what} must be a DataFrame (frames.{what}(...)), got {frame!r:.80}")
    absent = [c for c in needs if c not in frame.columns]
    if absent:
        raise ConfigError(
            f"{what} needs the columns of frames.{what}; missing: {', '.join(absent)}"
        )


def _seconds(stamps: pd.Series) -> np.ndarray:
    """UTC timestamps as float epoch seconds."""
    values = pd.to_datetime(stamps, utc=True).astype("datetime64[ns, UTC]")
    return values.astype("int64").to_numpy(dtype="float64") / 1e9


def _workers(frame: pd.DataFrame) -> pd.Series:
    if "worker" in frame.columns:
        return frame["worker"].astype("string").fillna("")
    return pd.Series("", index=frame.index, dtype="string")


def _step(freq: str) -> pd.Timedelta:
    try:
        step = pd.Timedelta(freq)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"freq must be a fixed period such as '15min', '1h' or '1D', got {freq!r}"
        ) from exc
    if step <= pd.Timedelta(0):
        raise ConfigError(f"freq must be a positive period, got {freq!r}")
    return step


def _open_timeline(
    start: np.ndarray, end: np.ndarray, before: np.ndarray, after: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breakpoints of one integration's calls (sorted) with the open and observed seconds
    accumulated up to each: during a call the state before it, after it the state after."""
    nxt = np.append(start[1:], end[-1])
    stop = np.minimum(np.maximum(end, start), np.maximum(nxt, start))
    points = np.empty(2 * len(start) + 1)
    points[0] = start[0]
    points[1::2] = stop
    points[2::2] = nxt
    widths = np.diff(points)
    is_open = np.empty(2 * len(start), dtype=bool)
    is_open[0::2] = np.isin(before, _OPEN)
    is_open[1::2] = np.isin(after, _OPEN)
    opened = np.concatenate([[0.0], np.cumsum(np.where(is_open, widths, 0.0))])
    observed = np.concatenate([[0.0], np.cumsum(widths)])
    return points, opened, observed


def availability(calls: pd.DataFrame, freq: str = "1h") -> pd.DataFrame:
    """Per integration and period: calls, ok ones, and the share of time its breaker was open.

    One row per integration and ``freq`` period from the first call to the last (periods
    without calls included): ``calls``, ``ok``, ``ok_share`` (ok / calls, NaN without
    calls), ``open_s`` and ``observed_s`` (seconds the breaker was open or isolated, and
    seconds its state was known, summed over workers), ``open_share`` (their ratio).
    """
    _require(calls, _CALL_NEEDS, "calls")
    step = _step(freq)
    if calls.empty:
        return _typed(pd.DataFrame(columns=AVAILABILITY_COLUMNS), AVAILABILITY_COLUMNS)
    started = pd.to_datetime(calls["started_at"], utc=True).astype("datetime64[ns, UTC]")
    begin = started.min().floor(step)
    finish = (started + pd.to_timedelta(calls["duration_ms"].fillna(0.0), unit="ms")).max()
    edges = pd.date_range(begin, max(finish.ceil(step), begin + step), freq=step)
    periods = edges[:-1]
    names = sorted(calls["name"].dropna().astype(str).unique())
    grid = pd.MultiIndex.from_product([names, periods], names=["name", "period"])
    period = started.dt.floor(step)
    ok = calls["outcome"].astype("string") == "ok"
    counted = (
        pd.DataFrame({"name": calls["name"].astype(str), "period": period, "ok": ok.fillna(False)})
        .groupby(["name", "period"], observed=True)["ok"]
        .agg(["size", "sum"])
    )
    out = pd.DataFrame(index=grid)
    out["calls"] = counted["size"].reindex(grid, fill_value=0).astype("int64")
    out["ok"] = counted["sum"].reindex(grid, fill_value=0).astype("int64")
    edge_s = (edges.asi8 / 1e9).astype("float64")
    open_s = {n: np.zeros(len(periods)) for n in names}
    observed_s = {n: np.zeros(len(periods)) for n in names}
    start_s = _seconds(calls["started_at"])
    end_s = start_s + calls["duration_ms"].fillna(0.0).to_numpy(dtype="float64") / 1000.0
    keys = pd.DataFrame({"w": _workers(calls), "n": calls["name"].astype(str), "s": start_s})
    before = calls["state_before"].astype(str).to_numpy()
    after = calls["state_after"].astype(str).to_numpy()
    groups = keys.groupby(["w", "n"], sort=False).indices
    for key, found in groups.items():
        name = str(key[1])  # type: ignore[index]
        rows = np.asarray(found)[np.argsort(start_s[found], kind="stable")]
        points, opened, observed = _open_timeline(
            start_s[rows], end_s[rows], before[rows], after[rows]
        )
        open_s[name] += np.diff(np.interp(edge_s, points, opened))
        observed_s[name] += np.diff(np.interp(edge_s, points, observed))
    out["open_s"] = np.concatenate([open_s[n] for n in names])
    out["observed_s"] = np.concatenate([observed_s[n] for n in names])
    with np.errstate(invalid="ignore", divide="ignore"):
        out["ok_share"] = out["ok"] / out["calls"].where(out["calls"] > 0)
        out["open_share"] = out["open_s"] / out["observed_s"].where(out["observed_s"] > 0)
    return _typed(out.reset_index(), AVAILABILITY_COLUMNS)


def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns in order, in the dtypes these frames use, even when empty."""
    dtypes: dict[str, str | pd.CategoricalDtype] = {
        "name": "string", "period": "datetime64[ns, UTC]", "start": "datetime64[ns, UTC]",
        "end": "datetime64[ns, UTC]", "calls": "int64", "ok": "int64", "reopens": "int64",
        "skipped": "int64", "trials": "int64", "workers": "int64", "incidents": "int64",
        "ongoing": "bool", "cause": pd.CategoricalDtype(list(CAUSES)),
    }  # fmt: skip
    frame = frame.reindex(columns=columns)
    for column in ("period", "start", "end"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype({c: dtypes.get(c, "float64") for c in columns}).reset_index(drop=True)


@dataclass(slots=True)
class _Span:
    """One breaker's time away from closed, as one worker (or several, merged) saw it."""

    name: str
    start: float
    start_at: pd.Timestamp
    end: float = np.inf  # while ongoing
    end_at: pd.Timestamp | None = None
    reopens: int = 0
    openings: list[tuple[str, float, str, bool | None]] = field(default_factory=list)
    """Each member worker's opening: (worker, when, state opened to, by hand if known)."""


def _episodes(events: pd.DataFrame) -> list[_Span]:
    """Each worker's spans from opening to closing, by name then start."""
    frame = pd.DataFrame(
        {
            "w": _workers(events).to_numpy(),
            "n": events["name"].astype(str).to_numpy(),
            "at": _seconds(events["at"]),
            "stamp": list(pd.to_datetime(events["at"], utc=True)),
            "old": events["old_state"].astype(str).to_numpy(),
            "new": events["new_state"].astype(str).to_numpy(),
            "hand": (
                [None if pd.isna(v) else bool(v) for v in events["by_hand"]]
                if "by_hand" in events.columns
                else [None] * len(events)
            ),
        }
    ).sort_values(["n", "w", "at"], kind="stable")
    spans: list[_Span] = []
    for (name, worker), group in frame.groupby(["n", "w"], sort=False):
        span: _Span | None = None
        rows = zip(
            group["at"], group["stamp"], group["old"], group["new"], group["hand"], strict=True
        )
        for when, stamp, old, new, hand in rows:
            if new in _OPEN and span is None:
                span = _Span(str(name), float(when), pd.Timestamp(stamp))
                span.openings.append((str(worker), float(when), str(new), hand))
            elif new in _OPEN and span is not None and old == "half-open":
                span.reopens += 1
            elif new == "closed" and span is not None:
                span.end, span.end_at = float(when), pd.Timestamp(stamp)
                spans.append(span)
                span = None
        if span is not None:
            spans.append(span)
    spans.sort(key=lambda s: (s.name, s.start))
    return spans


def _merged(spans: list[_Span]) -> list[_Span]:
    """Overlapping spans of one name (several workers' views of one breaker) as one."""
    merged: list[_Span] = []
    for span in spans:
        last = merged[-1] if merged else None
        if last is not None and last.name == span.name and span.start <= last.end:
            if span.end > last.end:
                last.end, last.end_at = span.end, span.end_at
            last.reopens += span.reopens
            last.openings += span.openings
        else:
            merged.append(span)
    return merged


class _CallIndex:
    """A calls frame sorted for the lookups ``incidents`` makes: per integration by start
    (running counts of skipped calls and trials), per integration and worker by end."""

    def __init__(self, calls: pd.DataFrame) -> None:
        start = _seconds(calls["started_at"])
        end = start + calls["duration_ms"].fillna(0.0).to_numpy(dtype="float64") / 1e3
        names = calls["name"].astype(str).to_numpy()
        workers = _workers(calls).to_numpy()
        outcome = calls["outcome"].astype(str).to_numpy()
        before = calls["state_before"].astype(str).to_numpy()
        after = calls["state_after"].astype(str).to_numpy()
        self.last_end = float(end.max()) if len(end) else -np.inf
        self.by_name: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for name in np.unique(names):
            rows = np.flatnonzero(names == name)
            rows = rows[np.argsort(start[rows], kind="stable")]
            skipped = np.concatenate([[0], np.cumsum(outcome[rows] == "circuit_open")])
            trials = np.concatenate([[0], np.cumsum(before[rows] == "half-open")])
            self.by_name[str(name)] = (start[rows], skipped, trials)
        opening = np.isin(after, _OPEN) & ~np.isin(before, _OPEN)
        failed = np.isin(outcome, ("error", "timeout"))
        chosen = np.flatnonzero(opening & failed)  # calls that opened their breaker
        grouped: dict[tuple[str, str], list[int]] = {}
        for row in chosen[np.argsort(end[chosen], kind="stable")]:
            grouped.setdefault((str(names[row]), str(workers[row])), []).append(int(row))
        self.openers = {key: (end[rows], outcome[rows]) for key, rows in grouped.items()}

    def counts(self, name: str, start: float, end: float) -> tuple[int, int]:
        """Skipped calls and trials of ``name`` that started from ``start`` to ``end``."""
        found = self.by_name.get(name)
        if found is None:
            return 0, 0
        starts, skipped, trials = found
        low = int(np.searchsorted(starts, start, side="left"))
        high = int(np.searchsorted(starts, end, side="right"))
        return int(skipped[high] - skipped[low]), int(trials[high] - trials[low])

    def opened_by(self, name: str, worker: str, at: float) -> str | None:
        """The outcome of ``worker``'s failing call of ``name`` that settled at ``at``."""
        found = self.openers.get((name, worker))
        if found is None:
            return None
        ends, outcomes = found
        low, high = np.searchsorted(ends, [at - _SETTLED_S, at + _SETTLED_S])
        if low == high:
            return None
        nearest = low + int(np.argmin(np.abs(ends[low:high] - at)))
        return str(outcomes[nearest])


def _cause(span: _Span, calls: _CallIndex | None) -> str:
    """What opened the breaker: the failing call a member worker saw settle into the
    opening; else a hand, or another worker (a change a call found, not made by hand)."""
    _, _, opened_to, by_hand = span.openings[0]
    if opened_to == "isolated" or by_hand:
        return "by hand"
    if calls is None:
        return "unknown"
    for worker, at, _, _ in span.openings:
        outcome = calls.opened_by(span.name, worker, at)
        if outcome is not None:
            return outcome
    return "another worker" if by_hand is False else "by hand"


def incidents(events: pd.DataFrame, calls: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each episode of an integration's breaker from opening to closing, oldest first.

    ``start``, ``end`` (NaT while ``ongoing``), ``duration_s`` (up to the last event or
    call when ongoing), ``cause`` (one of ``CAUSES``: "timeout" or "error", the
    outcome of the call that opened it, whichever worker's; "by hand" for a trip or
    isolate; "another worker" when a call found it open in a shared storage; an
    opening no call explains is "by hand" unless the events say it was not, as an
    archive's ``by_hand`` column does; "unknown" without ``calls``), ``reopens``
    (failed trials), ``skipped`` (``circuit_open`` answers) and ``trials`` (calls made
    half-open) in the episode,
    and ``workers`` that saw it. Overlapping episodes of several workers are one.
    """
    _require(events, _EVENT_NEEDS, "events")
    if calls is not None:
        _require(calls, _CALL_NEEDS, "calls")
    spans = _merged(_episodes(events))
    if not spans:
        return _typed(pd.DataFrame(columns=INCIDENT_COLUMNS), INCIDENT_COLUMNS)
    index = _CallIndex(calls) if calls is not None else None
    last_seen = float(_seconds(events["at"]).max())
    if index is not None:
        last_seen = max(last_seen, index.last_end)
    rows = []
    for span in spans:
        ongoing = span.end_at is None
        end_s = last_seen if ongoing else span.end
        skipped, trials = (0, 0) if index is None else index.counts(span.name, span.start, end_s)
        rows.append(
            {
                "name": span.name,
                "start": span.start_at,
                "end": pd.NaT if span.end_at is None else span.end_at,
                "duration_s": end_s - span.start,
                "ongoing": ongoing,
                "cause": _cause(span, index),
                "reopens": span.reopens,
                "skipped": skipped,
                "trials": trials,
                "workers": len({opening[0] for opening in span.openings}),
            }
        )
    frame = pd.DataFrame(rows, columns=INCIDENT_COLUMNS).sort_values(["start", "name"])
    return _typed(frame, INCIDENT_COLUMNS)


def reliability(calls: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per integration, least available first: MTTR, MTBF, flapping and latency.

    ``calls`` and ``ok_share``; ``incidents`` (as ``incidents`` counts them);
    ``mttr_s`` (mean duration of the ended ones); ``mtbf_s`` (time not in an incident
    per incident: the mean time between failures); ``opens_per_hour`` (openings,
    trials that failed included, per observed hour: flapping shows here);
    ``observed_h`` (first call to last); ``p50_ms``, ``p95_ms``, ``p99_ms`` over the
    calls that ran (``circuit_open`` answers left out, as in ``frames.latency``).
    """
    _require(calls, _CALL_NEEDS, "calls")
    _require(events, _EVENT_NEEDS, "events")
    found = incidents(events, calls)
    names = sorted(
        set(calls["name"].dropna().astype(str)) | set(events["name"].dropna().astype(str))
    )
    start = _seconds(calls["started_at"])
    end = start + calls["duration_ms"].fillna(0.0).to_numpy(dtype="float64") / 1e3
    name_of = calls["name"].astype(str).to_numpy()
    event_names = events["name"].astype(str).to_numpy()
    opening = events["new_state"].astype(str).isin(_OPEN).to_numpy()
    outcome = calls["outcome"].astype(str).to_numpy()
    ms = calls["duration_ms"].to_numpy(dtype="float64")
    rows = []
    for name in names:
        mine = name_of == name
        count = int(mine.sum())
        span_s = float(end[mine].max() - start[mine].min()) if count else 0.0
        episodes = found[found["name"] == name]
        ended = episodes[~episodes["ongoing"]]
        down_s = float(episodes["duration_s"].sum())
        ran = ms[mine & (outcome != "circuit_open")]
        q = np.quantile(ran, [0.5, 0.95, 0.99]) if ran.size else [np.nan] * 3
        opens = int((opening & (event_names == name)).sum())
        rows.append(
            {
                "name": name,
                "calls": count,
                "ok_share": float((outcome[mine] == "ok").mean()) if count else np.nan,
                "incidents": len(episodes),
                "mttr_s": float(ended["duration_s"].mean()) if len(ended) else np.nan,
                "mtbf_s": max(span_s - down_s, 0.0) / len(episodes) if len(episodes) else np.nan,
                "opens_per_hour": opens / (span_s / 3600.0) if span_s > 0 else np.nan,
                "observed_h": span_s / 3600.0,
                "p50_ms": q[0],
                "p95_ms": q[1],
                "p99_ms": q[2],
            }
        )
    frame = pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)
    frame = frame.sort_values(["ok_share", "name"], na_position="last", kind="stable")
    return _typed(frame, RELIABILITY_COLUMNS)
