"""toolkit.replay: faithful to the policy in force, honest about what the history lacks."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from probes import registry_of
from sim_clock import TICK, Scripted, SimClock, simulated

import toolkit
from toolkit import ConfigError, IntegrationRunner, Policy, frames
from toolkit._view.replay import PER_CALL_COLUMNS, SUMMARY_COLUMNS

T0 = 1_700_000_000.0


def history(*rows: tuple[str, float, float, str] | tuple[str, float, float, str, str]) -> Any:
    """A calls frame from (name, start offset s, duration s, outcome[, error]) rows."""
    return pd.DataFrame(
        {
            "name": [r[0] for r in rows],
            "started_at": pd.to_datetime([T0 + r[1] for r in rows], unit="s", utc=True),
            "duration_ms": [r[2] * 1000.0 for r in rows],
            "outcome": [r[3] for r in rows],
            "error": [r[4] if len(r) > 4 else None for r in rows],
        }
    )


# -------------------------------------------------------- faithful by construction
common: dict[str, Any] = {
    "timeout": st.just(5.0),
    "slow_after": st.sampled_from([None, 2.0]),
    "failure_rate": st.sampled_from([0.25, 0.5, 1.0]),
    "min_calls": st.integers(1, 4),
    "half_open_calls": st.integers(1, 3),
    "backoff": st.sampled_from([1.0, 2.0]),
    "max_reset_timeout": st.sampled_from([None, 30.0]),
    "reset_timeout": st.sampled_from([0.0, 4.0, 10.0]),
}
policies = st.one_of(
    st.builds(Policy, fail_max=st.integers(1, 3), **common),
    st.builds(
        Policy, window=st.sampled_from([1, 2, 4]), slow_rate=st.sampled_from([0.5, 1.0]), **common
    ),
    st.builds(Policy, window_s=st.sampled_from([3.0, 12.0]), **common),
)
steps = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.sampled_from(["ok", "ok", "error", "timeout"]),
        st.sampled_from([TICK, 0.5, 3.0]),
        st.sampled_from([0.0, TICK, 1.0, 4.0, 11.0]),
    ),
    min_size=6,
    max_size=50,
)


def record(policy: Policy, script: list[tuple[str, str, float, float]]) -> IntegrationRunner:
    """Run ``script`` (who, outcome, duration, wait before) on simulated time."""
    clock = SimClock()
    svcs = {n: Scripted(n, clock) for n in ("a", "b")}
    fields = {f: getattr(policy, f) for f in policy.__dataclass_fields__}
    with pytest.MonkeyPatch.context() as patch, simulated(patch, clock):
        runner = IntegrationRunner(registry_of(*svcs.values()), policies={n: fields for n in svcs})
        for who, outcome, duration, wait in script:
            clock.advance(wait)
            svcs[who].outcome, svcs[who].duration = outcome, duration
            runner.run_one_sync(who)
    return runner


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, script=steps)
def test_replaying_the_policy_in_force_reproduces_every_decision_and_state(
    policy: Policy, script: list[tuple[str, str, float, float]]
) -> None:
    runner = record(policy, script)
    try:
        recorded = frames.calls(runner)
        for source in (runner, recorded):
            rows = toolkit.replay(source, policy, per_call=True)
            assert len(rows) == len(recorded)
            assert not rows["assumed"].any()
            assert rows["outcome"].tolist() == recorded["outcome"].tolist()
            skipped = (recorded["outcome"] == "circuit_open").to_numpy()
            assert rows["decision"].tolist() == np.where(skipped, "skip", "call").tolist()
            assert rows["state_before"].tolist() == recorded["state_before"].tolist()
            assert rows["state_after"].tolist() == recorded["state_after"].tolist()
            assert rows["recorded_state_after"].tolist() == recorded["state_after"].tolist()
            assert rows["name"].tolist() == recorded["name"].tolist()
        summary = toolkit.replay(runner, policy)
        events = frames.events(runner)
        for name, group in recorded.groupby("name", observed=True):
            row = summary[summary["name"] == name].iloc[0]
            assert row["calls"] == len(group) and row["assumed"] == 0
            assert row["skipped"] == (group["outcome"] == "circuit_open").sum()
            opened = events[(events["name"] == name) & (events["new_state"] == "open")]
            assert row["opens"] == len(opened)
    finally:
        runner.close()


# ------------------------------------------------------------- honesty rules
def test_a_skipped_call_borrows_the_nearest_real_outcome_and_is_counted_assumed() -> None:
    calls = history(
        ("svc", 0.0, 0.1, "error"),
        ("svc", 1.0, 0.0, "circuit_open"),  # nearest real call: the error at 0
        ("svc", 9.0, 0.0, "circuit_open"),  # nearest real call: the ok at 10
        ("svc", 10.0, 0.2, "ok"),
    )
    rows = toolkit.replay(calls, Policy(fail_max=5), per_call=True)
    assert rows["decision"].tolist() == ["call"] * 4
    assert rows["assumed"].tolist() == [False, True, True, False]
    assert rows["outcome"].tolist() == ["error", "error", "ok", "ok"]
    assert rows["duration_ms"].round(6).tolist() == [100.0, 100.0, 200.0, 200.0]
    summary = toolkit.replay(calls, Policy(fail_max=5))
    assert summary[["reached", "failed_reaching", "skipped", "assumed"]].iloc[0].tolist() == [
        4, 2, 0, 2,
    ]  # fmt: skip


def test_a_borrowed_duration_ends_before_the_next_recorded_call() -> None:
    calls = history(("svc", 0.0, 0.0, "circuit_open"), ("svc", 0.5, 3.0, "ok"))
    rows = toolkit.replay(calls, Policy(), per_call=True)
    assert rows["duration_ms"].tolist() == [500.0, 3000.0]


def test_an_integration_that_never_ran_is_assumed_to_fail() -> None:
    calls = history(("svc", 0.0, 0.0, "circuit_open"), ("svc", 1.0, 0.0, "circuit_open"))
    rows = toolkit.replay(calls, Policy(fail_max=1, reset_timeout=60), per_call=True)
    assert rows["outcome"].tolist() == ["error", "circuit_open"]
    assert rows["assumed"].tolist() == [True, False]  # the refusal is the replay's own


def test_a_shorter_timeout_turns_longer_calls_into_timeouts_without_assuming() -> None:
    calls = history(("svc", 0.0, 3.0, "ok"), ("svc", 5.0, 0.5, "ok"), ("svc", 6.0, 4.0, "error"))
    rows = toolkit.replay(calls, Policy(timeout=2.0, fail_max=9), per_call=True)
    assert rows["outcome"].tolist() == ["timeout", "ok", "timeout"]
    assert rows["duration_ms"].tolist() == [2000.0, 500.0, 2000.0]
    assert not rows["assumed"].any()


def test_a_longer_timeout_cannot_undo_a_recorded_timeout() -> None:
    calls = history(
        ("svc", 0.0, 2.001, "timeout", "timed out after 2s"),
        ("svc", 5.0, 2.001, "timeout", "timed out after 2s"),
    )
    longer = toolkit.replay(calls, Policy(timeout=10.0, fail_max=9), per_call=True)
    assert longer["outcome"].tolist() == ["timeout", "timeout"]
    assert longer["assumed"].tolist() == [True, True]
    same = toolkit.replay(calls, Policy(timeout=2.0, fail_max=9), per_call=True)
    assert not same["assumed"].any()
    shorter = toolkit.replay(calls, Policy(timeout=1.0, fail_max=9), per_call=True)
    assert shorter["duration_ms"].round(6).tolist() == [1001.0, 1001.0]
    assert not shorter["assumed"].any()


def test_a_timeout_fetch_raised_itself_stays_observed_under_a_longer_timeout() -> None:
    calls = history(("svc", 0.0, 0.5, "timeout", "CheckTimeoutError: read timed out"))
    rows = toolkit.replay(calls, Policy(timeout=30.0), per_call=True)
    assert rows["outcome"].tolist() == ["timeout"] and not rows["assumed"].any()


def test_summary_counts_good_calls_lost_openings_and_time_to_open() -> None:
    calls = history(
        ("svc", 0.0, 1.0, "ok"),
        ("svc", 2.0, 1.0, "error"),  # a streak starts at 2
        ("svc", 4.0, 1.0, "error"),
        ("svc", 6.0, 1.0, "error"),  # third in a row: opens at 7
        ("svc", 8.0, 1.0, "ok"),  # skipped, recorded ok: a good call lost
        ("svc", 10.0, 1.0, "error"),  # skipped
        ("svc", 20.0, 1.0, "ok"),  # the trial at 20: closes
    )
    summary = toolkit.replay(calls, Policy(fail_max=3, reset_timeout=10.0))
    row = summary.iloc[0]
    assert (row["calls"], row["reached"], row["skipped"], row["skipped_known_ok"]) == (7, 5, 2, 1)
    assert (row["failed_reaching"], row["opens"], row["assumed"]) == (3, 1, 0)
    assert row["open_s"] == pytest.approx(13.0)  # open from 7 until the trial at 20
    assert row["time_to_open_s"] == pytest.approx(5.0)  # from 2 to 7


def test_a_rate_window_lets_an_occasional_failure_through() -> None:
    calls = history(*[("svc", 2.0 * i, 0.1, "error" if i % 3 == 0 else "ok") for i in range(30)])
    result = toolkit.replay(
        calls,
        {"1 in a row": Policy(fail_max=1), "half of 10": Policy(window=10, min_calls=5)},
    )
    opens = dict(zip(result["policy"], result["opens"], strict=True))
    lost = dict(zip(result["policy"], result["skipped_known_ok"], strict=True))
    assert opens["half of 10"] == 0 and opens["1 in a row"] > 0 and lost["1 in a row"] > 0


# --------------------------------------------------------------- frame shape
def test_frames_have_their_columns_and_dtypes_even_when_empty() -> None:
    empty = history()
    summary = toolkit.replay(empty, Policy())
    assert list(summary.columns) == SUMMARY_COLUMNS and summary.empty
    rows = toolkit.replay(empty, [Policy(), Policy(window=5)], per_call=True)
    assert list(rows.columns) == PER_CALL_COLUMNS and rows.empty
    calls = history(("a", 0.0, 0.1, "ok"), ("b", 0.5, 0.1, "error"))
    summary = toolkit.replay(calls, [Policy(), Policy()])
    assert summary["policy"].tolist() == ["3 in a row, wait 60s"] * 2 + [
        "3 in a row, wait 60s #2"
    ] * 2  # fmt: skip
    assert summary["name"].tolist() == ["a", "b", "a", "b"]
    assert str(summary["calls"].dtype) == "int64" and str(summary["open_s"].dtype) == "float64"
    rows = toolkit.replay(calls, {"x": Policy()}, per_call=True)
    assert str(rows["started_at"].dtype) == "datetime64[ns, UTC]"
    assert rows["started_at"].tolist() == calls["started_at"].tolist()
    assert list(rows["state_before"].cat.categories) == ["closed", "half-open", "open", "isolated"]
    assert rows["recorded_state_before"].isna().all()  # the frame had no states


def test_a_fleet_calls_frame_with_extra_columns_is_accepted() -> None:
    calls = history(("svc", 0.0, 0.1, "error"), ("svc", 1.0, 0.1, "error"))
    calls.insert(0, "worker", ["w1", "w2"])
    assert toolkit.replay(calls, Policy(fail_max=2))["opens"].tolist() == [1]


@pytest.mark.parametrize(
    ("calls", "policies", "fragment"),
    [
        (history(), [], "needs at least one Policy"),
        (history(), {"x": {"window": 5}}, "policy 'x' is a dict, not a toolkit.Policy"),
        (history(), "fast", "takes a Policy, a list of them or a mapping"),
        (pd.DataFrame({"name": ["a"]}), Policy(), "lacks started_at, duration_ms, outcome"),
        (history(("a", 0.0, 0.1, "boom")), Policy(), "found outcome(s) 'boom'"),
        (42, Policy(), "takes a calls frame or a runner, got int"),
    ],
)
def test_bad_input_is_refused_with_what_to_give(calls: Any, policies: Any, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        toolkit.replay(calls, policies)
    assert fragment in str(info.value)


def test_nan_start_times_are_refused() -> None:
    calls = history(("a", 0.0, 0.1, "ok"))
    calls["duration_ms"] = [math.nan]
    with pytest.raises(ConfigError, match="duration >= 0 for every call"):
        toolkit.replay(calls, Policy())
