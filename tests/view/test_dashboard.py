"""toolkit.Dashboard: its model, clicks, delta refreshes and live timer, driven headless.

The page draws exactly the model (``dash.rows``, ``dash.head``, the calls and events),
and every click arrives as ``dash.click(...)``, so these tests see what a person
would, without a browser; ``test_browser.py`` checks the drawing itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from probes import Probe, registry_of

from toolkit import ConfigError, Dashboard, Fault, IntegrationRunner, frames
from toolkit._engine.history import CallHistory
from toolkit._view.dashboard.model import TEXT_CHARS, figures, headline, spark, text, why
from toolkit._view.dashboard.recent import Call, RecentCalls

EVIL = "<img src=x onerror=alert(1)>"


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


def names_in(table: list[dict[str, Any]]) -> list[str]:
    return [entry["name"] for entry in table]


# ------------------------------------------------------------------ rows and clicks


def test_one_row_per_integration_with_its_state(dash: Dashboard) -> None:
    assert list(dash.rows) == ["alpha", "beta", "gamma"]
    for row in dash.rows.values():
        assert row["state"] == "closed" and row["why"] == "" and row["trial_at"] is None
        assert (row["failures"], row["fail_max"]) == (0, 2)
    assert dash.headline == "all 3 healthy"
    assert dash.head["controls"] == ["trip", "reset", "rerun", "fault"]


def test_trip_opens_only_that_row_and_says_why_and_since_when(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    assert dash.click("trip", "beta")
    status = runner.status("beta")
    beta = dash.rows["beta"]
    assert status.state == beta["state"] == "open"
    assert beta["why"] == "tripped by hand"
    assert status.opened_at is not None
    assert beta["trial_at"] == pytest.approx(status.opened_at.timestamp() + 30, abs=0.01)
    assert beta["since"] == pytest.approx(runner.events[-1].at.timestamp(), abs=0.001)
    assert dash.rows["alpha"]["state"] == dash.rows["gamma"]["state"] == "closed"
    assert dash._model["events"][-1]["new"] == "open"
    assert dash.headline == "1 of 3 failing: beta (open 0 s)"
    assert dash.rows["beta"]["lane"][-1][1] == "open"


def test_reset_closes_a_tripped_breaker(dash: Dashboard, runner: IntegrationRunner) -> None:
    dash.click("trip", "alpha")
    dash.click("reset", "alpha")
    assert runner.status("alpha").state == dash.rows["alpha"]["state"] == "closed"
    assert dash.rows["alpha"]["why"] == ""


def test_rerun_outside_a_loop_runs_synchronously(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    probe = runner.integrations["alpha"]
    assert isinstance(probe, Probe)
    dash.click("rerun", "alpha")
    assert probe.calls == 1
    assert dash.rows["alpha"]["last"]["outcome"] == "ok"
    assert dash.rows["alpha"]["spark"] == [
        [
            pytest.approx(dash.rows["alpha"]["last"]["ms"]),
        ],
        "o",
    ]
    assert names_in(dash._model["calls"]) == ["alpha"]


def test_run_all_fills_calls_latency_failures_and_why(dash: Dashboard) -> None:
    dash.click("run_all")
    dash.click("run_all")
    calls = dash._model["calls"]
    assert len(calls) == 6 and calls[-1]["run"] == 2
    gamma = dash.rows["gamma"]
    assert gamma["state"] == "open"  # fail_max reached
    assert gamma["failures"] == 2 and "gamma is down" in gamma["last"]["error"]
    assert gamma["why"] == "2 errors"
    assert gamma["fig"]["calls"] == 2 and gamma["fig"]["errors"] == 2
    assert gamma["spark"][1] == "ee"  # two errors, oldest first
    assert dash.rows["alpha"]["fig"]["ok"] == 2 and dash.rows["alpha"]["fig"]["p95"] is not None
    assert dash.headline.startswith("1 of 3 failing: gamma (open")


def test_fault_selector_injects_and_clears(dash: Dashboard, runner: IntegrationRunner) -> None:
    dash.click("fault", "alpha", "fail")
    fault = runner.fault("alpha")
    assert fault is not None and fault.kind == "fail"
    assert dash.rows["alpha"]["fault"] == fault.label and dash.rows["alpha"]["fault_kind"] == "fail"
    dash.click("rerun", "alpha")
    assert runner.status("alpha").last_outcome == "error"
    dash.click("fault", "alpha", "slow")
    fault = runner.fault("alpha")
    assert fault is not None and fault.kind == "slow" and fault.seconds == pytest.approx(0.25)
    dash.click("fault", "alpha", "none")
    assert runner.fault("alpha") is None and dash.rows["alpha"]["fault"] is None


def test_the_fault_chip_clears_its_own_fault(dash: Dashboard, runner: IntegrationRunner) -> None:
    runner.inject("alpha", Fault.hang())
    runner.inject("beta", Fault.fail())
    dash.click("clear_fault", "alpha")
    assert runner.fault("alpha") is None and runner.fault("beta") is not None
    assert dash.rows["alpha"]["fault_kind"] == "none" and dash.rows["beta"]["fault_kind"] == "fail"


def test_fault_injected_from_code_shows_in_its_row(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    runner.inject("beta", Fault.hang())
    dash.refresh()
    assert dash.rows["beta"]["fault_kind"] == "hang" and dash.rows["beta"]["fault"] == "hang()"
    assert runner.fault("beta") == Fault.hang()  # showing it did not inject it again
    runner.clear_faults()
    dash.refresh()
    assert dash.rows["beta"]["fault"] is None


def test_reset_all_and_clear_faults(dash: Dashboard, runner: IntegrationRunner) -> None:
    runner.trip("alpha")
    runner.isolate("beta")
    runner.inject("gamma", Fault.fail())
    dash.refresh()
    assert dash.rows["beta"]["why"] == "isolated by hand: no trial until Reset"
    dash.click("reset_all")
    assert [s.state for s in runner.statuses()] == ["closed"] * 3
    assert {r["state"] for r in dash.rows.values()} == {"closed"}
    dash.click("clear_faults")
    assert runner.fault("gamma") is None and dash.rows["gamma"]["fault"] is None


def test_policy_fields_apply_at_once(dash: Dashboard, runner: IntegrationRunner) -> None:
    assert dash.head["policy"] == {"timeout": 0.5, "fail_max": 2, "reset_timeout": 30.0}
    dash.click("set_policy", "timeout", 0.2)
    dash.click("set_policy", "fail_max", 5)
    dash.click("set_policy", "reset_timeout", 7.0)
    assert runner.policy("alpha").timeout == 0.2
    assert runner.breaker("beta").fail_max == 5
    assert runner.breaker("gamma").reset_timeout == 7.0
    assert dash.rows["alpha"]["fail_max"] == 5 and dash.rows["alpha"]["timeout"] == 0.2
    assert dash.head["policy"] == {"timeout": 0.2, "fail_max": 5, "reset_timeout": 7.0}


def test_policy_changed_from_code_shows_in_the_fields(
    dash: Dashboard, runner: IntegrationRunner
) -> None:
    runner.set_policy(fail_max=9)
    dash.refresh()
    assert dash.head["policy"]["fail_max"] == 9


def test_refused_policy_value_is_shown_and_the_fields_keep_what_is_in_force(
    dash: Dashboard, runner: IntegrationRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="toolkit.dashboard"):
        assert not dash.click("set_policy", "timeout", -1.0)
    assert "timeout must be a finite number of seconds > 0, got -1.0" in dash.last_error
    assert dash.head["error"] == dash.last_error
    assert dash.head["policy"]["timeout"] == 0.5 and runner.default_policy.timeout == 0.5
    assert any("set_policy 'timeout' failed" in r.getMessage() for r in caplog.records)


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
        assert not dash.click("trip", "alpha")  # does not raise
    assert dash.last_error.endswith(
        "trip 'alpha' failed: RuntimeError: storage for alpha <unreachable>"
    )
    assert caplog.records and caplog.records[-1].exc_info is not None
    dash.click("reset", "alpha")  # the next action that works clears it
    assert dash.last_error == "" and dash.head["error"] == ""


def test_an_unknown_control_or_integration_is_reported(dash: Dashboard) -> None:
    assert not dash.click("explode")
    assert "no control 'explode' on this dashboard" in dash.last_error
    assert not dash.click("rerun", "nope")
    assert "unknown integration 'nope'" in dash.last_error


def test_texts_are_carried_as_capped_text_never_markup() -> None:
    long_error = "x" * 5000
    evil = Probe(EVIL, "raise", display_name=f"<b>{EVIL}</b>")  # its error repeats its name
    runner = IntegrationRunner(registry_of(evil, Probe("ok")), timeout=0.5, fail_max=1)
    runner.inject("ok", Fault.fail(long_error))
    dash = Dashboard(runner)
    try:
        dash.click("run_all")
        assert dash.rows[EVIL]["label"] == f"<b>{EVIL}</b>"  # the page sets it as textContent
        error = dash.rows["ok"]["last"]["error"]
        assert len(error) < 400 and error.endswith("characters]")
        json.dumps(dash._model, allow_nan=False)  # the model is plain JSON, no NaN
    finally:
        dash.close()
        runner.close()


def test_text_survives_a_value_whose_str_raises() -> None:
    class Hostile:
        def __str__(self) -> str:
            raise ValueError("no")

        __repr__ = __str__

    assert text(Hostile()).startswith("<unreadable ") and "Hostile" in text(Hostile())


def test_tables_show_a_bounded_tail_of_history(runner: IntegrationRunner) -> None:
    for _ in range(10):
        runner.run_all_sync()
    dash = Dashboard(runner, recent=5)
    try:
        calls = dash._model["calls"]
        assert len(calls) == 5 and dash.head["totals"]["calls"] == 30
        assert {c["run"] for c in calls} <= {9, 10} and calls[-1]["run"] == 10
    finally:
        dash.close()


def test_bad_arguments_are_refused(runner: IntegrationRunner) -> None:
    with pytest.raises(ConfigError, match="interval must be a number of seconds > 0, got 0"):
        Dashboard(runner, interval=0)
    with pytest.raises(ConfigError, match="recent must be a whole number"):
        Dashboard(runner, recent=0)
    with pytest.raises(ConfigError, match="window must be a whole number"):
        Dashboard(runner, window=-1)


def test_close_stops_and_closes_the_widget(dash: Dashboard) -> None:
    dash.close()
    assert dash.comm is None
    assert not dash.start()
    assert "closed" in repr(dash)


# -------------------------------------------------------------- what is sent


def messages_of(dash: Dashboard, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what the dashboard sends to a page that is listening."""
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(dash, "send", lambda content, buffers=None: sent.append(content))
    dash._message(dash, {"t": "ping"})
    return sent


