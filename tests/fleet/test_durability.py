"""Redis killed mid-run, then restarted: runs before, during and after; no acknowledged loss."""

from __future__ import annotations

import threading
import time

from conftest import MakeRedisServer
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import Fleet, IntegrationRunner, RedisStorage


def test_kill_9_mid_run_loses_no_acknowledged_call_record(
    make_redis_server: MakeRedisServer,
) -> None:
    server: RedisServer = make_redis_server(appendonly="yes", appendfsync="always")
    probes = [Probe(f"ok{i}") for i in range(8)] + [Probe("down", "raise")]
    # appendfsync always on a loaded machine: a deadline that fsyncs fit in
    storage = RedisStorage(server.url, "ns", worker="w", deadline=0.5, socket_timeout=0.5)
    runner = IntegrationRunner(
        registry_of(*probes), storage=storage, timeout=1.0, fail_max=2, reset_timeout=60.0
    )
    stream = storage.stream
    assert stream is not None
    try:
        # before: shared state; the failing integration opens its breaker in Redis
        for _ in range(3):
            runner.run_all_sync()
        assert storage.available and runner.status("down").state == "open"
        assert probes[-1].calls == 2

        # during: kill -9 while runs go on; each run still completes at once
        killed = threading.Event()
        acknowledged_at_kill = 0

        def kill_soon() -> None:
            nonlocal acknowledged_at_kill
            time.sleep(0.3)
            server.kill()
            acknowledged_at_kill = stream.acknowledged
            killed.set()

        killer = threading.Thread(target=kill_soon)
        killer.start()
        runs_during = 0
        while not killed.is_set() or runs_during < 5:
            started = time.monotonic()
            results = runner.run_all_sync()
            assert time.monotonic() - started < 1.0 + 1.0  # timeout, plus a generous bound
            assert results.get_section("ok0").success  # type: ignore[union-attr]
            runs_during += 1 if killed.is_set() else 0
        killer.join()
        assert acknowledged_at_kill > 0
        assert not storage.available
        assert runner.status("down").state == "open" and probes[-1].calls == 2

        # after: Redis replays its append-only file; its state wins, the queue drains
        server.start()
        assert storage.health.wait_ok(5.0)
        runner.run_all_sync()
        assert storage.available and runner.status("down").state == "open"
        assert probes[-1].calls == 2
        assert storage.flush(10.0)
        appended = probes[0].calls * len(probes)  # a record per integration per run, skips too
        with Fleet(server.url, "ns") as fleet:
            seqs = {int(f["seq"]) for _, f in fleet.entries(last=None) if f["worker"] == "w"}
        assert set(range(1, acknowledged_at_kill + 1)) <= seqs  # nothing acknowledged is lost
        assert seqs == set(range(1, appended + 1))  # and what waited in memory arrived
    finally:
        runner.close()
        storage.close()
