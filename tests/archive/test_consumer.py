"""python -m toolkit archive: a fleet's call stream into an archive, through a consumer
group, against a real Redis; a restart (after a crash or a kill -9) loses nothing and
writes nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from loopback_redis import RedisServer
from probes import Probe, registry_of

from toolkit import Archive, CallRecord, Fleet, IntegrationRunner, RedisStorage
from toolkit.__main__ import main
from toolkit._archive.consumer import StreamArchiver
from toolkit._fleet.stream import encode

ROOT = Path(__file__).resolve().parents[2]
KEY = "shop:toolkit:calls"


def run_fleet(url: str, workers: int = 2, runs: int = 4) -> None:
    """``workers`` runners sharing breakers in namespace shop; "down" fails and opens."""
    for n in range(workers):
        storage = RedisStorage(url, "shop", worker=f"w{n}")
        runner = IntegrationRunner(
            registry_of(Probe("up"), Probe("down", "raise")), fail_max=2, storage=storage
        )
        for _ in range(runs):
            runner.run_all_sync()
        runner.close()
        assert storage.flush(timeout=5)
        storage.close()


def archive_once(url: str, directory: Path, *extra: str) -> int:
    return main(["archive", url, "--namespace", "shop", "--to", str(directory), "--once", *extra])


def test_the_archive_holds_what_fleet_calls_shows(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    run_fleet(redis_server.url)
    assert archive_once(redis_server.url, tmp_path) == 0
    with Fleet(redis_server.url, "shop") as fleet:
        live = fleet.calls()
    stored = Archive(tmp_path).calls()
    assert len(stored) == len(live) == 16
    key = ["worker", "name", "run_id"]
    stored, live = stored.sort_values(key).reset_index(drop=True), live.sort_values(key)
    live = live.reset_index(drop=True)
    shift = (stored["started_at"] - live["started_at"]).abs()
    assert (shift <= pd.Timedelta(microseconds=1)).all()
    pd.testing.assert_frame_equal(
        stored.drop(columns=["started_at", "duration_ms"]),
        live.drop(columns=["started_at", "duration_ms"]),
    )
    pd.testing.assert_series_equal(stored["duration_ms"], live["duration_ms"], rtol=1e-12)
    events = Archive(tmp_path).events()
    opened = events[events["new_state"] == "open"]
    assert opened["worker"].tolist() == ["w0"] and opened["name"].tolist() == ["down"]
    assert opened["by_hand"].eq(False).all()  # its own failing call opened it
    w1_down = stored[(stored["worker"] == "w1") & (stored["name"] == "down")]
    assert set(w1_down["outcome"]) == {"circuit_open"}  # shared: w1 found it open


def test_a_second_run_archives_only_what_is_new(redis_server: RedisServer, tmp_path: Path) -> None:
    run_fleet(redis_server.url, workers=1, runs=2)
    assert archive_once(redis_server.url, tmp_path) == 0
    run_fleet(redis_server.url, workers=1, runs=3)
    assert archive_once(redis_server.url, tmp_path) == 0
    assert len(Archive(tmp_path).calls()) == 10


def test_a_crash_between_writing_and_acknowledging_writes_nothing_twice(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    run_fleet(redis_server.url, workers=1, runs=3)
    first = StreamArchiver(redis_server.url, "shop", tmp_path)

    def crash(*args: Any) -> None:
        raise SystemExit("killed before XACK")

    first.client.xack = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(SystemExit):
        first.step(wait=False)
    first.close()
    assert len(Archive(tmp_path).calls()) == 6  # on disk, but still pending in the group
    client = redis_server.client()
    assert client.xpending(KEY, "toolkit-archive")["pending"] == 6
    second = StreamArchiver(redis_server.url, "shop", tmp_path)
    second.run(once=True)
    second.close()
    assert second.repeats == 6 and second.archived == 0
    assert client.xpending(KEY, "toolkit-archive")["pending"] == 0
    assert len(Archive(tmp_path).calls()) == 6
    client.close()


def test_an_entry_a_worker_sent_twice_is_archived_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    client = redis_server.client()
    record = CallRecord(1, "pay", datetime.now(UTC), 0.01, "ok", None, "closed", "closed")
    for seq in (1, 2, 2, 3, 1):  # a batch whose reply was lost, sent again
        client.xadd(KEY, encode(record, "w", seq, "src"))  # type: ignore[arg-type]
    client.close()
    assert archive_once(redis_server.url, tmp_path) == 0
    assert sorted(Archive(tmp_path).calls()["run_id"].tolist()) == [1, 1, 1]


def archived(directory: Path) -> int:
    """Calls in the archive so far (0 before its first file)."""
    return len(Archive(directory).calls())


CHILD_WRITER = """
import sys, time
from datetime import UTC, datetime
import redis
from toolkit import CallRecord
from toolkit._fleet.stream import encode

