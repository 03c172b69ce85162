"""Archive: a runner's calls and events in Parquet, read back as the frames, by anyone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from probes import Probe, registry_of

from toolkit import Archive, ConfigError, Fault, IntegrationRegistry, IntegrationRunner, frames
from toolkit._engine.history import BreakerEvent, CallRecord


def flaky_runner(archive: Archive) -> IntegrationRunner:
    """Two integrations, one failing: calls of every outcome and a breaker that opens."""
    runner = IntegrationRunner(
        registry_of(Probe("good"), Probe("bad", "raise")), fail_max=2, reset_timeout=60,
        archive=archive,
    )  # fmt: skip
    for _ in range(4):
        runner.run_all_sync()
    runner.inject("good", Fault.fail("boom"))
    runner.run_all_sync()
    return runner


def same_up_to_microseconds(archived: pd.Series, live: pd.Series) -> None:
    """Archived times are CallRecord's (microseconds); the live frame's keep nanoseconds."""
    difference = (archived.reset_index(drop=True) - live.reset_index(drop=True)).abs()
    assert (difference <= pd.Timedelta(microseconds=1)).all()


def test_closing_the_runner_writes_its_calls_and_events_as_the_frames_show_them(
    tmp_path: Path,
) -> None:
    archive = Archive(tmp_path / "history")
    runner = flaky_runner(archive)
    runner.trip("good")
    runner.close()

    live_calls, stored_calls = frames.calls(runner), archive.calls()
    assert list(stored_calls.columns) == ["worker", *live_calls.columns]
    assert (stored_calls["worker"] == archive.worker).all()
    same_up_to_microseconds(stored_calls["started_at"], live_calls["started_at"])
    pd.testing.assert_frame_equal(
        stored_calls.drop(columns=["worker", "started_at"]),
        live_calls.drop(columns=["started_at"]),
    )
    live_events, stored_events = frames.events(runner), archive.events()
    assert list(stored_events["new_state"]) == list(live_events["new_state"]) == ["open", "open"]
    assert list(stored_events.columns) == ["worker", *live_events.columns, "by_hand"]
    assert stored_events["by_hand"].tolist() == [False, True]  # "bad" by its calls, a trip
    same_up_to_microseconds(stored_events["at"], live_events["at"])
    pd.testing.assert_frame_equal(
        stored_events.drop(columns=["worker", "at", "by_hand"]), live_events.drop(columns=["at"])
    )
    assert set(stored_calls["outcome"]) == {"ok", "error", "circuit_open"}


def test_calls_are_partitioned_by_utc_day_in_plain_hive_layout(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    day = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)
    for at in (day, day + timedelta(seconds=2)):  # either side of midnight
        archive.add_call(CallRecord(1, "svc", at, 0.01, "ok", None, "closed", "closed"))
    archive.add_event(BreakerEvent(day, "svc", "closed", "open"))
    assert archive.flush()
    folders = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/day=*"))
    assert folders == ["calls/day=2026-03-01", "calls/day=2026-03-02", "events/day=2026-03-01"]
    assert archive.days() == [day.date(), day.date() + timedelta(days=1)]
    assert len(archive.calls(since="2026-03-02")) == 1
    assert archive.last_scan.files == 1  # the other day's partition was not opened
    archive.close()


def test_pandas_duckdb_and_polars_read_the_archive_without_the_toolkit(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    polars = pytest.importorskip("polars")
    archive = Archive(tmp_path)
    runner = flaky_runner(archive)
    runner.close()
    live = frames.calls(runner)
    expected = len(live)
    errors = live[live["outcome"] == "error"].groupby("name").size()
    by_pandas = pd.read_parquet(tmp_path / "calls")
    assert len(by_pandas) == expected and set(by_pandas["name"]) == {"good", "bad"}
    assert str(by_pandas["started_at"].dtype) == "datetime64[us, UTC]"
    glob = str(tmp_path / "calls" / "*" / "*.parquet")
    with duckdb.connect() as con:
        rows = con.execute(
            "select name, count(*) from read_parquet(?, hive_partitioning = true)"
            " where outcome = 'error' group by name order by name",
            [glob],
        ).fetchall()
    assert rows == [("bad", errors["bad"]), ("good", errors["good"])]
    frame = polars.scan_parquet(
        str(tmp_path / "calls" / "**" / "*.parquet"), hive_partitioning=True
    ).collect()
    assert frame.height == expected and "day" in frame.columns


def test_reads_keep_only_the_names_and_times_asked_for(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    start = datetime(2026, 5, 4, 12, tzinfo=UTC)
    rows = pd.DataFrame(
        {
            "run_id": range(300),
            "name": [f"svc{i % 3}" for i in range(300)],
            "started_at": [start + timedelta(minutes=i) for i in range(300)],
            "duration_ms": 5.0,
            "outcome": "ok",
            "error": None,
            "state_before": "closed",
            "state_after": "closed",
            "fault": None,
            "slow": False,
        }
    )
    archive.write(calls=rows)
    window = archive.calls(since=start + timedelta(hours=1), until=start + timedelta(hours=2),
                           names=["svc1"])  # fmt: skip
    assert len(window) == 20 and set(window["name"]) == {"svc1"}
    assert window["started_at"].min() >= pd.Timestamp(start + timedelta(hours=1))
    assert window["started_at"].max() < pd.Timestamp(start + timedelta(hours=2))
    assert len(archive.calls(names="svc2")) == 100
    assert archive.calls(names="nobody").empty


def test_a_read_skips_row_groups_whose_statistics_rule_out_the_name(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    start = datetime(2026, 5, 4, tzinfo=UTC)
    n = 40_000
    rows = pd.DataFrame(
        {
            "run_id": 1,
            "name": [f"svc{i % 8}" for i in range(n)],
            "started_at": [start + timedelta(seconds=i) for i in range(n)],
            "duration_ms": 1.0, "outcome": "ok", "error": None, "state_before": "closed",
            "state_after": "closed", "fault": None, "slow": False,
        }
    )  # fmt: skip
    archive.write(calls=rows)
    got = archive.calls(names=["svc3"])
    assert len(got) == n // 8
    scan = archive.last_scan
    assert scan.row_groups_total >= 4 and scan.row_groups < scan.row_groups_total


def test_write_stores_a_fleet_calls_frame_with_its_workers(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    at = pd.Timestamp("2026-01-01T00:00:00Z")
    calls = pd.DataFrame(
        {
            "worker": ["a", "b"], "run_id": [1, 1], "name": ["x", "x"],
            "started_at": [at, at + pd.Timedelta(seconds=1)], "duration_ms": [1.0, 2.0],
            "outcome": ["ok", "timeout"], "error": [None, "timed out"],
            "state_before": ["closed", "closed"], "state_after": ["closed", "closed"],
            "fault": [None, None], "slow": [False, False],
        }
    )  # fmt: skip
    archive.write(calls=calls)
    stored = archive.calls()
    assert list(stored["worker"]) == ["a", "b"] and list(stored["error"].fillna("-")) == [
        "-", "timed out",
    ]  # fmt: skip


def test_a_frame_missing_columns_is_refused_saying_which(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="duration_ms"):
        Archive(tmp_path).write(calls=pd.DataFrame({"name": ["x"], "run_id": [1]}))


def test_bad_settings_and_bounds_are_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        Archive(tmp_path / "file")
    with pytest.raises(ConfigError, match="interval"):
        Archive(tmp_path, interval=0)
    with pytest.raises(ConfigError, match="max_records"):
        Archive(tmp_path, max_records=True)
    with pytest.raises(ConfigError, match="since"):
        Archive(tmp_path).calls(since="yesterday-ish")
    with pytest.raises(ConfigError, match="must come after"):
        Archive(tmp_path).calls(since="2026-01-02", until="2026-01-01")


def test_an_empty_archive_reads_as_empty_frames_with_their_columns(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "nothing-yet")
    calls, events = archive.calls(), archive.events()
    with IntegrationRunner(IntegrationRegistry()) as empty:
        live_calls, live_events = frames.calls(empty), frames.events(empty)
    assert calls.empty and list(calls.columns) == ["worker", *live_calls.columns]
    assert list(events.columns) == ["worker", *live_events.columns, "by_hand"]
    assert str(calls["started_at"].dtype) == "datetime64[ns, UTC]"
    assert str(calls["outcome"].dtype) == "category" and events.empty
    assert repr(archive) == f"<Archive {str(tmp_path / 'nothing-yet')!r}>"


def test_two_runners_share_one_archive_and_each_closes_its_own(tmp_path: Path) -> None:
    archive = Archive(tmp_path)
    first = IntegrationRunner(registry_of(Probe("a")), archive=archive)
    second = IntegrationRunner(registry_of(Probe("b")), archive=archive)
    first.run_all_sync()
    second.run_all_sync()
    first.close()
    first.close()  # closing twice detaches once
    second.run_all_sync()
    second.close()
    assert sorted(archive.calls()["name"]) == ["a", "b", "b"]
    archive.close()
