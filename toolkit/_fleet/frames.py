"""The fleet as pandas DataFrames, in the dtypes and column order of ``toolkit.frames``.

``breakers(statuses)`` one row per breaker in Redis, most severe state first:
    name, state, failures, fail_max, opened_at, trial_in_s, reset_timeout_s,
    timeout_s, worker. ``fail_max``, ``timeout_s`` and ``worker`` come from the
    policy a toolkit worker published (missing for plain pybreaker workers);
    ``opened_at`` is whole seconds, as pybreaker stores it.
``calls(entries)`` one row per call-stream entry, oldest first: ``worker`` then the
    columns of ``frames.calls``. A record sent twice (after a lost reply) is kept once
    (the same worker, source and seq).
``latency(calls, names)`` the columns of ``frames.latency``, over every worker's calls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from toolkit._fleet.status import FleetBreaker
from toolkit._view.frames import OUTCOME_DTYPE, STATE_DTYPE, latency_summary

_SEVERITY = {"isolated": 0, "open": 1, "half-open": 2, "closed": 3}
CALL_COLUMNS = [
    "worker", "run_id", "name", "started_at", "duration_ms", "outcome", "error",
    "state_before", "state_after", "fault", "slow",
]  # fmt: skip


def _utc(epochs: Sequence[float | None]) -> pd.Series:
    values = np.asarray([np.nan if e is None else e for e in epochs], dtype="float64")
    return pd.Series(pd.to_datetime(values, unit="s", utc=True)).astype("datetime64[ns, UTC]")


def _floats(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else v for v in values], dtype="float64")


def breakers(statuses: Sequence[FleetBreaker]) -> pd.DataFrame:
    """One row per breaker, most severe state first, then by name."""
    rows = sorted(statuses, key=lambda s: (_SEVERITY.get(s.state, 4), s.name))
    return pd.DataFrame(
        {
            "name": pd.Series([s.name for s in rows], dtype="string"),
            "state": pd.Categorical([s.state for s in rows], dtype=STATE_DTYPE),
            "failures": np.asarray([s.failures for s in rows], dtype="int64"),
            "fail_max": pd.array([s.fail_max for s in rows], dtype="Int64"),
            "opened_at": _utc([s.opened_at for s in rows]),
            "trial_in_s": _floats([s.trial_in_s for s in rows]),
            "reset_timeout_s": _floats([s.reset_timeout_s for s in rows]),
            "timeout_s": _floats([s.timeout_s for s in rows]),
            "worker": pd.Series([s.worker for s in rows], dtype="string"),
        }
    )


def _number(text: str | None) -> float:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return math.nan
    return value


def calls(entries: Sequence[tuple[str, dict[str, str]]]) -> pd.DataFrame:
    """Stream entries as call rows, oldest first; repeats of one ``(worker, source, seq)``
    dropped."""
    seen: set[tuple[str | None, str | None, str | None]] = set()
    kept: list[dict[str, str]] = []
    for _, fields in entries:
        ident = (fields.get("worker"), fields.get("source"), fields.get("seq"))
        if ident[2] is not None and ident in seen:
            continue
        seen.add(ident)
        kept.append(fields)

    def column(field: str) -> list[str | None]:
        return [f.get(field) for f in kept]

    run_ids = [_number(v) for v in column("run_id")]
    return pd.DataFrame(
        {
            "worker": pd.Series(column("worker"), dtype="string"),
            "run_id": np.asarray([0 if math.isnan(v) else v for v in run_ids], dtype="int64"),
            "name": pd.Series(column("name"), dtype="string"),
            "started_at": _utc([_number(v) for v in column("started_at")]),
            "duration_ms": np.asarray([_number(v) for v in column("duration_s")]) * 1000.0,
            "outcome": pd.Categorical(column("outcome"), dtype=OUTCOME_DTYPE),
            "error": pd.Series(column("error"), dtype="string"),
            "state_before": pd.Categorical(column("state_before"), dtype=STATE_DTYPE),
            "state_after": pd.Categorical(column("state_after"), dtype=STATE_DTYPE),
            "fault": pd.Series(column("fault"), dtype="string"),
            "slow": np.asarray([v == "1" for v in column("slow")], dtype="bool"),
        },
        columns=CALL_COLUMNS,
    )


def latency(calls: pd.DataFrame, names: Sequence[str] = ()) -> pd.DataFrame:
    """Per integration: counts by outcome, success rate and latency percentiles (ms).

    As in ``frames.latency``: ``success_rate`` is ok / calls (skipped calls count),
    percentiles cover the calls that ran. ``names`` lists integrations to show even
    without calls; worst p95 first, no calls last.
    """
    name = calls["name"].astype("string")
    outcome = calls["outcome"]
    ms = calls["duration_ms"].astype("float64")
    index = pd.Index(sorted(set(names) | set(name.dropna().unique())), dtype="string", name="name")
    return latency_summary(name, outcome, ms, index)
