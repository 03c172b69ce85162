"""FleetRun: one read and one write per run, one trial per fleet, extensions riding along."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pybreaker
import pytest
import redis
from fresh_loop import run_fresh
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import IntegrationRunner, RedisStorage
from toolkit._fleet.io import Command


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


class Workers:
    """Runners in one process that share breakers as separate worker processes would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.made: list[tuple[IntegrationRunner, RedisStorage]] = []

    def __call__(self, probe: Probe, worker: str, **policy: Any) -> IntegrationRunner:
        storage = RedisStorage(self.url, "ns", worker=worker, record_calls=False)
        settings = {"timeout": 2.0, "fail_max": 1, "reset_timeout": 60.0, **policy}
        runner = IntegrationRunner(registry_of(probe), storage=storage, **settings)
        self.made.append((runner, storage))
        return runner

    def close(self) -> None:
        for runner, storage in self.made:
            runner.close()
            storage.close()


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[Workers]:
    made = Workers(redis_server.url)
    yield made
    made.close()


def test_exactly_one_worker_makes_the_trial_and_the_others_wait_for_it(workers: Workers) -> None:
    slow = Probe("pay", "sleep", delay=0.5)
    others = [Probe("pay") for _ in range(3)]
    one = workers(slow, "one")
    rest = [workers(probe, f"w{i}") for i, probe in enumerate(others)]
    one.trip("pay")
    one.expire("pay")  # the wait is over for every worker: the next call is the trial
    trial = threading.Thread(target=one.run_all_sync)
    trial.start()
    while slow.calls == 0:
        time.sleep(0.005)
    for runner in rest:  # while the trial runs elsewhere
        result = runner.run_one_sync("pay")
        assert not result.success
        assert result.error == "circuit open: another worker is making the trial call"
    trial.join()
    assert [p.calls for p in others] == [0, 0, 0]
    assert one.history[-1].state_before == "half-open" and one.status("pay").state == "closed"
    assert all(runner.run_one_sync("pay").success for runner in rest)  # closed for all


def test_a_worker_dying_mid_trial_frees_the_trial_when_its_lease_ends(
    workers: Workers, redis_server: RedisServer, raw: redis.Redis
) -> None:
    dead = RedisStorage(redis_server.url, "ns", worker="dead", record_calls=False)
    state = dead.state_storage("pay")
    breaker = pybreaker.CircuitBreaker(state_storage=state, fail_max=1)
    breaker.open()
    state.rewind_opened_at(datetime.now(UTC))  # its wait is over
    run = dead.begin_run([(breaker, 0.2)])
    run_fresh(run.__aenter__())  # its read took the lease; it never settles
    dead.close()
    assert raw.get("ns:pay:toolkit:trial") is not None
    assert 0 < raw.pttl("ns:pay:toolkit:trial") <= 1200  # the call's 0.2 s and 1 s to release
    probe = Probe("pay")
    survivor = workers(probe, "survivor")
    assert survivor.run_one_sync("pay").error == (
        "circuit open: another worker is making the trial call"
    )
    while raw.exists("ns:pay:toolkit:trial"):
        time.sleep(0.02)
    assert survivor.run_one_sync("pay").success and probe.calls == 1
    assert survivor.history[-1].state_before == "half-open"
    assert survivor.status("pay").state == "closed"


def test_the_trial_lease_is_given_back_when_the_trial_settles(
    workers: Workers, raw: redis.Redis
) -> None:
    runner = workers(Probe("pay", "raise"), "one")
    runner.trip("pay")
    runner.expire("pay")
    runner.run_all_sync()  # the trial fails: open again, the lease released
    assert runner.history[-1].state_before == "half-open"
    assert runner.status("pay").state == "open" and not raw.exists("ns:pay:toolkit:trial")


def test_plain_pybreaker_workers_make_their_own_trial(workers: Workers, raw: redis.Redis) -> None:
    slow = Probe("pay", "sleep", delay=0.5)
    ours = workers(slow, "one")
    ours.trip("pay")
    ours.expire("pay")
    trial = threading.Thread(target=ours.run_all_sync)
    trial.start()
    while slow.calls == 0:
        time.sleep(0.005)
    plain = pybreaker.CircuitBreaker(
        fail_max=1,
        reset_timeout=60,
        state_storage=pybreaker.CircuitRedisStorage("closed", raw, namespace="ns:pay"),
    )
    assert plain.call(lambda: "theirs") == "theirs"  # the lease is ours alone
    trial.join()


class Counting:
    """A run extension that counts runs in Redis: INCR with the read, GET with the write."""

    def __init__(self) -> None:
        self.read: list[Any] = []
        self.written: list[Any] = []

    def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
        return [("INCR", "ns:ext:runs"), ("SET", "ns:ext:names", ",".join(names))]

    def read_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        self.read.append(replies)

    def write_commands(self, names: Sequence[str]) -> Sequence[Command]:
        return [("GET", "ns:ext:runs")]

    def write_replies(self, names: Sequence[str], replies: Sequence[Any] | None) -> None:
        self.written.append(replies)


def test_an_extension_rides_in_the_runs_own_round_trips(workers: Workers, raw: redis.Redis) -> None:
    runner = workers(Probe("pay"), "one")
    storage = runner.storage
    assert isinstance(storage, RedisStorage)
    runner.run_all_sync()
    extension = Counting()
    storage.add_run_extension(extension)
    trips = storage.io.round_trips
    runner.run_all_sync()
    runner.run_all_sync()
    assert storage.io.round_trips - trips == 4  # read and write per run, nothing more
    assert extension.read == [[1, b"OK"], [2, b"OK"]]
    assert extension.written == [[b"1"], [b"2"]] and raw.get("ns:ext:names") == b"pay"
    storage.remove_run_extension(extension)
    runner.run_all_sync()
    assert len(extension.read) == 2


def test_a_broken_extension_never_breaks_a_run(
    workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(Counting):
        def read_commands(self, names: Sequence[str]) -> Sequence[Command]:
            raise RuntimeError("bug")

    runner = workers(Probe("pay"), "one")
    runner.storage.add_run_extension(Broken())  # type: ignore[attr-defined]
    assert runner.run_all_sync().get_section("pay").success  # type: ignore[union-attr]
    assert any("read_commands" in r.message for r in caplog.records)


def test_the_read_reply_holds_clean_breakers_as_one_byte_and_others_in_full() -> None:
    from toolkit._fleet.scripts import CLEAN, split_read_all

    # a value may itself hold "c", ":" and "-": lengths, not separators, delimit it
    reply = b"c" + b"4:open1:3-10:1700000000--" + b"c" + b"6:closed3:c:-----"
    items = split_read_all(reply, 4)
    assert items[0] is CLEAN and items[2] is CLEAN
    assert items[1] == [b"open", b"3", None, b"1700000000", None, None]
    assert items[3] == [b"closed", b"c:-", None, None, None, None]
    assert split_read_all(b"c" * 3, 3) == [CLEAN] * 3
    with pytest.raises(ValueError, match="cut short"):
        split_read_all(b"c4:open1:3", 2)
    with pytest.raises(ValueError, match="expected 3 breakers, got 2"):
        split_read_all(b"cc", 3)
