"""Bounded, oldest-first call history and event log."""

from __future__ import annotations

from datetime import datetime

import pytest
from probes import Probe, registry_of

from toolkit import BreakerEvent, CallRecord, IntegrationRunner
from toolkit._engine.history import CallHistory, EventLog


def _append(history: CallHistory, run_id: int, name: str = "a") -> None:
    history.append(
        run_id, name, 1_700_000_000.0 + run_id, 0.01, "ok", None, "closed", "closed", None, False
    )


def test_history_is_bounded_and_drops_the_oldest() -> None:
    history = CallHistory(maxlen=3)
    for run_id in range(1, 6):
        _append(history, run_id)
    assert len(history) == 3
    assert [r.run_id for r in history] == [3, 4, 5]
    assert history[0].run_id == 3 and history[-1].run_id == 5
    assert [r.run_id for r in history[-2:]] == [4, 5]


def test_records_are_frozen_dataclasses_with_aware_timestamps() -> None:
    history = CallHistory()
    _append(history, 1)
    record = history[0]
    assert isinstance(record, CallRecord)
    assert isinstance(record.started_at, datetime) and record.started_at.tzinfo is not None
    assert record.started_at.timestamp() == pytest.approx(1_700_000_001.0)
    with pytest.raises(AttributeError):
        record.outcome = "error"  # type: ignore[misc]


def test_columns_are_snapshots() -> None:
    history = CallHistory()
    _append(history, 1)
    columns = history.columns()
    _append(history, 2)
    assert columns["run_id"] == [1]
    assert set(columns) == {
        "run_id", "name", "started_at", "duration_s", "outcome", "error",
        "state_before", "state_after", "fault", "slow",
    }  # fmt: skip


def test_version_grows_with_each_change() -> None:
    history = CallHistory()
    start = history.version
    _append(history, 1)
    history.clear()
    assert history.version == start + 2 and len(history) == 0


def test_event_log_is_bounded() -> None:
    events = EventLog(maxlen=2)
    for i, (old, new) in enumerate(
        [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    ):
        events.append(1_700_000_000.0 + i, "a", old, new)  # type: ignore[arg-type]
    assert [(e.old_state, e.new_state) for e in events] == [
        ("open", "half-open"),
        ("half-open", "closed"),
    ]
    assert isinstance(events[-1], BreakerEvent)


async def test_runner_history_size_bounds_calls_and_events() -> None:
    runner = IntegrationRunner(registry_of(Probe("a", "raise")), fail_max=1, history_size=4)
    for _ in range(10):
        runner.reset("a")
        await runner.run_one("a")
    assert len(runner.history) == 4
    assert len(runner.events) == 4
    assert [r.run_id for r in runner.history] == [7, 8, 9, 10]
