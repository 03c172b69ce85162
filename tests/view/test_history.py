"""availability, incidents and reliability: on hand-made frames with known answers, and
on a real runner's frames."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Fault, IntegrationRunner, frames

T0 = pd.Timestamp("2026-06-01T00:00:00Z")


def calls_of(rows: list[tuple]) -> pd.DataFrame:
    """(name, seconds after T0, ms, outcome, before, after[, worker]) as a calls frame."""
    data = {
        "run_id": np.arange(1, len(rows) + 1),
        "name": [r[0] for r in rows],
        "started_at": [T0 + pd.Timedelta(seconds=r[1]) for r in rows],
        "duration_ms": [float(r[2]) for r in rows],
        "outcome": [r[3] for r in rows],
        "error": [None] * len(rows),
        "state_before": [r[4] for r in rows],
        "state_after": [r[5] for r in rows],
        "fault": [None] * len(rows),
        "slow": [False] * len(rows),
    }
    frame = pd.DataFrame(data)
    if rows and len(rows[0]) > 6:
        frame.insert(0, "worker", [r[6] for r in rows])
    return frame


def events_of(rows: list[tuple]) -> pd.DataFrame:
    """(name, seconds after T0, old, new[, worker]) as an events frame."""
    frame = pd.DataFrame(
        {
            "at": [T0 + pd.Timedelta(seconds=r[1]) for r in rows],
            "name": [r[0] for r in rows],
            "old_state": [r[2] for r in rows],
            "new_state": [r[3] for r in rows],
        }
    )
    if rows and len(rows[0]) > 4:
        frame.insert(0, "worker", [r[4] for r in rows])
    return frame


# One outage of "a": an error opens it at 600 s, a skipped call at 1200 s, the trial at
# 1800 s closes it; open from 600 to 1800 s of the 2400 s observed.
OUTAGE = [
    ("a", 0, 0, "ok", "closed", "closed"),
    ("a", 600, 0, "error", "closed", "open"),
    ("a", 1200, 0, "circuit_open", "open", "open"),
    ("a", 1800, 0, "ok", "half-open", "closed"),
    ("a", 2400, 0, "ok", "closed", "closed"),
]


def test_availability_counts_ok_calls_and_open_time_per_period() -> None:
    hourly = frames.availability(calls_of(OUTAGE), freq="1h")
    assert len(hourly) == 1
    row = hourly.iloc[0]
    assert (row["calls"], row["ok"], row["ok_share"]) == (5, 3, 0.6)
    assert row["open_s"] == pytest.approx(1200) and row["observed_s"] == pytest.approx(2400)
    assert row["open_share"] == pytest.approx(0.5)

    quarters = frames.availability(calls_of(OUTAGE), freq="15min")
    assert list(quarters["period"]) == [T0 + pd.Timedelta(minutes=15 * i) for i in range(3)]
    assert quarters["open_share"].tolist() == pytest.approx([300 / 900, 1.0, 0.0])
    assert quarters["observed_s"].tolist() == pytest.approx([900, 900, 600])
    assert quarters["calls"].tolist() == [2, 1, 2]


def test_availability_lists_every_period_for_every_integration_and_sums_workers() -> None:
    rows = [(*r, "w1") for r in OUTAGE] + [
        ("a", 0, 0, "ok", "closed", "closed", "w2"),
        ("a", 2400, 0, "ok", "closed", "closed", "w2"),
        ("b", 3700, 10, "timeout", "closed", "closed", "w2"),
    ]
    table = frames.availability(calls_of(rows), freq="1h")
    assert list(zip(table["name"], table["calls"], strict=True)) == [
        ("a", 7), ("a", 0), ("b", 0), ("b", 1),
    ]  # fmt: skip
    first = table.iloc[0]
    assert first["open_s"] == pytest.approx(1200) and first["observed_s"] == pytest.approx(4800)
    assert np.isnan(table.iloc[1]["ok_share"])  # no calls: no share
    assert table.iloc[3]["ok_share"] == 0.0


def test_availability_of_nothing_has_its_columns_and_refuses_bad_input() -> None:
    empty = frames.availability(calls_of([]))
    assert empty.empty and list(empty.columns) == [
        "name", "period", "calls", "ok", "ok_share", "open_s", "observed_s", "open_share",
    ]  # fmt: skip
    with pytest.raises(ConfigError, match="freq"):
        frames.availability(calls_of(OUTAGE), freq="monthly-ish")
    with pytest.raises(ConfigError, match="duration_ms"):
        frames.availability(pd.DataFrame({"name": ["a"]}))


def test_an_incident_runs_from_opening_to_closing_with_its_trials_and_skips() -> None:
    calls = calls_of([
        ("a", 0, 0, "ok", "closed", "closed"),
        ("a", 9.99, 10, "error", "closed", "open"),
        ("a", 30, 0, "circuit_open", "open", "open"),
        ("a", 70, 100, "timeout", "half-open", "open"),
        ("a", 100, 0, "circuit_open", "open", "open"),
        ("a", 130, 200, "ok", "half-open", "closed"),
        ("a", 200, 5, "ok", "closed", "closed"),
    ])  # fmt: skip
    events = events_of([
        ("a", 10.0, "closed", "open"),
        ("a", 70, "open", "half-open"),
        ("a", 70.1, "half-open", "open"),
        ("a", 130, "open", "half-open"),
        ("a", 130.2, "half-open", "closed"),
    ])  # fmt: skip
    (incident,) = frames.incidents(events, calls).to_dict("records")
    assert incident["start"] == T0 + pd.Timedelta(seconds=10)
    assert incident["end"] == T0 + pd.Timedelta(seconds=130.2)
    assert incident["duration_s"] == pytest.approx(120.2)
    assert incident["cause"] == "error" and not incident["ongoing"]
    assert (incident["reopens"], incident["trials"], incident["skipped"]) == (1, 2, 2)
    assert incident["workers"] == 1
    assert frames.incidents(events)["cause"].tolist() == ["unknown"]  # no calls to tell


def test_what_opened_a_breaker_timeout_by_hand_another_worker_isolation() -> None:
    calls = calls_of([
        ("slow", 0, 2000, "timeout", "closed", "open"),
        ("tripped", 50, 1, "ok", "closed", "closed"),
        ("tripped", 100, 0, "circuit_open", "open", "open"),
        ("shared", 100.0002, 0, "circuit_open", "open", "open"),
        ("held", 5, 1, "ok", "closed", "closed"),
    ])  # fmt: skip
    events = events_of([
        ("slow", 2.0, "closed", "open"),
        ("tripped", 60, "closed", "open"),  # no call then: trip() by hand
        ("shared", 100, "closed", "open"),  # seen at admission: another worker opened it
        ("held", 20, "closed", "isolated"),
    ])  # fmt: skip
    events["by_hand"] = [False, True, False, True]  # as an archive records them
    found = frames.incidents(events, calls)
    causes = dict(zip(found["name"], found["cause"].astype(str), strict=True))
    assert causes == {
        "slow": "timeout", "tripped": "by hand", "shared": "another worker", "held": "by hand",
    }  # fmt: skip
    unmarked = frames.incidents(events.drop(columns="by_hand"), calls)
    assert unmarked.set_index("name").loc["shared", "cause"] == "by hand"  # cannot tell
    assert found["ongoing"].all() and found["end"].isna().all()
    slow = found[found["name"] == "slow"].iloc[0]
    assert slow["duration_s"] == pytest.approx(100.0002 - 2.0)  # up to the last call seen


def test_overlapping_openings_seen_by_two_workers_are_one_incident() -> None:
    events = events_of([
        ("a", 10, "closed", "open", "w2"),  # w2's clock runs behind: it sees it first
        ("a", 10.2, "closed", "open", "w1"),
        ("a", 70, "open", "closed", "w1"),
        ("a", 75, "open", "closed", "w2"),
        ("a", 500, "closed", "open", "w1"),
        ("a", 560, "open", "closed", "w1"),
    ])  # fmt: skip
    calls = calls_of([("a", 10.1, 100, "error", "closed", "open", "w1")])
    found = frames.incidents(events, calls)
    assert found["duration_s"].tolist() == pytest.approx([65.0, 60.0])
    assert found["workers"].tolist() == [2, 1]
    assert found["cause"].tolist() == ["error", "by hand"]  # w1's call opened the first


def test_reliability_gives_mttr_mtbf_flapping_and_percentiles() -> None:
    calls = calls_of(
        [("a", 0, 10, "ok", "closed", "closed")]
        + [("a", 600 + i, 20, "ok", "closed", "closed") for i in range(8)]
        + [("a", 3600, 30, "ok", "closed", "closed"), ("b", 0, 5, "ok", "closed", "closed")]
        + [("b", 1800, 0, "circuit_open", "open", "open")]
    )
    events = events_of([
        ("a", 100, "closed", "open"), ("a", 160, "open", "closed"),
        ("a", 1000, "closed", "open"), ("a", 1120, "open", "closed"),
        ("b", 1, "closed", "open"),
    ])  # fmt: skip
    table = frames.reliability(calls, events).set_index("name")
    a = table.loc["a"]
    assert a["incidents"] == 2 and a["mttr_s"] == pytest.approx(90.0)
    assert a["mtbf_s"] == pytest.approx((3600.03 - 180.0) / 2)
    assert a["opens_per_hour"] == pytest.approx(2 / (3600.03 / 3600))
    assert (a["p50_ms"], a["p99_ms"]) == (20.0, pytest.approx(29.1))
    b = table.loc["b"]
    assert b["ok_share"] == 0.5 and np.isnan(b["mttr_s"])  # its one incident goes on
    assert b["p95_ms"] == 5.0  # the circuit_open answer is no latency
    assert list(table.index) == ["b", "a"]  # least available first


def test_the_analyses_read_a_real_runners_frames() -> None:
    runner = IntegrationRunner(
        registry_of(Probe("good"), Probe("flaky")), fail_max=1, reset_timeout=0.05
    )
    with runner:
        runner.run_all_sync()
        runner.trip("good")
        runner.inject("flaky", Fault.fail("down"))
        runner.run_all_sync()
        time.sleep(0.06)
        runner.clear_faults()
        runner.reset("good")
        runner.run_all_sync()  # flaky's trial succeeds and closes it
        calls, events = frames.calls(runner), frames.events(runner)
    found = frames.incidents(events, calls)
    assert dict(zip(found["name"], found["cause"].astype(str), strict=True)) == {
        "good": "by hand", "flaky": "error",
    }  # fmt: skip
    assert (~found["ongoing"]).all()
    flaky = found[found["name"] == "flaky"].iloc[0]
    assert flaky["trials"] == 1 and flaky["reopens"] == 0
    shares = frames.availability(calls, freq="1D").set_index("name")
    assert shares.loc["good", "ok_share"] == pytest.approx(2 / 3)  # one skipped while tripped
    assert frames.reliability(calls, events).set_index("name").loc["flaky", "incidents"] == 1
