"""toolkit.Dashboard: rows, controls, live refresh and escaping, driven headless by clicks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import ipywidgets as widgets
import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Dashboard, Fault, IntegrationRunner, frames
from toolkit._engine.history import CallHistory
from toolkit._view.dashboard.stats import LatencyWindow

EVIL = "<img src=x onerror=alert(1)>"


def html_values(widget: widgets.Widget) -> list[str]:
    """Every HTML value in the widget tree."""
    values = [widget.value] if isinstance(widget, widgets.HTML) else []
    for child in getattr(widget, "children", ()):
        values += html_values(child)
    return values


@pytest.fixture
def runner() -> Iterator[IntegrationRunner]:
    probes = [Probe("alpha"), Probe("beta"), Probe("gamma", "raise")]
    runner = IntegrationRunner(registry_of(*probes), timeout=0.5, fail_max=2, reset_timeout=30)
    yield runner
    runner.close()


@pytest.fixture
def dash(runner: IntegrationRunner) -> Iterator[Dashboard]:
    dashboard = Dashboard(runner, interval=0.05)
    yield dashboard
    dashboard.close()


def badge_state(dash: Dashboard, name: str) -> str:
    value: str = dash.rows[name].badge.value
    return value.split('data-state="', 1)[1].split('"', 1)[0]


# ------------------------------------------------------------------ rows and clicks


def test_one_row_per_integration_with_state_badge(dash: Dashboard) -> None:
    assert list(dash.rows) == ["alpha", "beta", "gamma"]
    for name in dash.rows:
        assert badge_state(dash, name) == "closed"
        assert "#1a7f37" in dash.rows[name].badge.value  # green
        assert "0 / 2" in dash.rows[name].details.value
    assert "3 integrations" in dash.title.value


def test_trip_turns_only_that_badge_red(dash: Dashboard, runner: IntegrationRunner) -> None:
    dash.rows["beta"].trip.click()
    assert runner.status("beta").state == "open"
    assert badge_state(dash, "beta") == "open"
    assert "#cf222e" in dash.rows["beta"].badge.value
    assert "trial in 30 s" in dash.rows["beta"].badge.value
    assert badge_state(dash, "alpha") == badge_state(dash, "gamma") == "closed"
    assert 'data-state="open"' in dash.events.value


def test_reset_closes_a_tripped_breaker(dash: Dashboard, runner: IntegrationRunner) -> None:
    dash.rows["alpha"].trip.click()
    dash.rows["alpha"].reset.click()
    assert runner.status("alpha").state == "closed"
    assert badge_state(dash, "alpha") == "closed"


def test_rerun_outside_a_loop_runs_synchronously(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    probe = runner.integrations["alpha"]
    assert isinstance(probe, Probe)
    dash.rows["alpha"].rerun.click()
    assert probe.calls == 1
    assert 'data-outcome="ok"' in dash.rows["alpha"].details.value
    assert 'data-rows="1"' in dash.calls.value and 'data-name="alpha"' in dash.calls.value


def test_run_all_fills_calls_latency_and_failures(dash: Dashboard) -> None:
    dash.controls.run_all.click()
    dash.controls.run_all.click()
    assert 'data-rows="6"' in dash.calls.value
    assert 'data-run="2"' in dash.calls.value
    assert 'data-rows="3"' in dash.latency.value
    assert "2 / 2" in dash.rows["gamma"].details.value
    assert "gamma is down" in dash.rows["gamma"].details.value
    assert badge_state(dash, "gamma") == "open"  # fail_max reached


def test_fault_selector_injects_and_clears(dash: Dashboard, runner: IntegrationRunner) -> None:
    row = dash.rows["alpha"]
    row.fault.value = "fail"
    fault = runner.fault("alpha")
    assert fault is not None and fault.kind == "fail"
    row.rerun.click()
    assert runner.status("alpha").last_outcome == "error"
    row.fault.value = "slow"
    fault = runner.fault("alpha")
    assert fault is not None and fault.kind == "slow" and fault.seconds == pytest.approx(0.25)
    row.fault.value = "none"
    assert runner.fault("alpha") is None


def test_fault_injected_from_code_shows_in_selector(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    runner.inject("beta", Fault.hang())
    dash.refresh()
    assert dash.rows["beta"].fault.value == "hang"
    assert runner.fault("beta") == Fault.hang()  # showing it did not inject it again
    runner.clear_faults()
    dash.refresh()
    assert dash.rows["beta"].fault.value == "none"


def test_reset_all_and_clear_faults(dash: Dashboard, runner: IntegrationRunner) -> None:
    runner.trip("alpha")
    runner.isolate("beta")
    runner.inject("gamma", Fault.fail())
    dash.controls.reset_all.click()
    assert [s.state for s in runner.statuses()] == ["closed"] * 3
    dash.controls.clear_faults.click()
    assert runner.fault("gamma") is None
    assert dash.rows["gamma"].fault.value == "none"


def test_policy_fields_apply_at_once(dash: Dashboard, runner: IntegrationRunner) -> None:
    assert dash.controls.timeout.value == 0.5
    dash.controls.timeout.value = 0.2
    dash.controls.fail_max.value = 5
    dash.controls.reset_timeout.value = 7.0
    assert runner.policy("alpha").timeout == 0.2
    assert runner.breaker("beta").fail_max == 5
    assert runner.breaker("gamma").reset_timeout == 7.0
    assert "0 / 5" in dash.rows["alpha"].details.value


def test_policy_changed_from_code_shows_in_fields(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    runner.set_policy(fail_max=9)
    dash.refresh()
    assert dash.controls.fail_max.value == 9


def test_refused_policy_value_is_shown_and_reverted(
    dash: Dashboard, runner: IntegrationRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="toolkit.dashboard"):
        dash.controls.timeout.value = -1.0
    assert "timeout must be a finite number of seconds > 0, got -1.0" in dash.last_error
    assert dash.controls.timeout.value == 0.5
    assert runner.default_policy.timeout == 0.5
    assert any("Set timeout failed" in r.getMessage() for r in caplog.records)


def test_handler_error_is_shown_and_logged_never_raised(
    dash: Dashboard,
    runner: IntegrationRunner,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(name: str) -> None:
        raise RuntimeError(f"storage for {name} <unreachable>")

    monkeypatch.setattr(runner, "trip", broken)
    with caplog.at_level(logging.ERROR, logger="toolkit.dashboard"):
        dash.rows["alpha"].trip.click()  # does not raise
    assert dash.last_error.endswith(
        "Trip 'alpha' failed: RuntimeError: storage for alpha <unreachable>"
    )
    assert "&lt;unreachable&gt;" in dash.error.value
    assert caplog.records and caplog.records[-1].exc_info is not None
    dash.rows["alpha"].reset.click()  # the next action that works clears it
    assert dash.last_error == ""


def test_integration_strings_are_escaped_everywhere() -> None:
    evil = Probe(EVIL, "raise", display_name=f"<b>{EVIL}</b>")  # its error repeats its name
    runner = IntegrationRunner(registry_of(evil, Probe("ok")), timeout=0.5, fail_max=1)
    runner.inject("ok", Fault.fail("<script>alert('x')</script>"))
    dash = Dashboard(runner)
    try:
        dash.controls.run_all.click()
        dash.rows[EVIL].trip.click()
        texts = "".join(html_values(dash))
        assert "<img" not in texts and "<script" not in texts
        assert "<b>&lt;b&gt;&lt;img" in dash.rows[EVIL].label.value  # display name escaped
        assert "&lt;img src=x onerror=alert(1)&gt;" in texts
        assert "&lt;script&gt;" in texts
        assert 'data-name="&lt;img src=x onerror=alert(1)&gt;"' in dash.rows[EVIL].badge.value
    finally:
        dash.close()
        runner.close()


def test_tables_show_a_bounded_tail_of_history(runner: IntegrationRunner) -> None:
    for _ in range(10):
        runner.run_all_sync()
    dash = Dashboard(runner, recent=5)
    try:
        assert 'data-rows="5"' in dash.calls.value
        assert "5 most recent of 30 calls" in dash.calls.value
        assert 'data-run="10"' in dash.calls.value and 'data-run="8"' not in dash.calls.value
    finally:
        dash.close()


def test_bad_arguments_are_refused(runner: IntegrationRunner) -> None:
    with pytest.raises(ConfigError, match="interval must be a number of seconds > 0, got 0"):
        Dashboard(runner, interval=0)
    with pytest.raises(ConfigError, match="recent must be a whole number"):
        Dashboard(runner, recent=0)
    with pytest.raises(ConfigError, match="latency window must be a whole number"):
        Dashboard(runner, window=-1)


def test_close_stops_and_closes_every_widget(dash: Dashboard) -> None:
    row = dash.rows["alpha"]
    dash.close()
    assert row.trip.comm is None and dash.calls.comm is None and dash.comm is None
    assert not dash.start()
    assert "closed" in repr(dash)


# ------------------------------------------------------------ inside a running loop


async def test_rerun_in_a_loop_is_scheduled_and_shows_running() -> None:
    slow = Probe("slow", "sleep", delay=0.2)
    runner = IntegrationRunner(registry_of(slow, Probe("other")), timeout=1.0)
    dash = Dashboard(runner)
    try:
        dash.rows["slow"].rerun.click()  # returns at once: the run is a task on this loop
        assert slow.calls == 0
        assert "running" in dash.rows["slow"].badge.value
        assert dash.rows["slow"].rerun.disabled
        assert "running" not in dash.rows["other"].badge.value
        await asyncio.sleep(0.05)
        dash.refresh()
        assert slow.calls == 1 and runner.in_flight("slow")
        assert dash.rows["slow"].rerun.disabled
        await dash.wait()
        assert "running" not in dash.rows["slow"].badge.value
        assert not dash.rows["slow"].rerun.disabled
        assert 'data-outcome="ok"' in dash.rows["slow"].details.value
    finally:
        dash.close()
        await runner.aclose()


async def test_rerun_while_in_flight_from_code_starts_nothing() -> None:
    slow = Probe("slow", "sleep", delay=0.1)
    runner = IntegrationRunner(registry_of(slow), timeout=1.0)
    dash = Dashboard(runner)
    try:
        task = asyncio.create_task(runner.run_one("slow"))
        await asyncio.sleep(0.01)
        dash.refresh()
        assert dash.rows["slow"].rerun.disabled
        dash.rows["slow"].rerun.click()
        await task
        await dash.wait()
        assert slow.calls == 1
        dash.refresh()
        assert not dash.rows["slow"].rerun.disabled
    finally:
        dash.close()
        await runner.aclose()


async def test_run_all_in_a_loop_lands_in_the_calls_table(dash: Dashboard) -> None:
    dash.controls.run_all.click()
    assert "No calls yet" in dash.calls.value
    await dash.wait()
    assert 'data-rows="3"' in dash.calls.value


async def test_a_failing_scheduled_run_is_reported(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(name: str) -> None:
        raise RuntimeError("loop trouble")

    monkeypatch.setattr(runner, "run_one", broken)
    dash.rows["beta"].rerun.click()
    await dash.wait()
    assert dash.last_error.endswith("Rerun 'beta' failed: RuntimeError: loop trouble")
    assert "running" not in dash.rows["beta"].badge.value


async def until(condition: object, timeout: float = 3.0) -> None:
    """Wait until ``condition()`` holds, polling the loop."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():  # type: ignore[operator]
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