def test_a_refresh_sends_only_the_rows_that_changed(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = messages_of(dash, monkeypatch)
    dash.refresh()
    assert sent[-1]["t"] == "delta" and set(sent[-1]) == {"t", "now"}  # nothing moved
    runner.trip("beta")
    dash.refresh()
    assert set(sent[-1]["rows"]) == {"beta"} and sent[-1]["events"][-1]["name"] == "beta"
    runner.run_one_sync("alpha")
    dash.refresh()
    assert set(sent[-1]["rows"]) == {"alpha"}
    assert [c["name"] for c in sent[-1]["calls"]] == ["alpha"]  # only the new call


def test_one_changed_integration_of_two_hundred_costs_under_two_kilobytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runner = IntegrationRunner(registry_of(*(Probe(f"service-{i:03}") for i in range(200))))
    try:
        for _ in range(3):
            runner.run_all_sync()
        dash = Dashboard(runner)
        sent = messages_of(dash, monkeypatch)
        runner.run_one_sync("service-042")
        dash.refresh()
        assert set(sent[-1]["rows"]) == {"service-042"}
        assert dash.sent[-1] <= 2048, dash.sent[-1]
        dash.close()
    finally:
        runner.close()


def test_a_page_gets_the_whole_model_and_its_clicks_are_acknowledged(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = messages_of(dash, monkeypatch)
    dash._message(dash, {"t": "hello"})
    assert sent[-1]["t"] == "full"
    assert list(json.loads(sent[-1]["json"])["rows"]) == ["alpha", "beta", "gamma"]
    dash._message(dash, {"t": "act", "id": 7, "do": "trip", "name": "gamma", "value": None})
    assert runner.status("gamma").state == "open"
    assert sent[-1] == {"t": "ack", "id": 7, "ok": True}
    assert sent[-2]["rows"]["gamma"]["state"] == "open"  # the delta came before the ack


def test_without_a_page_listening_nothing_is_sent_until_it_speaks(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(dash, "send", lambda content, buffers=None: sent.append(content))
    runner.trip("alpha")
    dash.refresh()
    assert sent == []  # no page spoke: a closed page lets the kernel go idle
    dash._message(dash, {"t": "ping"})
    assert sent[-1]["t"] == "full"
    assert json.loads(sent[-1]["json"])["rows"]["alpha"]["state"] == "open"


# ------------------------------------------------------------ inside a running loop


async def test_rerun_in_a_loop_is_scheduled_and_shows_running() -> None:
    slow = Probe("slow", "sleep", delay=0.2)
    runner = IntegrationRunner(registry_of(slow, Probe("other")), timeout=1.0)
    dash = Dashboard(runner)
    try:
        dash.click("rerun", "slow")  # returns at once: the run is a task on this loop
        assert slow.calls == 0
        assert dash.rows["slow"]["running"] and not dash.rows["other"]["running"]
        await asyncio.sleep(0.05)
        dash.refresh()
        assert slow.calls == 1 and runner.in_flight("slow") and dash.rows["slow"]["running"]
        await dash.wait()
        assert not dash.rows["slow"]["running"]
        assert dash.rows["slow"]["last"]["outcome"] == "ok"
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
        assert dash.rows["slow"]["running"]
        dash.click("rerun", "slow")
        await task
        await dash.wait()
        assert slow.calls == 1
        dash.refresh()
        assert not dash.rows["slow"]["running"]
    finally:
        dash.close()
        await runner.aclose()


async def test_run_all_in_a_loop_lands_in_the_calls_table(dash: Dashboard) -> None:
    dash.click("run_all")
    assert dash._model["calls"] == []
    await dash.wait()
    assert len(dash._model["calls"]) == 3


async def test_a_failing_scheduled_run_is_reported(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(name: str) -> None:
        raise RuntimeError("loop trouble")

    monkeypatch.setattr(runner, "run_one", broken)
    dash.click("rerun", "beta")
    await dash.wait()
    assert dash.last_error.endswith("rerun 'beta' failed: RuntimeError: loop trouble")
    assert dash.head["error"] == dash.last_error
    assert not dash.rows["beta"]["running"]


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
    await until(lambda: len(dash._model["calls"]) == 3)
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
    await until(lambda: "refresh failed: ZeroDivisionError" in dash.head.get("error", ""))
    assert dash.live
    monkeypatch.setattr(runner, "statuses", real)
    runner.trip("alpha")
    await until(lambda: dash.rows["alpha"]["state"] == "open")


async def test_displaying_the_dashboard_starts_its_refresh(dash: Dashboard) -> None:
    assert not dash.live
    bundle = dash._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle[0]
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


# ------------------------------------------------------------- why, headline, window


def fill(history: CallHistory, rows: list[tuple[str, str, float]]) -> None:
    for name, outcome, seconds in rows:
        history.append(1, name, 0.0, seconds, outcome, None, "closed", "closed", None, False)  # type: ignore[arg-type]


def test_why_counts_the_failures_that_opened_it() -> None:
    calls = [
        Call(0.0, 0.1, "ok", "closed", "closed"),
        Call(1.0, 0.5, "timeout", "closed", "closed"),
        Call(2.0, 0.1, "error", "closed", "closed"),
        Call(3.0, 0.5, "timeout", "closed", "open"),
    ]
    assert why("open", 3.5, calls, None, False) == "2 timeouts and 1 error"
    trial = [*calls, Call(40.0, 0.5, "timeout", "half-open", "open")]
    assert why("open", 40.5, trial, None, False) == "its trial call timed out"
    assert why("open", 50.0, calls, 50.0, False) == "tripped by hand"
    assert why("open", 60.0, [], None, True) == "opened by another worker"
    assert why("open", None, [], None, True) == "opened by another worker"
    assert why("closed", 1.0, calls, None, False) == ""


def test_headline_names_the_failing_worst_first() -> None:
    rows: list[dict[str, Any]] = [
        {"label": "Geocoder", "state": "closed", "since": None, "last": {"outcome": "error"}},
        {"label": "Payments gateway", "state": "open", "since": 60.0, "last": None},
        {"label": "Weather", "state": "closed", "since": None, "last": {"outcome": "ok"}},
        {"label": "Search", "state": "closed", "since": None, "last": None},
        {"label": "CRM", "state": "closed", "since": None, "last": None},
    ]
    assert headline(rows, 100.0) == "2 of 5 failing: Payments gateway (open 40 s), Geocoder"
    assert headline(rows[2:], 100.0) == "all 3 healthy"


def test_recent_calls_match_frames_latency(runner: IntegrationRunner) -> None:
    runner.inject("beta", Fault.slow(0.01))
    for _ in range(4):
        runner.run_all_sync()
    dash = Dashboard(runner)
    try:
        expected = frames.latency(runner).set_index("name")
        for name, row in dash.rows.items():
            want, fig = expected.loc[name], row["fig"]
            assert fig["calls"] == want["calls"] and fig["ok"] == want["ok"]
            assert fig["skipped"] == want["circuit_open"]
            if fig["p95"] is None:
                assert want["p95_ms"] != want["p95_ms"]  # NaN
            else:
                assert fig["p50"] == pytest.approx(want["p50_ms"], abs=0.05)
                assert fig["p95"] == pytest.approx(want["p95_ms"], abs=0.05)
    finally:
        dash.close()


def test_recent_calls_read_only_new_calls_and_survive_clear_and_overflow() -> None:
    history = CallHistory(10)
    recent = RecentCalls(3)
    fill(history, [("a", "ok", 0.001), ("b", "error", 0.002)])
    assert recent.update(history, ["a", "b"]) == {"a", "b"}
    assert recent.update(history, ["a", "b"]) == set()
    fill(history, [("a", "ok", 0.003), ("a", "ok", 0.005), ("a", "timeout", 0.5)])
    assert recent.update(history, ["a", "b"]) == {"a"}
    assert [c.outcome for c in recent.of("a")] == ["ok", "ok", "timeout"]  # the last 3 only
    history.clear()
    fill(history, [("c", "circuit_open", 0.0)])
    recent.update(history, ["a", "b", "c"])
    assert [c.outcome for c in recent.of("c")] == ["circuit_open"] and not recent.of("a")
    fill(history, [("d", "ok", 0.001)] * 25)  # more than the history keeps
    recent.update(history, ["d"])
    assert len(recent.of("d")) == 3 and not recent.of("c")


def test_durations_that_are_not_numbers_are_left_out_of_the_figures() -> None:
    calls = [Call(0.0, ms / 1000, "ok", "closed", "closed") for ms in (5.0, float("nan"), 9.0)]
    fig = figures(calls)
    assert fig["calls"] == 3 and fig["ok"] == 3
    assert (fig["p50"], fig["max"]) == (7.0, 9.0)  # NaN left out
    json.dumps(spark(calls), allow_nan=False)  # and the sparkline stays plain JSON


def test_a_huge_error_is_capped_everywhere_with_a_note_of_the_cut() -> None:
    huge = "word " * 400_000  # 2,000,000 characters
    runner = IntegrationRunner(registry_of(Probe("big")), timeout=0.5, fail_max=5)
    runner.inject("big", Fault.fail(huge))
    dash = Dashboard(runner)
    try:
        dash.click("run_all")
        model = json.dumps(dash._model, ensure_ascii=False)
        error = runner.history[-1].error
        assert error is not None and len(error) > 1_900_000
        assert len(model) < 20 * TEXT_CHARS + 50_000  # the error is carried capped, not whole
        assert f"… [+{len(error) - TEXT_CHARS:,} characters]" in model
    finally:
        dash.close()
        runner.close()


def test_a_failing_handler_whose_error_text_raises_is_still_shown(
    dash: Dashboard, runner: IntegrationRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unreadable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    def boom(name: str) -> None:
        raise Unreadable()

    monkeypatch.setattr(runner, "trip", boom)
    assert not dash.click("trip", "alpha")
    assert dash.last_error.endswith("trip 'alpha' failed: Unreadable: Unreadable()")  # its repr


def test_a_rate_window_shows_its_failure_rate() -> None:
    probe = Probe("rated", "raise")
    runner = IntegrationRunner(
        registry_of(probe), policies={"rated": {"window": 4, "min_calls": 2, "failure_rate": 1.0}}
    )
    dashboard = Dashboard(runner, interval=0.05)
    try:
        runner.run_all_sync()
        dashboard.refresh()
        assert dashboard.rows["rated"]["rates"] is None  # below min_calls: no rate
        assert (dashboard.rows["rated"]["failures"], dashboard.rows["rated"]["fail_max"]) == (1, 3)
        probe.behaviour = "ok"
        runner.run_all_sync()
        dashboard.refresh()
        assert dashboard.rows["rated"]["rates"] == {"failure": 0.5, "slow": 0.0}
    finally:
        dashboard.close()
        runner.close()
