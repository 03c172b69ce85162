"""Archive: appends, reads, size on disk, the writer's memory, and what kill -9 loses.

1. Append 1,000,000 call records through ``Archive.add_call`` (what an attached runner
   calls) and flush: goal <= 5 s. Baseline: ``pq.write_table`` of the same rows, already
   as one Arrow table, in one file (the bare cost of the Parquet writing).
2. Bytes per record on disk after (1).
3. One integration's day out of a 10,000,000-record archive (50 integrations, 10 days):
   ``archive.calls(since, until, names)``, goal <= 0.5 s; the archive is written in
   batches of 10,000 as a busy writer's are (a file each: 100 files a day). Baseline:
   pandas' ``read_parquet`` of the same files with the same filters (pyarrow's dataset
   reader).
4. The writer's memory: RSS after each of 10 rounds of 300,000 appends: it stays flat.
5. kill -9 of a process appending 5,000 calls/s with the default settings (1 s or
   10,000 records): the calls lost, over 5 kills at random moments.

Run: ``.venv/bin/python benchmarks/bench_archive.py``
"""

from __future__ import annotations

import gc
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from toolkit import Archive
from toolkit._archive.parts import Parts
from toolkit._archive.schema import CALLS, TIME, records_table
from toolkit._engine.history import CallRecord

ROOT = Path(__file__).resolve().parent.parent
N_APPEND = 1_000_000
N_BIG = 10_000_000
NAMES = 50
DAYS = 10


def records(n: int, start: datetime) -> list[CallRecord]:
    """``n`` realistic call records of 50 integrations, one every millisecond."""
    rng = random.Random(1)
    outcomes = ["ok"] * 95 + ["error"] * 3 + ["timeout", "circuit_open"]
    out = []
    for i in range(n):
        outcome = rng.choice(outcomes)
        error = None if outcome == "ok" else "RuntimeError: upstream said 503"
        out.append(
            CallRecord(i // NAMES, f"integration-{i % NAMES:02d}", start + timedelta(
                milliseconds=i), rng.uniform(0.001, 0.4), outcome, error, "closed", "closed")  # type: ignore[arg-type]
        )  # fmt: skip
    return out


