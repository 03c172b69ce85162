"""The frames behind ``toolkit.frames`` (documented there), and the dtypes and
latency summary the fleet's frames reuse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from toolkit._engine.history import OUTCOMES, STATES
from toolkit._engine.results import IntegrationResults

if TYPE_CHECKING:
    from toolkit._engine.runner import IntegrationRunner

__all__ = ["breakers", "calls", "events", "latency", "results", "style"]

STATE_DTYPE = pd.CategoricalDtype(list(STATES))
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
_SEVERITY = {"isolated": 0, "open": 1, "half-open": 2, "closed": 3}
LATENCY_COLUMNS = [
    "name", "calls", "ok", "error", "timeout", "circuit_open", "success_rate",
    "p50_ms", "p95_ms", "p99_ms", "max_ms",
]  # fmt: skip


def _utc(epochs: Any) -> pd.Series:
    """Epoch seconds to tz-aware UTC timestamps."""
    stamps = pd.to_datetime(np.asarray(epochs, dtype="float64"), unit="s", utc=True)
    return pd.Series(stamps).astype("datetime64[ns, UTC]")


def _text(values: list[Any]) -> pd.Series:
    """Optional strings as a string column (missing values stay missing)."""
    return pd.Series(values, dtype="string") if values else pd.Series([], dtype="string")


def calls(runner: IntegrationRunner) -> pd.DataFrame:
    """Every recorded call, by start time; built from whole columns, not record by record.

    The history keeps calls in the order they finished; a slow call started before a
    quick one is moved back to where it started.
    """
    c = runner.history.columns()
    frame = pd.DataFrame(
        {
            "run_id": np.asarray(c["run_id"], dtype="int64"),
            "name": _text(c["name"]),
            "started_at": _utc(c["started_at"]),
            "duration_ms": np.asarray(c["duration_s"], dtype="float64") * 1000.0,
            "outcome": pd.Categorical(c["outcome"], dtype=OUTCOME_DTYPE),
            "error": _text(c["error"]),
            "state_before": pd.Categorical(c["state_before"], dtype=STATE_DTYPE),
            "state_after": pd.Categorical(c["state_after"], dtype=STATE_DTYPE),
            "fault": _text(c["fault"]),
            "slow": np.asarray(c["slow"], dtype="bool"),
        }
    )
    started = np.asarray(c["started_at"], dtype="float64")
    if len(started) > 1 and (np.diff(started) < 0).any():
        frame = frame.iloc[np.argsort(started, kind="stable")].reset_index(drop=True)
    return frame


def events(runner: IntegrationRunner) -> pd.DataFrame:
    """Every breaker state change, oldest first."""
    c = runner.events.columns()
    return pd.DataFrame(
        {
            "at": _utc(c["at"]),
            "name": _text(c["name"]),
            "old_state": pd.Categorical(c["old_state"], dtype=STATE_DTYPE),
            "new_state": pd.Categorical(c["new_state"], dtype=STATE_DTYPE),
        }
    )


def breakers(runner: IntegrationRunner) -> pd.DataFrame:
    """One row per integration: its breaker as of now, most severe state first."""
    rows = runner.statuses()
    frame = pd.DataFrame(
        {
            "name": _text([s.name for s in rows]),
            "display_name": _text([s.display_name for s in rows]),
            "state": pd.Categorical([s.state for s in rows], dtype=STATE_DTYPE),
            "failures": np.asarray([s.failures for s in rows], dtype="int64"),
            "fail_max": np.asarray([s.fail_max for s in rows], dtype="int64"),
            "opened_at": pd.Series(
                pd.to_datetime(pd.Series([s.opened_at for s in rows], dtype=object), utc=True),
                dtype="datetime64[ns, UTC]",
            ),
            "trial_in_s": np.asarray(
                [np.nan if s.trial_in_s is None else s.trial_in_s for s in rows], dtype="float64"
            ),
            "timeout_s": np.asarray([s.timeout_s for s in rows], dtype="float64"),
            "reset_timeout_s": np.asarray([s.reset_timeout_s for s in rows], dtype="float64"),
            "in_flight": np.asarray([s.in_flight for s in rows], dtype="bool"),
            "fault": _text([s.fault for s in rows]),
            "last_outcome": pd.Categorical([s.last_outcome for s in rows], dtype=OUTCOME_DTYPE),
            "last_duration_ms": np.asarray(
                [np.nan if s.last_duration_s is None else s.last_duration_s * 1000 for s in rows],
                dtype="float64",
            ),
            "last_error": _text([s.last_error for s in rows]),
            "storage": _text([s.storage for s in rows]),
            "storage_ok": np.asarray([s.storage_ok for s in rows], dtype="bool"),
            "window_failure_rate": np.asarray(
                [s.window_failure_rate for s in rows], dtype="float64"
            ),
            "window_slow_rate": np.asarray([s.window_slow_rate for s in rows], dtype="float64"),
        }
    )
    order = np.argsort([_SEVERITY[s.state] for s in rows], kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def latency(runner: IntegrationRunner) -> pd.DataFrame:
    """Per integration: call counts by outcome, success rate and latency percentiles (ms)."""
    c = runner.history.columns()
    names = pd.Series(c["name"], dtype="string")
    outcome = pd.Categorical(c["outcome"], dtype=OUTCOME_DTYPE)
    ms = pd.Series(np.asarray(c["duration_s"], dtype="float64") * 1000.0)
    known = list(runner.names)
    index = pd.Index(known + sorted(set(names.unique()) - set(known)), dtype="string", name="name")
    return latency_summary(names, outcome, ms, index)


def latency_summary(
    names: pd.Series, outcome: pd.Series | pd.Categorical, ms: pd.Series, index: pd.Index
) -> pd.DataFrame:
    """The ``latency`` frame of calls given as columns: a row per name in ``index``, worst first."""
    counts = pd.crosstab(names, outcome, dropna=False).reindex(
        index=index, columns=list(OUTCOMES), fill_value=0
    )
    ran_mask = np.asarray(outcome != "circuit_open")
    ran = ms[ran_mask].groupby(names[ran_mask])
    quant = ran.quantile(np.array([0.5, 0.95, 0.99])).unstack() if len(ran) else pd.DataFrame()
    out = pd.DataFrame(index=index)
    out["calls"] = counts.sum(axis=1).astype("int64")
    for kind in OUTCOMES:
        out[kind] = counts[kind].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["success_rate"] = (out["ok"] / out["calls"].where(out["calls"] > 0)).astype("float64")
    for q, col in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
        out[col] = quant[q].reindex(index).astype("float64") if q in quant else np.nan
    out["max_ms"] = ran.max().reindex(index).astype("float64") if len(ran) else np.nan
    out = out.reset_index()
    out = out.sort_values(["p95_ms", "name"], ascending=[False, True], na_position="last")
    return out.reset_index(drop=True)[LATENCY_COLUMNS]


def results(results: IntegrationResults | IntegrationRunner) -> pd.DataFrame:
    """One row per section of a run's results, in the run's order.

    Given a runner, its last ``run_all`` (no rows before the first).
    """
    if not isinstance(results, IntegrationResults):
        last = getattr(results, "last_results", None)
        if last is None and not hasattr(results, "last_results"):
            raise TypeError(
                "frames.results() takes the IntegrationResults of a run (or a runner for its"
                f" last run_all), got {type(results).__name__}"
            )
        results = last if last is not None else IntegrationResults()
    sections = results.sections
    return pd.DataFrame(
        {
            "name": _text([s.name for s in sections]),
            "display_name": _text([s.display_name for s in sections]),
            "success": np.asarray([s.success for s in sections], dtype="bool"),
            "error_message": _text([s.error_message for s in sections]),
            "data": pd.Series([s.data for s in sections], dtype="object"),
        }
    )


from toolkit._view.styling import style  # noqa: E402  (re-exported: frames.style(df))
