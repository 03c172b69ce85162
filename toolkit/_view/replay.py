"""``toolkit.replay``: what other breaker policies would have done to a recorded history.

``replay(calls, policies)`` replays each integration's recorded calls under each
policy (the rules in ``toolkit/_engine/replay.py``, which also says how outcomes the
history does not hold are assumed) and returns one row per (policy, integration):

    policy, name, calls, reached, failed_reaching, skipped, skipped_known_ok,
    assumed, opens, open_s, time_to_open_s

``reached``: calls whose ``fetch`` would have been called; ``failed_reaching``: the
reached calls that failed (load the failing service still received); ``skipped``:
calls the breaker would have answered itself; ``skipped_known_ok``: skipped calls
recorded as ``ok`` (good calls lost); ``assumed``: reached calls whose outcome the
history does not hold (counted, never shown as observed); ``opens``: openings;
``open_s``: seconds spent open, from each opening to the trial it let through (or
to the integration's last recorded call); ``time_to_open_s``: the median, over
openings, of the seconds from the first failure (or slow call, for a window with
``slow_after``) of the streak that led to it to the opening (NaN without openings).

``per_call=True`` returns one row per call and policy instead, each policy's block
in the order of ``frames.calls``:

    policy, name, started_at, duration_ms, recorded_outcome, outcome, decision,
    assumed, state_before, state_after, recorded_state_before, recorded_state_after

``outcome`` is what the replayed call ended in (``circuit_open`` when skipped),
``decision`` is ``call`` or ``skip``, ``duration_ms`` the replayed duration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit._engine import replay as core
from toolkit._engine.errors import ConfigError
from toolkit._engine.history import OUTCOMES
from toolkit._engine.policy import Policy
from toolkit._view.frames import OUTCOME_DTYPE, STATE_DTYPE

__all__ = ["replay"]

SUMMARY_COLUMNS = [
    "policy", "name", "calls", "reached", "failed_reaching", "skipped", "skipped_known_ok",
    "assumed", "opens", "open_s", "time_to_open_s",
]  # fmt: skip
PER_CALL_COLUMNS = [
    "policy", "name", "started_at", "duration_ms", "recorded_outcome", "outcome", "decision",
    "assumed", "state_before", "state_after", "recorded_state_before", "recorded_state_after",
]  # fmt: skip
DECISION_DTYPE = pd.CategoricalDtype(["call", "skip"])
_NEEDED = ("name", "started_at", "duration_ms", "outcome")


@dataclass(slots=True)
class _Calls:
    """The recorded calls as exact columns, sorted by start time."""

    names: np.ndarray
    starts: np.ndarray
    durations: np.ndarray
    codes: np.ndarray
    errors: list[Any]
    states_before: Any
    states_after: Any


def replay(
    calls: pd.DataFrame | Any,
    policies: Policy | Sequence[Policy] | Mapping[str, Policy],
    *,
    per_call: bool = False,
) -> pd.DataFrame:
    """Replay recorded calls under each policy; one row per (policy, integration).

    Args:
        calls: a calls frame (``frames.calls(runner)``, ``fleet.calls()``, or any frame
            with columns name, started_at, duration_ms, outcome; error is used when
            present), or a runner (its history, to the exact float).
        policies: one ``Policy``, a list (labelled by what each does), or a mapping of
            label to ``Policy``.
        per_call: one row per call and policy instead, with the replayed decision and
            the breaker's state before and after.

    Raises:
        ConfigError: no policies, something that is not a Policy, or a frame missing
            columns or holding an unknown outcome.
    """
    labelled = _labelled(policies)
    recorded = _columns(calls)
    groups = _histories(recorded)
    if per_call:
        return _per_call(recorded, groups, labelled)
    return _summary(recorded, groups, labelled)


# ------------------------------------------------------------------ inputs
def describe(policy: Policy) -> str:
    """A short label saying what opens the breaker: "3 in a row", "50% of 20 calls"."""
    if policy.window is not None:
        text = f"{policy.failure_rate:.0%} of {policy.window} calls"
    elif policy.window_s is not None:
        text = f"{policy.failure_rate:.0%} in {policy.window_s:g}s"
    else:
        text = f"{policy.fail_max} in a row"
    text += f", wait {policy.reset_timeout:g}s"
    if policy.backoff != 1.0:
        text += f" x{policy.backoff:g}"
    if policy.half_open_calls != 1:
        text += f", {policy.half_open_calls} trials"
    return text


def _labelled(policies: object) -> list[tuple[str, Policy]]:
    if isinstance(policies, Policy):
        items: list[tuple[str, Any]] = [(describe(policies), policies)]
    elif isinstance(policies, Mapping):
        items = [(str(label), p) for label, p in policies.items()]
    elif isinstance(policies, Sequence) and not isinstance(policies, str):
        items = []
        seen: dict[str, int] = {}
        for p in policies:
            label = describe(p) if isinstance(p, Policy) else repr(p)
            seen[label] = seen.get(label, 0) + 1
            items.append((label if seen[label] == 1 else f"{label} #{seen[label]}", p))
    else:
        raise ConfigError(
            "replay() takes a Policy, a list of them or a mapping label -> Policy,"
            f" got {type(policies).__name__}"
        )
    if not items:
        raise ConfigError("replay() needs at least one Policy to replay")
    for label, p in items:
        if not isinstance(p, Policy):
            raise ConfigError(
                f"replay() policy {label!r} is a {type(p).__name__}, not a toolkit.Policy;"
                " build one with Policy(window=20, failure_rate=0.5, ...)"
            )
    return items


def _columns(calls: Any) -> _Calls:
    """Exact columns from a runner's history or from a calls frame, sorted by start."""
    history = getattr(calls, "history", None)
    if not isinstance(calls, pd.DataFrame) and history is not None and hasattr(history, "columns"):
        c = history.columns()
        names = np.asarray(c["name"], dtype=object)
        starts = np.asarray(c["started_at"], dtype="float64")
        durations = np.asarray(c["duration_s"], dtype="float64")
        codes = _codes(c["outcome"])
        errors, before, after = list(c["error"]), c["state_before"], c["state_after"]
    elif isinstance(calls, pd.DataFrame):
        missing = [col for col in _NEEDED if col not in calls.columns]
        if missing:
            raise ConfigError(
                f"replay() needs a calls frame (frames.calls(runner), fleet.calls());"
                f" this one lacks {', '.join(missing)}"
            )
        names = calls["name"].astype(object).to_numpy()
        starts = _epochs(calls["started_at"])
        durations = calls["duration_ms"].to_numpy(dtype="float64") / 1000.0
        outcome = calls["outcome"]
        if isinstance(outcome.dtype, pd.CategoricalDtype) and list(outcome.cat.categories) == list(
            OUTCOMES
        ):
            codes = outcome.cat.codes.to_numpy().astype("int64")  # frames.calls: no lookups
            if (codes < 0).any():
                raise ConfigError("replay() needs an outcome for every call; some are missing")
        else:
            codes = _codes(outcome.astype(object).tolist())
        errors = calls["error"].astype(object).tolist() if "error" in calls.columns else []
        before, after = _state_column(calls, "state_before"), _state_column(calls, "state_after")
    else:
        raise ConfigError(f"replay() takes a calls frame or a runner, got {type(calls).__name__}")
    bad = ~np.isfinite(starts) | ~np.isfinite(durations) | (durations < 0)
    if bad.any():
        raise ConfigError(
            f"replay() needs a start time and a duration >= 0 for every call;"
            f" {int(bad.sum())} call(s) lack one"
        )
    order = np.argsort(starts, kind="stable")
    return _Calls(
        names[order], starts[order], durations[order], codes[order],
        [errors[i] for i in order] if errors else [None] * len(order),
        None if before is None else np.asarray(before)[order],
        None if after is None else np.asarray(after)[order],
    )  # fmt: skip


