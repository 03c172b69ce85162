"""Archive: calls and breaker events kept in Parquet, beyond what one kernel remembers."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import pandas as pd

from toolkit._archive import files
from toolkit._archive.parts import Parts
from toolkit._archive.reader import Scan, When, read
from toolkit._archive.schema import calls_frame, events_frame, frame_table
from toolkit._archive.writer import INTERVAL, MAX_RECORDS, QUEUE_LIMIT, BackgroundWriter
from toolkit._engine.errors import ConfigError

if TYPE_CHECKING:
    from toolkit._engine.history import BreakerEvent, CallRecord
    from toolkit._engine.runner import IntegrationRunner


class Archive:
    """A Parquet dataset of calls and breaker events under ``path``, partitioned by UTC day.

    ``IntegrationRunner(..., archive=Archive(path))`` appends every call and breaker
    event from a background thread, in batches (every ``interval`` seconds or
    ``max_records`` records), off the call path; ``runner.close()``, ``archive.close()``
    and the interpreter's exit write what is left. ``kill -9`` of the process loses
    only the records not written yet: at most the last ``interval`` seconds (or
    ``max_records``) and any write under way.

    The files are plain Parquet, readable without the toolkit:
    ``pd.read_parquet(path / "calls")``, DuckDB's
    ``read_parquet('path/calls/*/*.parquet', hive_partitioning = true)``, polars'
    ``pl.scan_parquet(path / "calls" / "**" / "*.parquet", hive_partitioning=True)``.

    Args:
        path: the archive's directory (made if missing).
        worker: how this process's rows are tagged (default ``host:pid``).
        interval: seconds a record waits at most before its batch is written.
        max_records: waiting records that make a batch be written at once.
        queue_limit: records that may wait while the disk is slow; later ones are
            dropped (counted in ``dropped``) so memory stays bounded.

    Raises:
        ConfigError: a setting that cannot be used, or a path that is a file.
        MissingExtraError: pyarrow is not installed (the ``archive`` extra).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        worker: str | None = None,
        interval: float = INTERVAL,
        max_records: int = MAX_RECORDS,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"an archive is a directory; {str(self.path)!r} is a file")
        if worker is not None and (not isinstance(worker, str) or not worker):
            raise ConfigError(f"worker must be a non-empty string, got {worker!r}")
        _positive("interval", interval, number=True)
        _positive("max_records", max_records)
        _positive("queue_limit", queue_limit)
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.source = secrets.token_hex(4)
        """Random per archive object: tells its rows from another's under one worker name."""
        self.interval = float(interval)
        self.max_records = max_records
        self.queue_limit = queue_limit
        self.last_scan = Scan()
        """What the last ``calls``/``events`` read touched (files, row groups, rows)."""
        self._writer: BackgroundWriter | None = None
        self._attached: dict[int, tuple[Any, Any]] = {}
        self._lock = threading.Lock()
        self._writes = 0

    # ------------------------------------------------------------- writing
    def _background(self) -> BackgroundWriter:
        with self._lock:
            if self._writer is None:
                self.path.mkdir(parents=True, exist_ok=True)
                files.remove_stale(self.path)
                self._writer = BackgroundWriter(
                    Parts(self.path, self.source), self.worker, self.source,
                    interval=self.interval, max_records=self.max_records,
                    queue_limit=self.queue_limit,
                )  # fmt: skip
            return self._writer

    def attach(self, runner: IntegrationRunner) -> None:
        """Archive ``runner``'s calls and events from now on (the runner calls this)."""
        if id(runner) in self._attached:
            return
        writer = self._background()
        self._attached[id(runner)] = (writer.add_call, writer.add_event)
        runner.add_observer(writer.add_call)
        runner.add_event_observer(writer.add_event)

    def detach(self, runner: IntegrationRunner) -> None:
        """Stop archiving ``runner`` and write what is queued (``runner.close()`` calls this)."""
        hooks = self._attached.pop(id(runner), None)
        if hooks is None:
            return
        runner.remove_observer(hooks[0])
        runner.remove_event_observer(hooks[1])
        self.flush()

    def add_call(self, record: CallRecord) -> None:
        """Queue one call record, as an attached runner does."""
        self._background().add_call(record)

    def add_event(self, event: BreakerEvent, by_hand: bool = False) -> None:
        """Queue one breaker event, as an attached runner does (``by_hand``: a trip,
        reset, isolate or expire rather than a call)."""
        self._background().add_event(event, by_hand)

    def write(self, calls: pd.DataFrame | None = None, events: pd.DataFrame | None = None) -> None:
        """Store frames now, in new files: ``frames.calls(runner)``, ``fleet.calls()``, a
        simulated history... (rows without a ``worker`` column are this archive's)."""
        self.path.mkdir(parents=True, exist_ok=True)
        files.remove_stale(self.path)
        with self._lock:
            self._writes += 1
            prefix = f"{self.source}w{self._writes}"
        parts = Parts(self.path, prefix, roll_rows=1)  # every day of every write: its own file
        if calls is not None:
            parts.write("calls", frame_table("calls", calls, self.worker, prefix))
        if events is not None:
            parts.write("events", frame_table("events", events, self.worker, prefix))

    def flush(self, timeout: float = 5.0) -> bool:
        """Write what is queued now; False if that took longer than ``timeout`` seconds."""
        writer = self._writer
        return True if writer is None else writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued and stop the background thread (reading still works)."""
        writer = self._writer
        if writer is not None:
            writer.close()

    @property
    def pending(self) -> int:
        """Records queued and not yet on disk."""
        return 0 if self._writer is None else self._writer.pending

    @property
    def written(self) -> int:
        """Records this object's background writer has put on disk."""
        return 0 if self._writer is None else self._writer.written

    @property
    def dropped(self) -> int:
        """Records refused because ``queue_limit`` were waiting already."""
        return 0 if self._writer is None else self._writer.dropped

    # ------------------------------------------------------------- reading
    def calls(self, since: When = None, until: When = None, names: Any = None) -> pd.DataFrame:
        """Archived calls with ``since <= started_at < until`` of ``names`` (None: all).

        The columns of ``fleet.calls()``: ``worker``, then those of ``frames.calls``,
        in their dtypes, by start time. Only the days in range are opened, and in each
        file only the row groups that can hold the names and times asked for.
        """
        table, self.last_scan = read(self.path, "calls", since, until, names)
        return calls_frame(table)

    def events(self, since: When = None, until: When = None, names: Any = None) -> pd.DataFrame:
        """Archived breaker events with ``since <= at < until`` of ``names``, oldest first:
        ``worker``, the columns of ``frames.events``, and ``by_hand`` (a trip, reset,
        isolate or expire; False for a change a call made or found)."""
        table, self.last_scan = read(self.path, "events", since, until, names)
        return events_frame(table)

    def days(self) -> list[date]:
        """The UTC days that hold calls or events."""
        return sorted(set(files.days(self.path, "calls")) | set(files.days(self.path, "events")))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = f", {self.written} written, {self.pending} pending" if self._writer else ""
        return f"<Archive {str(self.path)!r}{state}>"


def _positive(label: str, value: object, *, number: bool = False) -> None:
    kinds: tuple[type, ...] = (int, float) if number else (int,)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0:  # type: ignore[operator]
        what = "a number of seconds > 0" if number else "a whole number >= 1"
        raise ConfigError(f"{label} must be {what}, got {value!r}")
