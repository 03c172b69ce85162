"""The background writer: batches by count and by age, a bounded queue, retries, exit."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from toolkit import Archive
from toolkit._archive.parts import ALONE_ROWS, Parts
from toolkit._archive.schema import records_table
from toolkit._engine.history import CallRecord

ROOT = Path(__file__).resolve().parents[2]


def record(n: int, name: str = "svc") -> CallRecord:
    return CallRecord(n, name, datetime.now(UTC), 0.001, "ok", None, "closed", "closed")


def wait_until(check: object, seconds: float = 10.0) -> None:
    """Poll ``check()`` until true; fail after ``seconds`` (a wait, not a speed goal)."""
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_a_full_batch_is_written_without_waiting_for_the_interval(tmp_path: Path) -> None:
    archive = Archive(tmp_path, interval=3600, max_records=50)
    for n in range(1, 51):
        archive.add_call(record(n))
    wait_until(lambda: archive.written == 50)
    archive.add_call(record(51))
    time.sleep(0.1)
    assert archive.pending == 1 and len(archive.calls()) == 50  # 1 record: no batch yet
    archive.close()
    assert len(archive.calls()) == 51


def test_records_are_written_once_the_oldest_is_interval_seconds_old(tmp_path: Path) -> None:
    archive = Archive(tmp_path, interval=0.05, max_records=1_000_000)
    for n in range(3):
        archive.add_call(record(n))
    wait_until(lambda: archive.written == 3)
    assert archive.pending == 0
    archive.close()


def test_small_flushes_rewrite_one_file_until_it_is_sealed(tmp_path: Path) -> None:
    parts = Parts(tmp_path, "w", roll_rows=25)
    for batch in range(4):
        parts.write("calls", records_table([record(n) for n in range(10)], "a", "s", batch * 10))
    files = sorted(p.name for p in tmp_path.glob("calls/day=*/*.parquet"))
    assert files == ["w-000001.parquet", "w-000002.parquet"]  # 30 rows sealed the first at 25+
    assert parts.files == 4 and parts.held_rows == 10
    assert not list(tmp_path.rglob(".*.tmp"))


def test_the_queue_is_bounded_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = Archive(tmp_path, interval=3600, max_records=1_000_000, queue_limit=10)
    with caplog.at_level(logging.WARNING, "toolkit"):
        for n in range(15):
            archive.add_call(record(n))
    assert archive.dropped == 5 and archive.pending == 10
    assert len([r for r in caplog.records if "further ones are dropped" in r.message]) == 1
    archive.close()
    assert len(archive.calls()) == 10


def test_a_failed_write_is_retried_and_nothing_is_written_twice(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "calls").write_text("not a directory")  # every write of calls fails
    archive = Archive(tmp_path, interval=0.01)
    with caplog.at_level(logging.WARNING, "toolkit"):
        for n in range(5):
            archive.add_call(record(n))
        wait_until(lambda: any("trying again" in r.message for r in caplog.records))
    assert archive.written == 0 and archive.pending == 5
    (tmp_path / "calls").unlink()
    assert archive.flush(timeout=10)
    assert sorted(archive.calls()["run_id"]) == [0, 1, 2, 3, 4]
    archive.close()


def test_a_temporary_file_of_a_dead_writer_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "calls" / "day=2026-01-01"
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = folder / f".x-000001.parquet.{dead.stdout.strip()}.tmp"
    stale.write_bytes(b"torn")
    archive = Archive(tmp_path)
    archive.add_call(record(1))
    archive.close()
    assert not stale.exists() and len(archive.calls()) == 1


def test_interpreter_exit_writes_what_an_unclosed_runner_left(tmp_path: Path) -> None:
    script = (
        "import sys, toolkit\n"
        "from toolkit.demo import demo_registry\n"
        "archive = toolkit.Archive(sys.argv[1], interval=3600)\n"
        "runner = toolkit.IntegrationRunner(demo_registry(), timeout=0.5, archive=archive)\n"
        "for _ in range(3):\n"
        "    runner.run_all_sync()\n"
        "print(len(runner.history))\n"
    )  # never closed: the archive's atexit hook writes the batch
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
        timeout=60, check=True, cwd=ROOT,
    )  # fmt: skip
    assert len(Archive(tmp_path).calls()) == int(done.stdout) > 0


def test_a_busy_writers_large_batch_gets_a_file_of_its_own(tmp_path: Path) -> None:
    parts = Parts(tmp_path, "w")
    parts.write("calls", records_table([record(n) for n in range(10)], "a", "s", 1))
    big = records_table([record(n) for n in range(ALONE_ROWS)], "a", "s", 11)
    parts.write("calls", big)  # not merged: rewriting it with every small batch costs
    parts.write("calls", records_table([record(n) for n in range(5)], "a", "s", 20_000))
    sizes = sorted(
        (p.name, len(pd.read_parquet(p))) for p in tmp_path.glob("calls/day=*/*.parquet")
    )
    assert sizes == [("w-000001.parquet", 15), ("w-000002.parquet", ALONE_ROWS)]
