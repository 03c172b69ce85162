"""Client tracking: a run reads only the breakers that changed, and never misses a change."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybreaker
import pytest
import redis
from fresh_loop import run_fresh
from loopback_redis import RedisServer, free_port
from probes import Probe, registry_of
from redis_counting import command_counts, commands_during

from toolkit import IntegrationRunner, RedisStorage
from toolkit._fleet import io as fleet_io
from toolkit._fleet import run as fleet_run
from toolkit._fleet.tracking import Tracker, refusal

NAMES = [f"p{i}" for i in range(20)]


class Worker:
    """A runner of twenty healthy integrations on its own ``RedisStorage``."""

    def __init__(self, url: str, **options: Any) -> None:
        self.probes = [Probe(name, "ok") for name in NAMES]
        self.storage = RedisStorage(url, "ns", worker="w", record_calls=False, **options)
        self.runner = IntegrationRunner(
            registry_of(*self.probes), storage=self.storage, fail_max=3, reset_timeout=60.0
        )

    def calls(self) -> dict[str, int]:
        return {probe.name: probe.calls for probe in self.probes}

    def close(self) -> None:
        self.runner.close()
        self.storage.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


@pytest.fixture
def worker(redis_server: RedisServer) -> Iterator[Worker]:
    made = Worker(redis_server.url)
    made.runner.run_all_sync()  # keys created and read clean
    made.runner.run_all_sync()
    yield made
    made.close()


def open_elsewhere(raw: redis.Redis, name: str) -> None:
    """What another worker's opening leaves in Redis."""
    raw.set(f"ns:{name}:pybreaker:state", "open")
    raw.set(f"ns:{name}:pybreaker:opened_at", int(time.time()))


def test_a_run_of_unchanged_breakers_sends_one_ping(worker: Worker, raw: redis.Redis) -> None:
    before, trips = command_counts(raw), worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert worker.storage.io.round_trips - trips == 1
    assert commands_during(raw, before) == {"ping": 1}
    assert set(worker.calls().values()) == {3}


def test_a_breaker_another_worker_opened_is_read_in_the_same_round_trip(
    worker: Worker, raw: redis.Redis
) -> None:
    open_elsewhere(raw, "p7")
    before, trips = command_counts(raw), worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert worker.storage.io.round_trips - trips == 1  # the push came before the read was built
    counted = commands_during(raw, before)
    assert counted["evalsha"] == 1 and counted["mget"] == 1 and "ping" not in counted
    assert worker.calls()["p7"] == 2
    assert [r.outcome for r in worker.runner.history if r.name == "p7"][-1] == "circuit_open"
    assert sum(1 for n, c in worker.calls().items() if c == 3) == 19


