"""BackgroundWriter: a runner's calls and events gathered in memory, written by a thread.

The call path only appends to a list under a lock (no I/O, no conversion). A thread
writes what has gathered once the oldest waiting record is ``interval`` seconds old
or ``max_records`` are waiting, whichever comes first; ``flush()``, ``close()`` and
the interpreter's exit write what is left. A process killed with ``kill -9`` loses
only what had not been written yet: the records of the current batch (at most
``interval`` seconds or ``max_records`` of them) and those of a write under way.

Memory is bounded: at most ``queue_limit`` records wait (beyond that new ones are
counted in ``dropped`` and one warning is logged), and the open files' rows
(``parts.ROLL_ROWS`` per day) are kept for their next version.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time

from toolkit._archive.parts import Parts, WriteFailed
from toolkit._archive.schema import events_table, pa, records_table
from toolkit._engine.history import BreakerEvent, CallRecord

logger = logging.getLogger("toolkit")

INTERVAL = 1.0
"""Seconds a record waits at most before its batch is written."""
MAX_RECORDS = 10_000
"""Records that make a batch be written at once."""
QUEUE_LIMIT = 200_000
"""Records that may wait while the disk is slow or failing; later ones are dropped."""
RETRY_S = 1.0


class BackgroundWriter:
    """Gathers call records and breaker events and writes them in batches from a thread."""

    def __init__(
        self,
        parts: Parts,
        worker: str,
        source: str,
        *,
        interval: float = INTERVAL,
        max_records: int = MAX_RECORDS,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.parts = parts
        self.worker = worker
        self.source = source
        self.interval = interval
        self.max_records = max_records
        self.queue_limit = queue_limit
        self.written = 0
        """Records (calls and events) on disk."""
        self.dropped = 0
        """Records refused because ``queue_limit`` were already waiting."""
        self.batches = 0
        self._calls: list[CallRecord] = []
        self._events: list[tuple[BreakerEvent, bool]] = []
        self._first_at = 0.0
        self._writing = 0
        self._unwritten: list[tuple[str, pa.Table]] = []
        self._seq = 1
        self._cond = threading.Condition()
        self._flushing = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._complained = False

    # ------------------------------------------------------------- callers
    def add_call(self, record: CallRecord) -> None:
        """Queue one call record (a runner observer: cheap, never blocks on the disk)."""
        with self._cond:
            if self._admit():
                self._calls.append(record)

    def add_event(self, event: BreakerEvent, by_hand: bool = False) -> None:
        """Queue one breaker event (a runner event observer)."""
        with self._cond:
            if self._admit():
                self._events.append((event, by_hand))

    def _admit(self) -> bool:
        waiting = len(self._calls) + len(self._events)
        if self._closing or waiting + self._writing >= self.queue_limit:
            self.dropped += 1
            if not self._complained and not self._closing:
                self._complained = True
                logger.warning(
                    "archive %s: %d records wait to be written; further ones are dropped",
                    self.parts.root, waiting + self._writing,
                )  # fmt: skip
            return False
        if waiting == 0:
            self._first_at = time.monotonic()
            if self._thread is None:
                self._start()
            self._cond.notify()
        elif waiting + 1 >= self.max_records:
            self._cond.notify()
        return True

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"toolkit-archive {self.parts.root}", daemon=True
        )
        self._thread.start()
        atexit.register(self.close)

    @property
    def pending(self) -> int:
        """Records not yet on disk."""
        with self._cond:
            return len(self._calls) + len(self._events) + self._writing

    def flush(self, timeout: float = 5.0) -> bool:
        """Write everything queued now; False if that took longer than ``timeout`` seconds."""
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(
                    lambda: (
                        not (self._calls or self._events or self._writing)
                        or (self._thread is None or not self._thread.is_alive())
                    ),
                    timeout,
                ) and not (self._calls or self._events or self._writing)
            finally:
                self._flushing -= 1

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), then stop the thread."""
        flushed = self.flush(timeout)
        with self._cond:
            self._closing = True
            left = len(self._calls) + len(self._events) + self._writing
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        atexit.unregister(self.close)
        if not flushed and left:
            logger.warning("archive %s: %d records not written", self.parts.root, left)

    # -------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(
                    lambda: self._calls or self._events or self._unwritten or self._closing
                )
                if not (self._calls or self._events or self._unwritten):
                    return
                deadline = self._first_at + self.interval
                self._cond.wait_for(
                    lambda: (
                        len(self._calls) + len(self._events) >= self.max_records
                        or self._flushing
                        or self._closing
                    ),
                    max(0.0, deadline - time.monotonic()),
                )
                calls, events = self._calls, self._events
                self._calls, self._events = [], []
                self._writing += len(calls) + len(events)  # after rows a failure left
            failed = self._write(calls, events)
            with self._cond:
                remaining = sum(len(table) for _, table in self._unwritten)
                self.written += self._writing - remaining
                self._writing = remaining
                self.batches += 1
                self._cond.notify_all()
                if failed:  # a full or failing disk: the rows not written are tried again
                    self._cond.wait_for(lambda: self._closing, RETRY_S)
                    if self._closing:
                        return

    def _write(self, calls: list[CallRecord], events: list[tuple[BreakerEvent, bool]]) -> bool:
        """Write a batch after any rows an earlier failure left; True if something failed."""
        if calls:
            self._unwritten.append(
                ("calls", records_table(calls, self.worker, self.source, self._seq))
            )
            self._seq += len(calls)
        if events:
            self._unwritten.append(("events", events_table(events, self.worker)))
        while self._unwritten:
            kind, table = self._unwritten[0]
            try:
                self.parts.write(kind, table)
            except WriteFailed as exc:
                self._unwritten[0] = (kind, exc.remaining)
                logger.warning(
                    "archive %s: writing %d %s failed (%r); trying again in %gs",
                    self.parts.root, len(exc.remaining), kind, exc.cause, RETRY_S,
                )  # fmt: skip
                return True
            self._unwritten.pop(0)
        return False

    def __repr__(self) -> str:
        return (
            f"<BackgroundWriter {str(self.parts.root)!r} written={self.written} "
            f"pending={self.pending} dropped={self.dropped}>"
        )