def _state_column(calls: pd.DataFrame, column: str) -> Any:
    """A state column as codes when it is the frames' categorical, else its values."""
    if column not in calls.columns:
        return None
    values = calls[column]
    if isinstance(values.dtype, pd.CategoricalDtype) and values.dtype == STATE_DTYPE:
        return values.cat.codes.to_numpy().astype(np.int8)
    return values.to_numpy(dtype=object)


def _epochs(stamps: pd.Series) -> np.ndarray:
    """Timestamps as epoch seconds, whole seconds and fraction apart (no rounding at ns)."""
    if not pd.api.types.is_datetime64_any_dtype(stamps):
        stamps = pd.to_datetime(stamps, utc=True)
    elif getattr(stamps.dt, "tz", None) is None:
        stamps = stamps.dt.tz_localize("UTC")
    ns = stamps.dt.tz_convert("UTC").astype("datetime64[ns, UTC]").astype("int64").to_numpy()
    whole = ns // 1_000_000_000
    seconds: np.ndarray = whole.astype("float64") + (ns - whole * 1_000_000_000) / 1e9
    return seconds


def _codes(outcomes: list[Any]) -> np.ndarray:
    known = core.CODES
    codes = np.fromiter((known.get(o, -1) for o in outcomes), dtype="int64", count=len(outcomes))
    if (codes < 0).any():
        unknown = sorted({str(o) for o, c in zip(outcomes, codes, strict=True) if c < 0})
        raise ConfigError(
            f"replay() found outcome(s) {', '.join(map(repr, unknown[:5]))};"
            f" a call's outcome is one of {', '.join(OUTCOMES)}"
        )
    return codes


def _histories(calls: _Calls) -> list[tuple[str, np.ndarray, core.History]]:
    """Per integration, in order of first call: its rows and its history."""
    names = pd.unique(calls.names)
    out: list[tuple[str, np.ndarray, core.History]] = []
    index = pd.Series(np.arange(len(calls.names))).groupby(calls.names, sort=False).indices
    limits = np.full(len(calls.names), np.nan)
    for i in np.flatnonzero(calls.codes == core.TIMEOUT):
        limits[i] = core.own_timeout(calls.errors[i])
    for name in names:
        rows = np.asarray(index[name])
        out.append(
            (
                str(name),
                rows,
                core.History(
                    calls.starts[rows].tolist(),
                    calls.durations[rows].tolist(),
                    calls.codes[rows].tolist(),
                    limits[rows].tolist(),
                ),
            )
        )
    return out


