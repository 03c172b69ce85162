"""Every worker's calls in one capped Redis Stream, written off the hot path.

A call record becomes one stream entry (``XADD <ns>:toolkit:calls MAXLEN ~ n``).
``StreamWriter`` queues entries in memory; a background thread lets them gather for
up to ``LINGER`` seconds, packs them itself (redis-py's packing costs more than the
round trip) and sends them in one pipelined round trip on a connection of its own, so
a guarded call never waits for the stream.
An entry counts as acknowledged once Redis has answered for it (with
``appendfsync always`` that means it is on disk). While Redis is down, entries wait
in a bounded queue (the oldest are dropped first when it fills) and are sent when
Redis answers again; a batch whose fate is unknown is sent again, and each entry's
``(worker, source, seq)`` lets readers drop such repeats (``source`` is random per
storage, so two storages, or a restarted worker, under one worker name never collide).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from datetime import UTC, datetime
from typing import Any

import redis

from toolkit._engine.history import CallRecord
from toolkit._engine.recorder import CallFields
from toolkit._fleet.client import DirectConnection, Health, describe

logger = logging.getLogger("toolkit")

STREAM_MAXLEN = 100_000
"""Entries kept in the stream (approximately: Redis trims whole nodes)."""
QUEUE_LIMIT = 50_000
BATCH = 1_000
LINGER = 0.05
"""Seconds the writer waits for more entries before sending a batch (a flush skips it)."""

Entry = dict[str, str | int | float]


def encode(record: CallRecord, worker: str, seq: int, source: str | None = None) -> Entry:
    """A call record as stream fields; absent optional fields are left out.

    ``source`` tells apart writers numbering ``seq`` from 1 under one worker name.
    """
    entry: Entry = {"worker": worker}
    if source is not None:
        entry["source"] = source
    entry |= {
        "seq": seq,
        "run_id": record.run_id,
        "name": record.name,
        "started_at": repr(record.started_at.timestamp()),
        "duration_s": repr(record.duration_s),
        "outcome": record.outcome,
        "state_before": record.state_before,
        "state_after": record.state_after,
        "slow": int(record.slow),
    }
    if record.error is not None:
        entry["error"] = record.error
    if record.fault is not None:
        entry["fault"] = record.fault
    return entry


def bulk(value: object) -> bytes:
    """One argument in Redis's wire format (RESP bulk string)."""
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "backslashreplace")
    return b"$%d\r\n%b\r\n" % (len(data), data)


