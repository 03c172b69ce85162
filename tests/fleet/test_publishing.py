"""Policies published in order and once; a run cancelled mid-write; an opened_at ahead again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from delay_proxy import DelayProxy
from fresh_loop import run_fresh
from loopback_redis import RedisServer
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import Fleet, IntegrationRunner, RedisStorage


@pytest.fixture
def made() -> Iterator[list[Any]]:
    """Runners and storages to close at the end, in reverse order."""
    things: list[Any] = []
    yield things
    for thing in reversed(things):
        thing.close()


def storage_of(url: str, made: list[Any], **options: Any) -> RedisStorage:
    storage = RedisStorage(url, "ns", worker="w1", record_calls=False, **options)
    made.append(storage)
    return storage


def runner_of(
    storage: RedisStorage, made: list[Any], *probes: Probe, **policy: Any
) -> IntegrationRunner:
    settings = {"timeout": 1.0, "fail_max": 3, "reset_timeout": 60.0, **policy}
    runner = IntegrationRunner(registry_of(*probes), storage=storage, **settings)
    made.append(runner)
    return runner


def trips(storage: RedisStorage) -> int:
    return storage.io.round_trips


def test_a_policy_set_while_redis_is_down_is_not_overwritten_by_the_one_before(
    redis_server: RedisServer, made: list[Any]
) -> None:
    redis_server.stop()
    storage = storage_of(redis_server.url, made)
    runner = runner_of(storage, made, Probe("p0", "ok"), fail_max=3)  # attach finds Redis down
    runner.set_policy("p0", fail_max=9)
    redis_server.start()
    assert storage.health.wait_ok(5.0)
    runner.run_all_sync()
    time.sleep(1.2)  # long enough for any write queued while Redis was down to land
    runner.run_all_sync()
    with Fleet(redis_server.url, "ns") as fleet:
        assert fleet.status("p0").fail_max == 9


def test_a_new_namespace_publishes_each_policy_once(
    redis_server: RedisServer, made: list[Any]
) -> None:
    client = redis_server.client()
    before = command_counts(client)
    storage = storage_of(redis_server.url, made)
    runner = runner_of(storage, made, Probe("p0", "ok"), Probe("p1", "ok"))
    runner.run_all_sync()  # the first run creates the breakers: no loss, nothing republished
    assert commands_during(client, before)["hset"] == 2
    client.close()


def test_two_runners_on_one_storage_do_not_republish_each_others_policies(
    redis_server: RedisServer, made: list[Any]
) -> None:
    storage = storage_of(redis_server.url, made)
    one = runner_of(storage, made, Probe("p0", "ok"), Probe("p1", "ok"))
    two = runner_of(storage, made, Probe("p0", "ok"), Probe("p1", "ok"))
    for runner in (one, two, one, two):
        runner.run_all_sync()
    client = redis_server.client()
    before, sent = command_counts(client), trips(storage)
    one.run_all_sync()
    two.run_all_sync()
    assert trips(storage) - sent == 2 and "hset" not in commands_during(client, before)
    client.close()


def test_a_refused_policy_write_is_logged_once_and_not_sent_every_run(
    redis_server: RedisServer, made: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    storage = storage_of(redis_server.url, made)
    runner = runner_of(storage, made, Probe("p0", "ok"))
    runner.run_all_sync()
    client = redis_server.client()
    client.delete("ns:p0:toolkit:policy")
    client.set("ns:p0:toolkit:policy", "not a hash")  # HSET answers WRONGTYPE
    runner.set_policy("p0", fail_max=9)
    with caplog.at_level(logging.WARNING, logger="toolkit"):
        runner.run_all_sync()
        before, sent = command_counts(client), trips(storage)
        runner.run_all_sync()
        runner.run_all_sync()
    refused = [r for r in caplog.records if "refused to store the policy of 'p0'" in r.message]
    assert len(refused) == 1 and "WRONGTYPE" in refused[0].getMessage()
    assert trips(storage) - sent == 2 and "hset" not in commands_during(client, before)
    client.close()


def test_a_run_cancelled_during_its_write_sends_it_and_follows_redis_after(
    redis_server: RedisServer, made: list[Any]
) -> None:
    with DelayProxy(redis_server.port) as proxy:
        storage = storage_of(proxy.url, made, deadline=3.0, socket_timeout=3.0)
        probe = Probe("p0", "raise")
        runner = runner_of(storage, made, probe, fail_max=5)
        runner.run_all_sync()  # one failure counted
        exchange = storage.io.exchange
        writing = asyncio.Event()

        async def watched(commands: Any) -> Any:
            if isinstance(commands, list) and any(  # the INCR script, in the run's write
                c[0] == "EVALSHA" and len(c) == 4 for c in commands
            ):
                writing.set()
            return await exchange(commands)

        storage.io.exchange = watched  # type: ignore[method-assign]

        async def cancel_mid_write() -> None:
            run = asyncio.create_task(runner.run_all())
            await asyncio.wait_for(writing.wait(), 5.0)
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run

        proxy.delay = 0.3
        run_fresh(cancel_mid_write())
        proxy.delay = 0.0
        storage.io.exchange = exchange  # type: ignore[method-assign]
        client = redis_server.client()
        deadline = time.monotonic() + 5.0
        while client.get("ns:p0:pybreaker:fail_counter") != b"2" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("ns:p0:pybreaker:fail_counter") == b"2"  # sent although cancelled
        client.set("ns:p0:pybreaker:state", "open")  # another worker opens it
        client.set("ns:p0:pybreaker:opened_at", int(time.time()))
        calls = probe.calls
        runner.run_all_sync()
        assert probe.calls == calls and runner.history[-1].outcome == "circuit_open"
        client.close()


def test_an_opened_at_ahead_again_after_another_workers_reset_waits_this_workers_timeout(
    redis_server: RedisServer, made: list[Any]
) -> None:
    storage = storage_of(redis_server.url, made)
    probe = Probe("p0", "ok")
    runner = runner_of(storage, made, probe, reset_timeout=2.0)
    runner.run_all_sync()
    client = redis_server.client()
    ahead = int(time.time()) + 3600  # a worker whose clock is an hour ahead opens it
    client.set("ns:p0:pybreaker:state", "open")
    client.set("ns:p0:pybreaker:opened_at", ahead)
    runner.run_all_sync()
    outcomes = [runner.history[-1].outcome]
    client.set("ns:p0:pybreaker:state", "closed")  # another worker resets it
    client.delete("ns:p0:pybreaker:opened_at")
    runner.run_all_sync()
    outcomes.append(runner.history[-1].outcome)
    assert outcomes == ["circuit_open", "ok"]
    time.sleep(2.2)  # longer than this worker's wait since it first saw the hour ahead
    client.set("ns:p0:pybreaker:state", "open")  # and that clock-ahead worker opens it again
    client.set("ns:p0:pybreaker:opened_at", ahead + 60)
    calls = probe.calls
    runner.run_all_sync()
    assert probe.calls == calls and runner.history[-1].outcome == "circuit_open"
    status = runner.status("p0")
    assert status.trial_in_s is not None and 1.0 < status.trial_in_s <= 2.0
    client.close()
