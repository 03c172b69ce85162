"""kill -9 of a writing process: the archive stays readable and loses only unwritten records.

The child appends numbered calls and reports, on stdout, each number it appended
(``a N``) and how many records its writer has put on disk (``w N``). After the kill
the archive must hold exactly calls 1..k with no gap and no repeat, every file must
read, and k must cover everything reported written: what is lost is only what had
not been written yet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd

from toolkit import Archive

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
from datetime import UTC, datetime
import toolkit
from toolkit._engine.history import CallRecord

archive = toolkit.Archive(sys.argv[1], interval=3600, max_records=int(sys.argv[2]))
stop_after = int(sys.argv[3])  # 0: append until killed
written = -1
n = 0
while True:
    if stop_after and n == stop_after:
        print("idle", flush=True)
        time.sleep(3600)
    n += 1
    archive.add_call(CallRecord(n, "svc", datetime.now(UTC), 0.001, "ok", None, "closed", "closed"))
    print("a", n, flush=True)
    if archive.written != written:
        written = archive.written
        print("w", written, flush=True)
    if stop_after and n % int(sys.argv[2]) == 0:
        while archive.written < n:  # let each full batch reach the disk
            time.sleep(0.005)
"""


def run_until(directory: Path, batch: int, stop_after: int, appended: int) -> tuple[int, int]:
    """Start the child, kill -9 it once it has appended ``appended`` calls (or idles);
    return (last appended, last reported written)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(batch), str(stop_after)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert child.stdout is not None
    last_appended = last_written = 0
    try:
        for line in child.stdout:
            kind, _, value = line.strip().partition(" ")
            if kind in ("a", "w") and not value.isdigit():
                continue
            if kind == "a":
                last_appended = int(value)
            elif kind == "w":
                last_written = int(value)
            if kind == "idle" or last_appended >= appended:
                os.kill(child.pid, signal.SIGKILL)
                break
        rest = child.stdout.read()  # what it printed before it died
    finally:
        child.wait(timeout=30)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    for line in rest.splitlines():
        kind, _, value = line.partition(" ")
        if not value.isdigit():  # a line cut short by the kill
            continue
        if kind == "a":
            last_appended = int(value)
        elif kind == "w":
            last_written = int(value)
    return last_appended, last_written


def test_kill_9_loses_exactly_the_batch_not_yet_written(tmp_path: Path) -> None:
    appended, written = run_until(tmp_path, batch=100, stop_after=250, appended=10**9)
    assert (appended, written) == (250, 200)
    run_ids = Archive(tmp_path).calls()["run_id"].tolist()
    assert run_ids == list(range(1, 201))  # the 50 of the open batch are the loss


def test_kill_9_mid_stream_leaves_a_readable_gapless_prefix(tmp_path: Path) -> None:
    appended, written = run_until(tmp_path, batch=100, stop_after=0, appended=3_000)
    run_ids = sorted(Archive(tmp_path).calls()["run_id"].tolist())
    kept = len(run_ids)
    assert run_ids == list(range(1, kept + 1))  # no gap, no repeat, nothing torn
    assert written <= kept <= appended  # all reported written survived the kill
    for path in (tmp_path / "calls").rglob("*.parquet"):
        assert len(pd.read_parquet(path)) > 0  # every visible file reads whole
    follower = Archive(tmp_path)  # a new writer removes the dead one's temporary file
    follower.write(calls=follower.calls().head(1))
    assert not list(tmp_path.rglob(".*.tmp"))