class XaddPacker:
    """Packs ``XADD <key> MAXLEN ~ <n> * field value ...`` fast: the fixed part once."""

    def __init__(self, key: str, maxlen: int) -> None:
        self._head = b"".join(bulk(a) for a in ("XADD", key, "MAXLEN", "~", maxlen, "*"))
        self._names: dict[str, bytes] = {}
        self._writers: dict[tuple[str, str | None], bytes] = {}
        self._texts: dict[str, bytes] = {}

    def pack_record(
        self, record: CallRecord, worker: str, seq: int, source: str | None = None
    ) -> bytes:
        """``pack(encode(record, worker, seq, source))``, byte for byte, in a third of the
        time: the writer's fields and the texts that repeat (names, outcomes, states) are
        packed once (the stream thread packs a record per guarded call)."""
        return self._pack_call(
            record.run_id, record.name, repr(record.started_at.timestamp()), record.duration_s,
            record.outcome, record.error, record.state_before, record.state_after,
            record.fault, record.slow, worker, seq, source,
        )  # fmt: skip

    def pack_fields(
        self, fields: CallFields, worker: str, seq: int, source: str | None = None
    ) -> bytes:
        """``pack_record`` of the record a runner's record sink was given the fields of."""
        run_id, name, started_at, duration, outcome, error, before, after, fault, slow = fields
        started = repr(datetime.fromtimestamp(started_at, UTC).timestamp())  # as a record's
        return self._pack_call(
            run_id, name, started, duration, outcome, error, before, after, fault, slow,
            worker, seq, source,
        )  # fmt: skip

    def _pack_call(
        self, run_id: int, name: str, started: str, duration_s: float, outcome: str,
        error: str | None, state_before: str, state_after: str, fault: str | None,
        slow: bool, worker: str, seq: int, source: str | None,
    ) -> bytes:  # fmt: skip
        writer = self._writers.get((worker, source))
        if writer is None:
            parts = [bulk("worker"), bulk(worker)]
            if source is not None:
                parts += [bulk("source"), bulk(source)]
            writer = self._writers[(worker, source)] = b"".join(parts)
        texts = self._texts
        text = texts.get
        name_ = text(name) or texts.setdefault(name, bulk(name))
        outcome_ = text(outcome) or texts.setdefault(outcome, bulk(outcome))
        before = text(state_before) or texts.setdefault(state_before, bulk(state_before))
        after = text(state_after) or texts.setdefault(state_after, bulk(state_after))
        started_ = started.encode()
        duration = repr(duration_s).encode()
        count = 10 + (source is not None) + (error is not None) + (fault is not None)
        packed = _RECORD % (
            6 + 2 * count, self._head, writer, len(b"%d" % seq), seq,
            len(b"%d" % run_id), run_id, name_, len(started_), started_,
            len(duration), duration, outcome_, before, after, 1 if slow else 0,
        )  # fmt: skip
        if error is not None:
            packed += b"$5\r\nerror\r\n" + bulk(error)
        if fault is not None:
            packed += b"$5\r\nfault\r\n" + bulk(fault)
        return packed

    def pack(self, entry: Entry) -> bytes:
        """The command appending ``entry``."""
        names = self._names
        parts = [b"*%d\r\n" % (6 + 2 * len(entry)), self._head]
        for name, value in entry.items():
            packed = names.get(name)
            if packed is None:
                packed = names[name] = bulk(name)
            parts.append(packed)
            parts.append(bulk(value))
        return b"".join(parts)


_RECORD = (
    b"*%d\r\n%b%b$3\r\nseq\r\n$%d\r\n%d\r\n$6\r\nrun_id\r\n$%d\r\n%d\r\n$4\r\nname\r\n%b"
    b"$10\r\nstarted_at\r\n$%d\r\n%b\r\n$10\r\nduration_s\r\n$%d\r\n%b\r\n$7\r\noutcome\r\n%b"
    b"$12\r\nstate_before\r\n%b$11\r\nstate_after\r\n%b$4\r\nslow\r\n$1\r\n%d\r\n"
)
"""A call record's XADD after its head and writer fields, in ``encode``'s order."""


