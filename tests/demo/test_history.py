"""simulated_week: a seeded week of calls and events that follows the breaker's rules."""

from __future__ import annotations

import pandas as pd

from toolkit import frames
from toolkit.demo import simulated_week


def test_the_week_is_seeded_and_has_the_archive_columns() -> None:
    calls, events = simulated_week("2026-03-02", days=2)
    again, _ = simulated_week("2026-03-02", days=2)
    pd.testing.assert_frame_equal(calls, again)
    assert list(calls.columns) == ["worker", "run_id", "name", "started_at", "duration_ms",
                                   "outcome", "error", "state_before", "state_after", "fault",
                                   "slow"]  # fmt: skip
    assert list(events.columns) == ["worker", "at", "name", "old_state", "new_state", "by_hand"]
    assert len(calls) == 2 * 1440 * 6
    assert calls["started_at"].min() >= pd.Timestamp("2026-03-02T00:00:00Z")


def test_its_breakers_follow_the_rules() -> None:
    calls, events = simulated_week("2026-03-02", days=5)
    for _, mine in calls.groupby("name", observed=True):
        ran = mine[mine["outcome"] != "circuit_open"].reset_index(drop=True)
        failed = ran["outcome"].astype(str) != "ok"
        opened = ran.index[
            (ran["state_before"].astype(str) == "closed") & (ran["state_after"] == "open")
        ]
        for at in opened:  # fail_max=3: the third failure in a row opens it
            assert at >= 2 and failed[at - 2 : at + 1].all()
        skipped = mine[mine["outcome"] == "circuit_open"]
        assert set(skipped["state_before"].astype(str)) <= {"open", "isolated"}
    found = frames.incidents(events, calls)
    causes = dict(zip(found["name"], found["cause"].astype(str), strict=False))
    assert causes["geocoder"] == "timeout" and causes["payments"] == "error"
    assert causes["search"] == "by hand"
    geocoder = found[found["name"] == "geocoder"].iloc[0]
    assert 3.5 * 3600 < geocoder["duration_s"] < 4.5 * 3600  # the afternoon of timeouts