async def test_timer_shows_runs_started_from_code_and_stops_on_close(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    assert dash.start() and dash.live
    await runner.run_all()
    await until(lambda: 'data-rows="3"' in dash.calls.value)
    dash.close()
    assert not dash.live
    count = dash.refreshes
    await asyncio.sleep(0.2)
    assert dash.refreshes == count


async def test_a_failing_refresh_is_shown_and_the_timer_keeps_going(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = runner.statuses
    monkeypatch.setattr(runner, "statuses", lambda: 1 / 0)
    dash.start()
    await until(lambda: "refresh failed: ZeroDivisionError" in dash.last_error)
    assert dash.live
    monkeypatch.setattr(runner, "statuses", real)
    runner.trip("alpha")
    await until(lambda: badge_state(dash, "alpha") == "open")


async def test_countdown_moves_without_any_change_to_the_runner() -> None:
    runner = IntegrationRunner(registry_of(Probe("alpha")), reset_timeout=0.6)
    dash = Dashboard(runner, interval=0.05)
    try:
        runner.trip("alpha")
        dash.refresh()
        assert "trial in 1 s" in dash.rows["alpha"].badge.value
        version = runner.version
        dash.start()
        await until(lambda: "trial due" in dash.rows["alpha"].badge.value)
        assert runner.version == version
    finally:
        dash.close()
        await runner.aclose()


async def test_displaying_the_dashboard_starts_its_refresh(dash: Dashboard) -> None:
    assert not dash.live
    bundle = dash._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert dash.live


async def test_a_dashboard_shown_inside_another_widget_follows_its_views(
    dash: Dashboard,
) -> None:
    # Inside a Tab or a VBox only the container is displayed; the front end then
    # reports the dashboard's views through _view_count, as it does here.
    assert dash._view_count == 0 and not dash.live
    dash._view_count = 1
    assert dash.live
    dash._view_count = 0
    assert not dash.live


def test_without_a_loop_there_is_no_timer(dash: Dashboard) -> None:
    assert not dash.start()
    assert "not refreshing" in repr(dash)


# ---------------------------------------------------------------- latency window


def fill(history: CallHistory, rows: list[tuple[str, str, float]]) -> None:
    for name, outcome, seconds in rows:
        history.append(1, name, 0.0, seconds, outcome, None, "closed", "closed", None, False)  # type: ignore[arg-type]


def test_latency_window_matches_frames_latency(runner: IntegrationRunner) -> None:
    runner.set_policy("alpha", timeout=0.5)
    runner.inject("beta", Fault.slow(0.01))
    for _ in range(4):
        runner.run_all_sync()
    window = LatencyWindow(100)
    window.update(runner.history)
    expected = frames.latency(runner).set_index("name")
    for row in window.rows():
        want = expected.loc[row.name]
        assert row.calls == want["calls"] and row.ok == want["ok"]
        assert row.skipped == want["circuit_open"]
        if row.p95_ms is None:
            assert want["p95_ms"] != want["p95_ms"]  # NaN
        else:
            assert row.p50_ms == pytest.approx(want["p50_ms"])
            assert row.p95_ms == pytest.approx(want["p95_ms"])


def test_latency_window_reads_only_new_calls_and_survives_clear_and_overflow() -> None:
    history = CallHistory(10)
    window = LatencyWindow(3)
    fill(history, [("a", "ok", 0.001), ("b", "error", 0.002)])
    assert window.update(history) and not window.update(history)
    fill(history, [("a", "ok", 0.003), ("a", "ok", 0.005), ("a", "timeout", 0.5)])
    window.update(history)
    rows = {r.name: r for r in window.rows()}
    assert rows["a"].calls == 3 and rows["a"].ok == 2 and rows["a"].failed == 1  # last 3 only
    assert rows["a"].max_ms == pytest.approx(500.0)
    history.clear()
    fill(history, [("c", "circuit_open", 0.0)])
    window.update(history)
    assert [r.name for r in window.rows()] == ["c"]
    assert window.rows()[0].skipped == 1 and window.rows()[0].p95_ms is None
    fill(history, [("d", "ok", 0.001)] * 25)  # more than the history keeps
    window.update(history)
    assert [(r.name, r.calls) for r in window.rows()] == [("d", 3)]


def test_latency_window_ignores_durations_that_are_not_numbers() -> None:
    from toolkit._view.dashboard.stats import _Recent

    recent = _Recent(3)
    for ms in (5.0, float("nan"), 9.0, 1.0, float("nan"), 4.0):
        recent.add("ok", ms)
    assert recent.ran == [1.0, 4.0]  # the last three calls, NaN left out
    assert recent.counts["ok"] == 3


def test_a_huge_error_is_capped_everywhere_with_a_note_of_the_cut() -> None:
    from toolkit._view.shown import SHOWN_CHARS

    huge = "word " * 400_000  # 2,000,000 characters
    runner = IntegrationRunner(registry_of(Probe("big")), timeout=0.5, fail_max=5)
    runner.inject("big", Fault.fail(huge))
    dash = Dashboard(runner)
    try:
        dash.controls.run_all.click()
        texts = "".join(html_values(dash))
        error = runner.history[-1].error
        assert error is not None and len(error) > 1_900_000
        assert len(texts) < 20 * SHOWN_CHARS + 50_000  # the error is shown capped, not whole
        assert f"… [+{len(error) - SHOWN_CHARS:,} characters]" in texts
    finally:
        dash.close()
        runner.close()


def test_a_failing_handler_whose_error_text_raises_is_still_shown(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    class Unreadable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    def boom() -> None:
        raise Unreadable()

    dash._act("probe", boom)
    assert dash.last_error.endswith("probe failed: Unreadable: Unreadable()")  # its repr


def test_a_rate_window_shows_its_failure_rate() -> None:
    probe = Probe("rated", "raise")
    runner = IntegrationRunner(
        registry_of(probe), policies={"rated": {"window": 4, "min_calls": 2, "failure_rate": 1.0}}
    )
    dashboard = Dashboard(runner, interval=0.05)
    try:
        runner.run_all_sync()
        dashboard.refresh()
        assert "1 / 3" in dashboard.rows["rated"].details.value  # below min_calls: no rate
        probe.behaviour = "ok"
        runner.run_all_sync()
        dashboard.refresh()
        assert "50% fail" in dashboard.rows["rated"].details.value
    finally:
        dashboard.close()
        runner.close()
