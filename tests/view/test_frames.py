"""toolkit.frames: tidy, typed, usefully sorted, and shaped even when empty."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from probes import Probe, registry_of

from toolkit import Fault, IntegrationRegistry, IntegrationRunner, frames

CALL_COLUMNS = [
    "run_id", "name", "started_at", "duration_ms", "outcome", "error", "state_before",
    "state_after", "fault", "slow",
]  # fmt: skip


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    probes = [Probe("fast"), Probe("slow", "sleep", delay=0.03), Probe("down", "raise")]
    runner = IntegrationRunner(registry_of(*probes), fail_max=2, timeout=1)
    runner.inject("fast", Fault.slow(0.001))
    for _ in range(3):
        runner.run_all_sync()
    yield runner
    runner.close()


def test_calls_one_row_per_call_typed(runner: IntegrationRunner) -> None:
    df = frames.calls(runner)
    assert list(df.columns) == CALL_COLUMNS
    assert len(df) == 9
    assert str(df["started_at"].dtype) == "datetime64[ns, UTC]"
    assert df["duration_ms"].dtype == "float64"
    assert isinstance(df["outcome"].dtype, pd.CategoricalDtype)
    assert list(df["outcome"].cat.categories) == ["ok", "error", "timeout", "circuit_open"]
    assert list(df["state_after"].cat.categories) == ["closed", "half-open", "open", "isolated"]
    assert df["run_id"].is_monotonic_increasing  # oldest first
    slow = df[df["name"] == "slow"]["duration_ms"]
    assert (slow >= 30).all() and (slow < 1000).all()  # milliseconds, not seconds
    down = df[df["name"] == "down"]
    assert list(down["outcome"]) == ["error", "error", "circuit_open"]
    assert list(df[df["name"] == "fast"]["fault"]) == ["slow(0.001s)"] * 3


def test_latency_counts_rates_and_percentiles_worst_first(runner: IntegrationRunner) -> None:
    df = frames.latency(runner)
    assert list(df.columns) == [
        "name", "calls", "ok", "error", "timeout", "circuit_open", "success_rate",
        "p50_ms", "p95_ms", "p99_ms", "max_ms",
    ]  # fmt: skip
    assert list(df["name"]) == ["slow", "fast", "down"]
    assert df["p95_ms"].is_monotonic_decreasing
    row = df.set_index("name").loc["down"]
    assert (row["calls"], row["ok"], row["error"], row["circuit_open"]) == (3, 0, 2, 1)
    assert row["success_rate"] == 0.0
    slow = df.set_index("name").loc["slow"]
    assert slow["success_rate"] == 1.0
    assert slow["p50_ms"] <= slow["p95_ms"] <= slow["p99_ms"] <= slow["max_ms"]
    assert slow["p50_ms"] >= 30
    assert df["calls"].dtype == "int64" and df["p95_ms"].dtype == "float64"


def test_latency_percentiles_leave_out_instant_circuit_open_answers() -> None:
    runner = IntegrationRunner(registry_of(Probe("x", "raise", delay=0.02)), fail_max=1)
    for _ in range(5):
        runner.run_all_sync()
    row = frames.latency(runner).iloc[0]
    assert row["circuit_open"] == 4
    assert row["p50_ms"] >= 20  # only the one real call counts
    runner.close()


def test_breakers_one_row_per_integration_most_severe_first(runner: IntegrationRunner) -> None:
    runner.isolate("fast")
    df = frames.breakers(runner)
    assert list(df["name"]) == ["fast", "down", "slow"]
    assert list(df["state"]) == ["isolated", "open", "closed"]
    down = df.set_index("name").loc["down"]
    assert down["failures"] == 2 and down["fail_max"] == 2
    assert 0 < down["trial_in_s"] <= 60
    assert str(df["opened_at"].dtype) == "datetime64[ns, UTC]"
    assert df.set_index("name")["opened_at"].isna()["slow"]
    assert df.set_index("name").loc["slow", "last_outcome"] == "ok"


def test_results_frame_keeps_the_run_order(runner: IntegrationRunner) -> None:
    assert runner.last_results is not None
    df = frames.results(runner.last_results)
    assert list(df.columns) == ["name", "display_name", "success", "error_message", "data"]
    assert list(df["name"]) == ["fast", "slow", "down"]
    assert list(df["success"]) == [True, True, False]
    assert df["data"].iloc[0] == {"value": 1}


def test_events_frame(runner: IntegrationRunner) -> None:
    df = frames.events(runner)
    assert list(df.columns) == ["at", "name", "old_state", "new_state"]
    assert df.iloc[0][["name", "old_state", "new_state"]].tolist() == ["down", "closed", "open"]
    assert str(df["at"].dtype) == "datetime64[ns, UTC]"


def test_every_frame_is_shaped_when_there_is_nothing() -> None:
    empty = IntegrationRunner(IntegrationRegistry())
    from toolkit import IntegrationResults

    shapes = {
        "calls": frames.calls(empty),
        "events": frames.events(empty),
        "breakers": frames.breakers(empty),
        "latency": frames.latency(empty),
        "results": frames.results(IntegrationResults()),
    }
    assert all(len(df) == 0 for df in shapes.values())
    assert list(shapes["calls"].columns) == CALL_COLUMNS
    assert str(shapes["calls"]["started_at"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(shapes["breakers"]["state"].dtype, pd.CategoricalDtype)
    assert str(shapes["events"]["at"].dtype) == "datetime64[ns, UTC]"
    assert len(shapes["latency"].columns) == 11


def test_latency_lists_integrations_that_have_not_run_yet() -> None:
    runner = IntegrationRunner(registry_of(Probe("never")))
    df = frames.latency(runner)
    assert list(df["name"]) == ["never"]
    assert df["calls"].iloc[0] == 0 and pd.isna(df["p95_ms"].iloc[0])


def test_calls_are_ordered_by_start_even_when_a_slow_call_finishes_last() -> None:
    runner = IntegrationRunner(registry_of(Probe("slow", "sleep", delay=0.05), Probe("quick")))
    runner.run_all_sync()
    assert [r.name for r in runner.history] == ["quick", "slow"]  # finishing order
    df = frames.calls(runner)
    assert list(df["name"]) == ["slow", "quick"]
    assert df["started_at"].is_monotonic_increasing
    runner.close()


def test_results_accepts_a_runner_for_its_last_run() -> None:
    runner = IntegrationRunner(registry_of(Probe("a"), Probe("b", "raise")))
    assert len(frames.results(runner)) == 0
    runner.run_all_sync()
    assert list(frames.results(runner)["success"]) == [True, False]
    with pytest.raises(TypeError, match="IntegrationResults of a run"):
        frames.results("not results")  # type: ignore[arg-type]
    runner.close()


def test_breakers_show_the_window_rates_nan_below_min_calls() -> None:
    probes = [Probe("rated", "raise"), Probe("counted", "raise")]
    runner = IntegrationRunner(
        registry_of(*probes),
        fail_max=9,
        policies={"rated": {"window": 4, "min_calls": 2, "failure_rate": 1.0}},
    )
    runner.run_all_sync()
    df = frames.breakers(runner).set_index("name")
    assert df[["window_failure_rate", "window_slow_rate"]].isna().all().all()
    probes[0].behaviour = "ok"
    runner.run_all_sync()
    df = frames.breakers(runner).set_index("name")
    assert df.loc["rated", "window_failure_rate"] == 0.5
    assert df.loc["rated", "window_slow_rate"] == 0.0
    assert df["window_failure_rate"].isna()["counted"]
    assert str(df["window_failure_rate"].dtype) == "float64"
    assert list(df.columns)[-2:] == ["window_failure_rate", "window_slow_rate"]
    runner.close()