def rss_mb() -> float:
    """This process's resident memory in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def feed(archive: Archive, batch: list[CallRecord]) -> float:
    """Append ``batch`` as fast as the writer takes it: 100,000 at a time, the next
    chunk once fewer than 100,000 wait (the queue's limit, 200,000, is never reached,
    so nothing is dropped). Returns the seconds spent in ``add_call`` itself."""
    spent = 0.0
    for start in range(0, len(batch), 100_000):
        while archive.pending > 100_000:
            time.sleep(0.001)
        began = time.perf_counter()
        for record in batch[start : start + 100_000]:
            archive.add_call(record)
        spent += time.perf_counter() - began
    return spent


def bench_append(workdir: Path) -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)  # all in one day
    batch = records(N_APPEND, start)
    archive = Archive(workdir / "append")
    gc.collect()
    began = time.perf_counter()
    queued = feed(archive, batch)
    assert archive.flush(timeout=600)
    total = time.perf_counter() - began
    archive.close()
    assert archive.dropped == 0, archive.dropped
    files = list((workdir / "append").rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)

    table = records_table(batch, "w", "s", 1)
    began = time.perf_counter()
    pq.write_table(table, workdir / "baseline.parquet", compression="zstd")
    baseline = time.perf_counter() - began
    print(f"1. append {N_APPEND:,} records and flush:   {total:6.2f} s  (goal <= 5 s)")
    print(f"   of which the call path (add_call):   {queued:6.2f} s, "
          f"{queued / N_APPEND * 1e6:.2f} µs per record")  # fmt: skip
    print(f"   baseline pq.write_table, one table:  {baseline:6.2f} s  -> "
          f"{total / baseline:.1f}x the bare Parquet write")  # fmt: skip
    print(f"2. on disk: {size / N_APPEND:.1f} bytes per record ({len(files)} files, "
          f"{size / 1e6:.1f} MB)")  # fmt: skip


def build_big(root: Path) -> None:
    """10,000,000 calls of 50 integrations over 10 days, written as the writer would."""
    parts = Parts(root, "bench")
    rng = np.random.default_rng(1)
    per_day = N_BIG // DAYS
    names = pa.array([f"integration-{i:02d}" for i in range(NAMES)])
    begin = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1e6)
    chunk = 10_000  # as a busy writer's batches come: each its own file
    for day in range(DAYS):
        for offset in range(0, per_day, chunk):
            n = min(chunk, per_day - offset)
            index = np.arange(offset, offset + n)
            micros = begin + day * 86_400_000_000 + index * (86_400_000_000 // per_day)
            codes = pa.array((index % NAMES).astype("int32"))
            name = pa.DictionaryArray.from_arrays(codes, names).cast(pa.string())
            outcome = np.where(rng.random(n) < 0.97, "ok", "error")
            table = pa.table(
                {
                    "worker": pa.array(np.full(n, "w1")),
                    "source": pa.array(np.full(n, "s")),
                    "seq": pa.array(day * per_day + index + 1),
                    "run_id": pa.array(index // NAMES),
                    "name": name,
                    "started_at": pa.array(micros).cast(TIME),
                    "duration_ms": pa.array(rng.uniform(1, 400, n)),
                    "outcome": pa.array(outcome),
                    "error": pa.array(
                        [None if o == "ok" else "HTTP 503" for o in outcome], pa.string()
                    ),
                    "state_before": pa.array(np.full(n, "closed")),
                    "state_after": pa.array(np.full(n, "closed")),
                    "fault": pa.nulls(n, pa.string()),
                    "slow": pa.array(np.zeros(n, dtype=bool)),
                },
                schema=CALLS,
            )
            parts.write("calls", table)
        parts.seal()


def bench_read(workdir: Path) -> None:
    root = workdir / "big"
    began = time.perf_counter()
    build_big(root)
    built = time.perf_counter() - began
    archive = Archive(root)
    since = pd.Timestamp("2026-03-05T00:00:00Z")
    until = since + pd.Timedelta(days=1)
    times, rows = [], 0
    for _ in range(5):
        gc.collect()
        began = time.perf_counter()
        frame = archive.calls(since=since, until=until, names=["integration-07"])
        times.append(time.perf_counter() - began)
        rows = len(frame)
    scan = archive.last_scan
    baseline = []
    for _ in range(3):
        gc.collect()
        began = time.perf_counter()
        pd.read_parquet(
            root / "calls",
            filters=[("name", "==", "integration-07"), ("started_at", ">=", since),
                     ("started_at", "<", until)],
        )  # fmt: skip
        baseline.append(time.perf_counter() - began)
    ours, theirs = statistics.median(times), statistics.median(baseline)
    files = list((root / "calls").rglob("*.parquet"))
    size = sum(f.stat().st_size for f in files)
    print(f"3. {N_BIG:,}-record archive ({len(files)} files, {size / 1e6:.0f} MB, "
          f"{size / N_BIG:.1f} bytes per record; built in {built:.0f} s)")  # fmt: skip
    print(f"   one integration's day ({rows:,} rows): {ours * 1000:6.0f} ms median of 5 "
          f"(goal <= 500 ms); {scan.files} files, {scan.row_groups} of "
          f"{scan.row_groups_total} row groups read")  # fmt: skip
    print(f"   baseline pd.read_parquet + filters:  {theirs * 1000:6.0f} ms  -> "
          f"{ours / theirs:.2f}x")  # fmt: skip


def bench_memory(workdir: Path) -> None:
    archive = Archive(workdir / "memory")
    batch = records(300_000, datetime(2026, 3, 2, tzinfo=UTC))
    readings = []
    for _ in range(10):
        feed(archive, batch)
        assert archive.flush(timeout=600)
        gc.collect()
        readings.append(rss_mb())
    writer = archive._writer
    held = writer.parts.held_rows if writer is not None else 0
    archive.close()
    assert archive.dropped == 0, archive.dropped
    shown = ", ".join(f"{r:.0f}" for r in readings)
    print(f"4. writer RSS after each 300,000 appends (MB): {shown}")
    print(f"   growth from round 2 to 10: {readings[-1] - readings[1]:+.0f} MB over 2,400,000 "
          f"records; rows held for open files: {held:,}")  # fmt: skip


CHILD = """
import sys, time
from datetime import UTC, datetime
import toolkit
from toolkit._engine.history import CallRecord

archive = toolkit.Archive(sys.argv[1])
n = 0
began = time.monotonic()
while True:
    n += 1
    archive.add_call(CallRecord(n, "svc", datetime.now(UTC), 0.001, "ok", None, "closed", "closed"))
    if n % 500 == 0:
        print(n, flush=True)
        delay = began + n / 5000 - time.monotonic()  # 5,000 calls per second
        if delay > 0:
            time.sleep(delay)
"""


def bench_kill(workdir: Path) -> None:
    rng = random.Random(3)
    losses, seconds = [], []
    for attempt in range(5):
        directory = workdir / f"kill{attempt}"
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory)], stdout=subprocess.PIPE, text=True,
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert child.stdout is not None
        target = rng.uniform(2.0, 4.0) * 5000
        appended = 0
        for line in child.stdout:
            appended = int(line)
            if appended >= target:
                break
        killed_at = datetime.now(UTC)
        os.kill(child.pid, signal.SIGKILL)
        for line in child.stdout.read().splitlines():
            if line.strip().isdigit():
                appended = max(appended, int(line))
        child.wait()
        child.stdout.close()
        calls = Archive(directory).calls()
        kept = len(calls)
        newest = calls["started_at"].max() if kept else pd.Timestamp(0, tz="UTC")
        losses.append(appended - kept)
        seconds.append((pd.Timestamp(killed_at) - newest).total_seconds())
    print(f"5. kill -9 at 5,000 calls/s, default settings: lost {min(losses):,} to "
          f"{max(losses):,} calls (at least those after the last print), the newest archived "
          f"call {min(seconds):.2f} to {max(seconds):.2f} s before the kill")  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp:
        workdir = Path(tmp)
        bench_append(workdir)
        bench_read(workdir)
        bench_memory(workdir)
        bench_kill(workdir)


if __name__ == "__main__":
    main()