def test_a_change_made_while_the_read_travels_is_read_again_before_calls_launch(
    worker: Worker, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fleet_run._Read.build
    changed: list[bool] = []

    def build_then_change(self: Any) -> Any:
        commands = build(self)
        if not changed:  # after the pushes were read, before the read is sent
            changed.append(True)
            open_elsewhere(raw, "p3")
        return commands

    monkeypatch.setattr(fleet_run._Read, "build", build_then_change)
    trips = worker.storage.io.round_trips
    worker.runner.run_all_sync()
    assert changed and worker.storage.io.round_trips - trips == 2  # the PING, then p3 again
    assert worker.calls()["p3"] == 2 and worker.runner.status("p3").state == "open"


class PingExtension:
    """A run extension that adds one command to every run's read (as shared windows do)."""

    def read_commands(self, names: Any) -> list[tuple[str, ...]]:
        return [("PING",)]

    def read_replies(self, names: Any, replies: Any) -> None:
        self.replies = replies

    def write_commands(self, names: Any) -> list[tuple[str, ...]]:
        return []

    def write_replies(self, names: Any, replies: Any) -> None:
        pass


def test_a_change_after_redis_ran_the_read_is_never_taken_for_clean(
    redis_server: RedisServer, raw: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    """The read's pipeline is split just after the read script: another worker opens p3
    after Redis read it, while the rest of the pipeline (an extension's PING) is still
    to come. The push about it must not count as one the read saw."""
    worker = Worker(redis_server.url, deadline=2.0, socket_timeout=2.0)  # the split: 0.1 s
    request.addfinalizer(worker.close)
    worker.runner.run_all_sync()
    worker.runner.run_all_sync()
    extension = PingExtension()
    worker.storage.add_run_extension(extension)
    raw.set("ns:p3:pybreaker:fail_counter", 0)  # p3 is read again by the next run
    pieces: list[bytes] = []

    pack = fleet_io.pack

    def recording(command: Any) -> bytes:
        piece = pack(command)
        pieces.append(piece)
        return piece

    monkeypatch.setattr(fleet_io, "pack", recording)
    conn = worker.storage.io._direct._conn
    send = conn.send_packed_command
    split: list[bool] = []

    def split_after_the_script(packed: Any, check_health: bool = True) -> None:
        data = b"".join(packed) if isinstance(packed, list) else packed
        script = next((p for p in pieces if b"EVALSHA" in p[:40]), None)
        if split or script is None or script not in data:
            send(packed, check_health=check_health)
            return
        split.append(True)
        cut = data.index(script) + len(script)
        send([data[:cut]], check_health=False)
        time.sleep(0.05)  # Redis has run the script over p3
        open_elsewhere(raw, "p3")
        time.sleep(0.05)  # the push about p3 is on its way
        if data[cut:]:
            send([data[cut:]], check_health=False)

    monkeypatch.setattr(conn, "send_packed_command", split_after_the_script)
    worker.runner.run_all_sync()
    assert split and extension.replies == [b"PONG"]
    monkeypatch.setattr(conn, "send_packed_command", send)
    worker.runner.run_all_sync()  # the push says p3 changed after the read: read again
    assert worker.runner.status("p3").state == "open"
    assert worker.calls()["p3"] == 3  # the open breaker answered this run's call itself


def test_a_full_tracking_table_never_hides_a_change_with_shared_windows(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    """Redis forgets the keys it tracks beyond ``tracking-table-max-keys``, telling the
    client as if they changed: a breaker read before that must be read again, even with
    shared windows' commands in the read's pipeline."""
    raw.config_set("tracking-table-max-keys", 50)  # fewer than twenty breakers' keys
    storage = RedisStorage(redis_server.url, "ns", worker="w", record_calls=False)
    probes = [Probe(name, "ok") for name in NAMES]
    window = {"window_s": 60.0, "min_calls": 4, "failure_rate": 0.7, "shared_window": True}
    runner = IntegrationRunner(
        registry_of(*probes), storage=storage, fail_max=3, reset_timeout=60.0,
        policies={name: window for name in NAMES},
    )  # fmt: skip
    try:
        for _ in range(4):
            runner.run_all_sync()
        for name in ("p1", "p9", "p15"):
            open_elsewhere(raw, name)
            runner.run_all_sync()
            assert runner.status(name).state == "open", name
        called = [p.calls for p in probes if p.name in ("p1", "p9", "p15")]
        assert called == [4, 5, 6]  # none called again once opened
    finally:
        runner.close()
        storage.close()


def test_a_process_with_many_descriptors_drains_pushes(redis_server: RedisServer) -> None:
    """``select`` refuses a descriptor above 1023; a service holding that many files or
    sockets still reads its pushes (and Redis still counts as available)."""
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        made = Worker(redis_server.url)
        try:
            made.runner.run_all_sync()
            assert made.storage.io._direct._conn._sock.fileno() > 1024
            seen = []
            for _ in range(4):
                made.runner.run_all_sync()
                seen.append(made.storage.available)
            assert seen == [True] * 4
        finally:
            made.close()
    finally:
        for fd in held:
            os.close(fd)


def test_another_task_reads_redis_while_a_run_is_in_flight(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    """Only a run's own tasks are answered from its read: a dashboard's refresh or a
    control on the same event loop sees what Redis holds now."""
    probes = [Probe("slow", "sleep", delay=0.4), Probe("b", "ok"), Probe("c", "ok")]
    storage = RedisStorage(redis_server.url, "ns", worker="w", record_calls=False)
    runner = IntegrationRunner(
        registry_of(*probes), storage=storage, fail_max=3, reset_timeout=60.0
    )
    try:
        runner.run_all_sync()
        runner.run_all_sync()

        async def during_a_run() -> str:
            run = asyncio.create_task(runner.run_all())
            await asyncio.sleep(0.1)  # the run's calls are in flight
            open_elsewhere(raw, "b")
            seen = runner.status("b").state
            await run
            return seen

        assert run_fresh(during_a_run()) == "open"
    finally:
        runner.close()
        storage.close()


def test_a_plain_pybreaker_opening_reaches_a_tracked_worker(
    worker: Worker, raw: redis.Redis
) -> None:
    plain = pybreaker.CircuitBreaker(
        fail_max=1, state_storage=pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, raw, namespace="ns:p11"
        ),
    )  # fmt: skip
    with pytest.raises(pybreaker.CircuitBreakerError):
        plain.call(lambda: 1 / 0)
    worker.runner.run_all_sync()
    assert worker.calls()["p11"] == 2 and worker.runner.status("p11").state == "open"


def test_a_new_connection_forgets_what_was_read_clean(worker: Worker, raw: redis.Redis) -> None:
    tracking = [c for c in raw.client_list() if "t" in c["flags"]]
    assert len(tracking) == 1  # the I/O connection, the only one that tracks
    raw.client_kill_filter(_id=tracking[0]["id"])
    open_elsewhere(raw, "p5")  # no push can reach a closed connection
    before = command_counts(raw)
    worker.runner.run_all_sync()
    assert commands_during(raw, before)["client|tracking"] == 1  # connected again, tracking
    assert worker.calls()["p5"] == 2 and worker.runner.status("p5").state == "open"
    assert worker.storage.available


def test_after_flushall_every_breaker_is_read_and_written_back(
    worker: Worker, raw: redis.Redis
) -> None:
    raw.flushall()
    worker.runner.run_all_sync()
    assert raw.get("ns:p0:pybreaker:state") == b"closed"
    assert raw.smembers("ns:toolkit:breakers") == {name.encode() for name in NAMES}
    assert set(worker.calls().values()) == {3}


def test_a_change_redis_never_saw_is_read_over_once_redis_answers(
    worker: Worker, raw: redis.Redis
) -> None:
    health = worker.storage.health
    health.failed(redis.ConnectionError("a command failed"))  # Redis away for a moment
    worker.runner.trip("p2")  # kept in this process only
    assert health.wait_ok(5.0)  # answers again; the I/O connection never dropped
    worker.runner.run_all_sync()  # Redis's state wins: p2 was never opened there
    assert worker.calls()["p2"] == 3 and worker.runner.status("p2").state == "closed"


class OldRedis(RedisServer):
    """A Redis that knows no ``HELLO``, as one older than 6 (or a proxy) answers RESP2 only."""

    def command(self) -> list[str]:
        return [*super().command(), "--rename-command", "HELLO", ""]

    def client(self, **kwargs: Any) -> redis.Redis:
        return super().client(protocol=2, **kwargs)


@pytest.fixture
def old_redis(redis_server_binary: str, tmp_path: Path) -> Iterator[RedisServer]:
    server = OldRedis(redis_server_binary, free_port(), tmp_path, {"save": ""})
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("refusal", ["no HELLO", "ACL"])
def test_a_redis_that_refuses_tracking_is_read_whole_every_run(
    redis_server: RedisServer, old_redis: RedisServer, refusal: str,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    server = old_redis if refusal == "no HELLO" else redis_server
    raw = server.client()
    if refusal == "ACL":  # as a managed Redis may
        raw.execute_command("ACL", "SETUSER", "default", "-client|tracking")
    with caplog.at_level("INFO", logger="toolkit"):
        made = Worker(server.url)
        try:
            for _ in range(3):
                made.runner.run_all_sync()
            open_elsewhere(raw, "p4")
            before = command_counts(raw)
            made.runner.run_all_sync()
            assert commands_during(raw, before)["evalsha"] == 1  # all twenty, read again
            assert made.calls()["p4"] == 3 and made.runner.status("p4").state == "open"
            assert made.storage.available and not made.storage.io.tracker.enabled
        finally:
            made.close()
            raw.close()
    said = [r.getMessage() for r in caplog.records if "does not track keys" in r.getMessage()]
    why = "HELLO 3 was refused" if refusal == "no HELLO" else "CLIENT TRACKING was refused"
    assert len(said) == 1 and why in said[0]


def test_a_redis_busy_with_a_script_at_reconnect_is_tracked_once_it_answers(
    redis_server: RedisServer, raw: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """``BUSY`` (a long script) while the I/O connection reconnects is Redis unable to
    answer now: the run goes on locally and tracking is back once Redis answers, rather
    than given up for the life of the process."""
    made = Worker(redis_server.url)
    try:
        made.runner.run_all_sync()
        raw.config_set("busy-reply-threshold", 50)  # BUSY after 50 ms of script
        tracking = [c for c in raw.client_list() if "t" in c["flags"]]
        raw.client_kill_filter(_id=tracking[0]["id"])
        blocker = redis_server.client(socket_timeout=30.0)

        def spin() -> None:  # until SCRIPT KILL
            with contextlib.suppress(redis.ResponseError):
                blocker.eval("while true do end", 0)

        spinning = threading.Thread(target=spin)
        spinning.start()
        try:
            time.sleep(0.2)
            with caplog.at_level("INFO", logger="toolkit"):
                made.runner.run_all_sync()
            assert not made.storage.available  # unreachable for now, the run went on locally
            assert set(made.calls().values()) == {2}
            assert made.storage.io.tracker.enabled
        finally:
            raw.script_kill()
            spinning.join(5.0)
            blocker.close()
        assert made.storage.health.wait_ok(5.0)
        made.runner.run_all_sync()
        before = command_counts(raw)
        made.runner.run_all_sync()
        assert commands_during(raw, before) == {"ping": 1}  # tracked again
        assert not [r for r in caplog.records if "does not track keys" in r.getMessage()]
    finally:
        made.close()


def test_client_tracking_false_reads_every_breaker_every_run(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    made = Worker(redis_server.url, client_tracking=False)
    try:
        made.runner.run_all_sync()
        before = command_counts(raw)
        made.runner.run_all_sync()
        counted = commands_during(raw, before)
        assert counted["evalsha"] == 1 and "client|tracking" not in counted
        assert all("t" not in c["flags"] for c in raw.client_list())
    finally:
        made.close()


def test_a_mark_after_a_newer_push_does_not_count_as_clean() -> None:
    class Storage:
        invalidated = 0
        watched = True

        def tracked_keys(self) -> list[str]:
            return ["k"]

    tracker = Tracker("test")
    storage = Storage()
    tracker.watch(storage)
    tracker.on_push([b"invalidate", [b"k"]])  # a change after the reply (seq 0) was read
    Tracker.mark(tracker.clean, storage, seq=0)
    assert storage not in tracker.clean
    Tracker.mark(tracker.clean, storage, seq=tracker.seq)  # a reply after that push
    assert storage in tracker.clean
    tracker.on_push([b"invalidate", None])  # FLUSHALL: nothing is known clean any more
    assert storage not in tracker.clean


def test_only_a_refusal_for_good_turns_tracking_off() -> None:
    """Redis's codes for "not now" (redis-py keeps some in ``status_code`` only) fail the
    connect, to be tried again; an unknown command or an ACL refusal is for good."""
    from redis._parsers.base import BaseParser

    for now in ("BUSY Redis is busy", "MASTERDOWN Link with MASTER is down", "TRYAGAIN x"):
        passing = refusal(BaseParser.parse_error(now), "CLIENT TRACKING")
        assert isinstance(passing, redis.ConnectionError), now
    for never in ("ERR unknown command 'HELLO'", "NOPERM no permission", "NOPROTO unsupported"):
        assert refusal(BaseParser.parse_error(never), "HELLO 3") is None, never