class StreamWriter:
    """Appends entries to a capped stream from a background thread, in pipelined batches."""

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        health: Health,
        *,
        maxlen: int = STREAM_MAXLEN,
        queue_limit: int = QUEUE_LIMIT,
    ) -> None:
        self.client = client
        self.direct = DirectConnection(client)
        self.packer = XaddPacker(key, maxlen)
        self.key = key
        self.health = health
        self.maxlen = maxlen
        self.queue_limit = queue_limit
        self.acknowledged = 0
        self.dropped = 0
        self._queue: deque[tuple[str, Any]] = deque()
        self._sending = 0
        self._cond = threading.Condition()
        self._closing = False
        self._flushing = 0
        self._thread: threading.Thread | None = None
        self._complained = False

    # ------------------------------------------------------------- callers
    def append(self, entry: Entry) -> None:
        """Queue one stream entry; never blocks on Redis."""
        self._put(("xadd", entry))

    def append_record(
        self, record: CallRecord, worker: str, seq: int, source: str | None = None
    ) -> None:
        """Queue one call record; it is encoded by the writer's thread, off the caller's."""
        self._put(("record", (record, worker, seq, source)))

    def append_fields(
        self, fields: CallFields, worker: str, seq: int, source: str | None = None
    ) -> None:
        """Queue one call given as a record sink's fields (no record built on the caller's
        thread); packed by the writer's thread."""
        self._put(("fields", (fields, worker, seq, source)))

    def _put(self, item: tuple[str, Any]) -> None:
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self.queue_limit:
                self._queue.popleft()
                self.dropped += 1
            self._queue.append(item)
            if self._thread is None:
                self._start()
            if len(self._queue) in (1, BATCH):  # wake the writer only when it has work to see
                self._cond.notify()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"toolkit-stream {self.key}", daemon=True
        )
        self._thread.start()
        atexit.register(self.close, 2.0)

    @property
    def pending(self) -> int:
        """Entries and writes not yet acknowledged by Redis."""
        with self._cond:
            return len(self._queue) + self._sending

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued is acknowledged: False after ``timeout`` seconds, or
        at once while Redis is unreachable (the records stay queued for when it answers)."""

        def done() -> bool:
            return (not self._queue and not self._sending) or not self.health.ok

        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                self._cond.wait_for(done, timeout)
            finally:
                self._flushing -= 1
            return not self._queue and not self._sending

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued (waiting at most ``timeout`` seconds), then stop the thread."""
        flushed = self.flush(timeout)
        with self._cond:
            self._closing = True
            left = len(self._queue) + self._sending
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        atexit.unregister(self.close)
        self.direct.close()
        if not flushed and left:
            logger.warning(
                "%d call record(s) not written to the Redis stream %r: %s",
                left, self.key, self.health.last_error or "Redis did not answer in time",
            )  # fmt: skip

    # -------------------------------------------------------------- thread
    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closing)
                if self._closing:
                    return
                self._cond.wait_for(  # let a batch gather: fewer, larger round trips
                    lambda: len(self._queue) >= BATCH or self._flushing or self._closing, LINGER
                )
                batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
                self._sending = len(batch)
            sent = False
            try:
                sent = self._send(batch) if self.health.ok else False
            except Exception as exc:  # never let one bad batch stop the writer for good
                sent = True
                self.dropped += len(batch)
                self._complain(f"failed ({exc!r}); {len(batch)} record(s) dropped")
            finally:
                with self._cond:
                    self._sending = 0
            with self._cond:
                if not sent:
                    self._queue.extendleft(reversed(batch))
                    overflow = len(self._queue) - self.queue_limit
                    for _ in range(max(0, overflow)):
                        self._queue.popleft()
                        self.dropped += 1
                self._cond.notify_all()
                if not sent:  # Redis is down: look again soon, or stop when closing
                    self._cond.wait_for(lambda: self._closing or self.health.ok, 0.5)

    def _send(self, batch: list[tuple[str, Any]]) -> bool:
        """One pipelined round trip; False when Redis did not answer (the batch is kept)."""
        packed = []
        for item in batch:
            try:
                packed.append(self._pack(item))
            except Exception as exc:  # an entry that cannot be packed is dropped, alone
                self.dropped += 1
                self._complain(f"could not be packed ({exc!r}); that record is dropped")
        if not packed:
            return True
        try:
            replies = self.direct.call_many([b"".join(packed)], len(packed))
        except redis.RedisError as exc:
            self.health.failed(exc)
            return False
        refused = [r for r in replies if isinstance(r, redis.ResponseError)]
        if refused:
            count, reason = len(refused), describe(refused[0])
            self._complain(f"refused by Redis ({count}, {reason}); those records are dropped")
        self.dropped += len(refused)
        self.acknowledged += sum(1 for reply in replies if not isinstance(reply, Exception))
        return True

    def _pack(self, item: tuple[str, Any]) -> bytes:
        kind, payload = item
        if kind == "fields":  # packed here, off the thread that made the call
            return self.packer.pack_fields(*payload)
        if kind == "record":
            return self.packer.pack_record(*payload)
        return self.packer.pack(payload)

    def _complain(self, what: str) -> None:
        """Log the first write to the stream that went wrong (later ones only count)."""
        if not self._complained:
            self._complained = True
            logger.warning("a write to the call stream %r %s", self.key, what)

    def __repr__(self) -> str:
        return (
            f"<StreamWriter {self.key!r} acknowledged={self.acknowledged} "
            f"pending={self.pending} dropped={self.dropped}>"
        )
