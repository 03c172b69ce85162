"""Fleet.dashboard(): live rows for every breaker in Redis, fleet-wide clicks, texts as text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pybreaker
import pytest
from loopback_redis import RedisServer
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import ConfigError, Fleet, IntegrationRunner, RedisStorage
from toolkit._fleet.dashboard import FleetDashboard

EVIL = "<img src=x onerror=alert(1)>"


def badge_state(dash: FleetDashboard, name: str) -> str:
    state: str = dash.rows[name]["state"]
    return state


@pytest.fixture
def runner(redis_server: RedisServer) -> Iterator[IntegrationRunner]:
    storage = RedisStorage(redis_server.url, "ns", worker="w1")
    made = IntegrationRunner(
        registry_of(Probe("pay"), Probe("mail", "raise")),
        storage=storage,
        fail_max=1,
        reset_timeout=30.0,
    )
    yield made
    made.close()
    storage.close()


@pytest.fixture
def dash(redis_server: RedisServer, runner: IntegrationRunner) -> Iterator[FleetDashboard]:
    fleet = Fleet(redis_server.url, "ns")
    dashboard = fleet.dashboard(interval=0.05)
    yield dashboard
    dashboard.close()
    fleet.close()


def test_one_row_per_breaker_with_its_badge(
    dash: FleetDashboard, runner: IntegrationRunner
) -> None:
    runner.run_all_sync()
    dash.refresh()
    assert list(dash.rows) == ["mail", "pay"]
    mail = dash.rows["mail"]
    assert badge_state(dash, "mail") == "open" and mail["trial_at"] is not None
    assert mail["why"] == "1 failure in a row (fail_max 1)" and mail["since"] is not None
    assert badge_state(dash, "pay") == "closed"
    assert (mail["failures"], mail["fail_max"]) == (1, 1) and "w1" in mail["detail"]
    assert dash.head["title"] == "Fleet health · namespace ns" and dash.head["storage"]["ok"]
    assert dash.headline.startswith("1 of 2 failing: mail (open")


def test_trip_and_reset_buttons_act_in_every_worker(
    dash: FleetDashboard, runner: IntegrationRunner
) -> None:
    pay = runner.integrations["pay"]
    dash.click("trip", "pay")
    assert badge_state(dash, "pay") == "open"
    runner.run_all_sync()
    assert pay.calls == 0  # type: ignore[attr-defined]
    dash.click("reset", "pay")
    assert badge_state(dash, "pay") == "closed"
    runner.run_all_sync()
    assert pay.calls == 1  # type: ignore[attr-defined]
    dash.click("isolate", "pay")
    assert badge_state(dash, "pay") == "isolated" and runner.status("pay").state == "isolated"
    assert dash.rows["pay"]["why"] == "isolated by hand: no trial until Reset"
    dash.click("reset_all")
    assert {badge_state(dash, n) for n in dash.rows} == {"closed"}


def test_breakers_of_new_workers_appear(
    dash: FleetDashboard, redis_server: RedisServer, runner: IntegrationRunner
) -> None:
    storage = pybreaker.CircuitRedisStorage("closed", redis_server.client(), namespace="ns:legacy")
    assert storage.state == "closed"
    dash.refresh()
    assert list(dash.rows) == ["legacy", "mail", "pay"]
    assert "plain pybreaker" in dash.rows["legacy"]["detail"]


def test_calls_latency_and_workers_show_every_worker(
    dash: FleetDashboard, runner: IntegrationRunner
) -> None:
    runner.run_all_sync()
    runner.storage.flush(5.0)  # type: ignore[attr-defined]
    dash.refresh()
    calls = dash._model["calls"]
    assert {c["worker"] for c in calls} == {"w1"}
    assert any("RuntimeError: mail is down" in (c["error"] or "") for c in calls)
    assert dash.rows["pay"]["fig"]["calls"] == 1 and dash.rows["pay"]["spark"][1] == "o"
    assert dash._model["workers"][0]["worker"] == "w1"


def test_text_from_redis_is_carried_as_text(
    dash: FleetDashboard, redis_server: RedisServer
) -> None:
    storage = RedisStorage(redis_server.url, "ns", worker=EVIL)
    evil = IntegrationRunner(registry_of(Probe(EVIL, "raise")), storage=storage)
    evil.run_all_sync()
    evil.close()
    storage.close()
    dash.refresh()
    assert EVIL in dash.rows and dash.rows[EVIL]["label"] == EVIL  # set as textContent
    assert {c["worker"] for c in dash._model["calls"]} >= {EVIL}
    json.dumps(dash._model, allow_nan=False)


def test_redis_going_away_is_shown_not_raised(
    dash: FleetDashboard, redis_server: RedisServer, runner: IntegrationRunner
) -> None:
    redis_server.stop()
    dash.refresh()
    assert not dash.available and dash.head["storage"]["ok"] is False
    assert "Redis unreachable" in dash.head["storage"]["text"]
    assert "StorageError" in dash.last_error and list(dash.rows) == ["mail", "pay"]
    assert not dash.click("trip", "pay")  # a click while Redis is down reports, never raises
    assert "trip 'pay' failed" in dash.last_error
    redis_server.start()
    dash.refresh()
    assert dash.available and dash.head["storage"]["ok"] and dash.last_error == ""


async def test_it_refreshes_while_shown_and_stops_on_close(
    dash: FleetDashboard, redis_server: RedisServer
) -> None:
    assert dash._repr_mimebundle_() is not None and dash.live
    start = dash.refreshes
    await asyncio.sleep(0.3)
    assert dash.refreshes >= start + 3
    dash.close()
    stopped = dash.refreshes
    await asyncio.sleep(0.2)
    assert not dash.live and dash.refreshes == stopped
    assert "closed" in repr(dash)


def test_bad_interval_is_refused(redis_server: RedisServer) -> None:
    with Fleet(redis_server.url, "ns") as fleet, pytest.raises(ConfigError, match="interval"):
        fleet.dashboard(interval=0)


def test_made_while_redis_is_down_it_says_so(redis_server: RedisServer) -> None:
    redis_server.stop()
    with Fleet(redis_server.url, "ns") as fleet:
        dashboard = fleet.dashboard()
        try:
            assert not dashboard.available and dashboard.head["storage"]["ok"] is False
            assert not dashboard.rows
        finally:
            dashboard.close()


def test_timed_refreshes_find_our_breakers_without_scanning_every_tick(
    dash: FleetDashboard, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = redis_server.client()
    with RedisStorage(redis_server.url, "ns", record_calls=False) as storage:
        storage.state_storage("maps")  # a new breaker of ours: listed in the set
        legacy = pybreaker.CircuitRedisStorage("closed", client, namespace="ns:legacy")
        assert legacy.state == "closed"
        before = command_counts(client)
        for _ in range(3):
            dash._safe_refresh()  # what the timer does
        assert "scan" not in commands_during(client, before)
        assert list(dash.rows) == ["mail", "maps", "pay"]  # the plain one waits for a SCAN
        monkeypatch.setattr("toolkit._fleet.control.SCAN_EVERY", 0.0)
        dash._safe_refresh()
        assert "scan" in commands_during(client, before)
        assert list(dash.rows) == ["legacy", "mail", "maps", "pay"]
    client.close()