client = redis.Redis.from_url(sys.argv[1])
seq = 0
while True:
    seq += 1
    record = CallRecord(seq, "pay", datetime.now(UTC), 0.001, "ok", None, "closed", "closed")
    client.xadd("shop:toolkit:calls", encode(record, "writer", seq, "s1"))
    time.sleep(0.001)
"""


def test_kill_9_of_the_archiver_then_a_restart_loses_nothing_and_repeats_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", CHILD_WRITER, redis_server.url], env=env)
    command = [sys.executable, "-m", "toolkit", "archive", redis_server.url,
               "--namespace", "shop", "--to", str(tmp_path), "--interval", "0.05"]  # fmt: skip
    archiver = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    client = redis_server.client()
    try:
        deadline = time.monotonic() + 60
        while archived(tmp_path) < 300:  # several batches in
            assert time.monotonic() < deadline and archiver.poll() is None
            time.sleep(0.05)
        time.sleep(0.3)
        archiver.send_signal(signal.SIGKILL)
        archiver.wait(timeout=30)
        time.sleep(0.2)
    finally:
        writer.kill()
        writer.wait(timeout=30)
    assert archiver.returncode == -signal.SIGKILL
    restarted = subprocess.run([*command, "--once"], env=env, capture_output=True, text=True,
                               timeout=120)  # fmt: skip
    assert restarted.returncode == 0, restarted.stderr
    entries: Any = client.xrange(KEY)
    in_stream = {int(fields[b"seq"]) for _, fields in entries}
    client.close()
    stored = Archive(tmp_path).calls()["run_id"].tolist()
    assert len(stored) == len(set(stored))  # nothing twice
    assert set(stored) == in_stream  # nothing lost
    assert len(stored) > 100


def test_bad_arguments_exit_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "redis://127.0.0.1:1/0", "--namespace", "a:b", "--to", "x"]) == 2
    assert "namespace" in capsys.readouterr().err
    assert main(["archive", "not-a-url", "--namespace", "shop", "--to", str(tmp_path)]) == 2
    assert "not a Redis URL" in capsys.readouterr().err
    assert main(["archive", "--help"]) == 0
    assert "python -m toolkit archive" in capsys.readouterr().out


def test_a_redis_that_is_down_is_waited_for(redis_server: RedisServer, tmp_path: Path) -> None:
    import threading

    run_fleet(redis_server.url, workers=1, runs=2)
    redis_server.stop()
    archiver = StreamArchiver(redis_server.url, "shop", tmp_path, interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=archiver.run, args=(stop,))
    thread.start()
    try:
        time.sleep(0.5)
        assert archiver.archived == 0 and thread.is_alive()
        redis_server.start()
        run_fleet(redis_server.url, workers=1, runs=2)
        deadline = time.monotonic() + 30
        while archiver.archived < 4:
            assert time.monotonic() < deadline, archiver
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
        archiver.close()
    assert len(Archive(tmp_path).calls()) == 4