# ----------------------------------------------------------------- outputs
def _summary(
    calls: _Calls, groups: list[tuple[str, np.ndarray, core.History]],
    labelled: list[tuple[str, Policy]],
) -> pd.DataFrame:  # fmt: skip
    rows: dict[str, list[Any]] = {col: [] for col in SUMMARY_COLUMNS}
    for label, policy in labelled:
        for name, _, history in groups:
            result = core.replay(history, policy)
            reached = np.asarray(result.reached, dtype=bool)
            outcomes = np.asarray(result.outcomes)
            recorded = np.asarray(history.outcomes)
            rows["policy"].append(label)
            rows["name"].append(name)
            rows["calls"].append(result.calls)
            rows["reached"].append(int(reached.sum()))
            rows["failed_reaching"].append(int((reached & (outcomes != core.OK)).sum()))
            rows["skipped"].append(int((~reached).sum()))
            rows["skipped_known_ok"].append(int((~reached & (recorded == core.OK)).sum()))
            rows["assumed"].append(int(sum(result.assumed)))
            rows["opens"].append(result.opens)
            rows["open_s"].append(result.open_s)
            rows["time_to_open_s"].append(result.time_to_open_s)
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    frame["policy"] = pd.Categorical(frame["policy"], categories=[lbl for lbl, _ in labelled])
    frame["name"] = frame["name"].astype("string")
    for col in SUMMARY_COLUMNS[2:9]:
        frame[col] = frame[col].astype("int64")
    for col in ("open_s", "time_to_open_s"):
        frame[col] = frame[col].astype("float64")
    return frame


def _per_call(
    calls: _Calls, groups: list[tuple[str, np.ndarray, core.History]],
    labelled: list[tuple[str, Policy]],
) -> pd.DataFrame:  # fmt: skip
    n = len(calls.names)
    blocks = []
    recorded_outcome = pd.Categorical.from_codes(calls.codes, dtype=OUTCOME_DTYPE)
    started = pd.Series(pd.to_datetime(calls.starts, unit="s", utc=True)).astype(
        "datetime64[ns, UTC]"
    )
    recorded_before = _states(calls.states_before, n)
    recorded_after = _states(calls.states_after, n)
    names = pd.Series(calls.names, dtype="string")
    for label, policy in labelled:
        reached = np.zeros(n, dtype=bool)
        outcome = np.zeros(n, dtype="int64")
        duration = np.zeros(n, dtype="float64")
        assumed = np.zeros(n, dtype=bool)
        before = np.zeros(n, dtype="int64")
        after = np.zeros(n, dtype="int64")
        for _, rows, history in groups:
            result = core.replay(history, policy)
            reached[rows] = result.reached
            outcome[rows] = result.outcomes
            duration[rows] = result.durations
            assumed[rows] = result.assumed
            before[rows] = result.before
            after[rows] = result.after
        outcome[~reached] = core.SKIPPED
        blocks.append(
            pd.DataFrame(
                {
                    "policy": label,
                    "name": names,
                    "started_at": started,
                    "duration_ms": duration * 1000.0,
                    "recorded_outcome": recorded_outcome,
                    "outcome": pd.Categorical.from_codes(outcome, dtype=OUTCOME_DTYPE),
                    "decision": pd.Categorical.from_codes(
                        np.where(reached, 0, 1), dtype=DECISION_DTYPE
                    ),
                    "assumed": assumed,
                    "state_before": _state_names(before),
                    "state_after": _state_names(after),
                    "recorded_state_before": recorded_before,
                    "recorded_state_after": recorded_after,
                }
            )
        )
    frame = pd.concat(blocks, ignore_index=True)[PER_CALL_COLUMNS]
    frame["policy"] = pd.Categorical(frame["policy"], categories=[lbl for lbl, _ in labelled])
    for col in ("state_before", "state_after", "recorded_state_before", "recorded_state_after"):
        frame[col] = frame[col].astype(STATE_DTYPE)
    return frame


_STATE_CODES = [list(STATE_DTYPE.categories).index(s) for s in core.STATE_NAMES]


def _state_names(codes: np.ndarray) -> pd.Categorical:
    """The replay's state codes as the frames' state categorical."""
    return pd.Categorical.from_codes(np.asarray(_STATE_CODES)[codes], dtype=STATE_DTYPE)


def _states(values: Any, n: int) -> pd.Categorical:
    """Recorded states as the frames' categorical (missing when the input had none)."""
    if values is None:
        return pd.Categorical.from_codes(np.full(n, -1), dtype=STATE_DTYPE)
    if isinstance(values, np.ndarray) and values.dtype == np.int8:  # codes of frames.calls
        return pd.Categorical.from_codes(values, dtype=STATE_DTYPE)
    return pd.Categorical(np.asarray(values, dtype=object), dtype=STATE_DTYPE)
