"""StreamArchiver: a fleet's call stream into an archive, through a Redis consumer group.

Entries are read with ``XREADGROUP`` and acknowledged with ``XACK`` only once the
batch holding them is renamed into place, so an archiver killed at any moment finds
its unacknowledged entries again when it restarts (its pending list, read first).
Nothing is written twice: every file it writes carries, in its Parquet metadata, the
highest ``seq`` archived of each writer (``worker`` and ``source``), and the stream's
entries of one writer come in ``seq`` order, so an entry at or below that mark is a
repeat (a batch a worker sent twice, or one delivered again after a restart) and is
acknowledged without being written.

Breaker events are derived from the calls, per writer: a call that changed the state
(``state_before`` to ``state_after``, at its end), and a change between two calls of
one writer (at the second call's start; made by hand or by another worker, which the
stream does not say: ``by_hand`` is unknown). An entry the stream trimmed before it was
read is lost to the archive; the archiver says how many when it notices.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import redis

from toolkit._archive.parts import Parts
from toolkit._archive.schema import CALLS, EVENTS, TIME, pa
from toolkit._engine.errors import ConfigError
from toolkit._fleet.client import connect, describe
from toolkit._fleet.keys import check_namespace, stream_key

try:
    import pyarrow.parquet as pq
except ImportError as exc:  # pragma: no cover - pyarrow imported above already
    from toolkit._archive.extras import missing

    raise missing("python -m toolkit archive", exc) from exc

logger = logging.getLogger("toolkit")

META_KEY = "toolkit.archiver"
DEFAULT_GROUP = "toolkit-archive"
DEFAULT_CONSUMER = "archiver"
KEEP_WRITERS_S = 7 * 86_400.0
"""A writer not seen for this long is forgotten by the checkpoint (it keeps the file small)."""
BLOCK_MS = 500
RETRY_S = 1.0

Fields = dict[str, str]


@dataclass(slots=True)
class Checkpoint:
    """What is on disk already: each writer's highest ``seq``, and its breakers' last state."""

    seqs: dict[str, int] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    states: dict[str, tuple[str, float]] = field(default_factory=dict)

    def encode(self) -> str:
        """The checkpoint as the JSON kept in a file's metadata."""
        return json.dumps({"seqs": self.seqs, "seen": self.seen, "states": self.states})

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint:
        """A checkpoint read back from a file's metadata."""
        raw = json.loads(data)
        states = {k: (str(v[0]), float(v[1])) for k, v in raw.get("states", {}).items()}
        return cls(dict(raw.get("seqs", {})), dict(raw.get("seen", {})), states)

    def copy(self) -> Checkpoint:
        """An independent copy, to change while a batch is written."""
        return Checkpoint(dict(self.seqs), dict(self.seen), dict(self.states))

    def repeat(self, fields: Mapping[str, str]) -> bool:
        """True for an entry at or below its writer's archived ``seq`` (marks a new one)."""
        seq = _integer(fields.get("seq"))
        if seq is None:
            return False
        writer = f"{fields.get('worker', '')}\x1f{fields.get('source', '')}"
        if seq <= self.seqs.get(writer, 0):
            return True
        self.seqs[writer] = seq
        return False

    def prune(self, now: float) -> None:
        """Forget writers not seen for ``KEEP_WRITERS_S``."""
        for writer in [w for w, at in self.seen.items() if now - at > KEEP_WRITERS_S]:
            self.seqs.pop(writer, None)
            self.seen.pop(writer, None)
            for key in [k for k in self.states if k.startswith(writer + "\x1f")]:
                del self.states[key]


class StreamArchiver:
    """Archives namespace ``namespace``'s call stream under ``directory``.

    Args:
        url_or_client: the fleet's Redis (``redis://...`` or a client).
        namespace: the fleet's namespace (its stream is ``<namespace>:toolkit:calls``).
        directory: the archive's directory (``toolkit.Archive(directory)`` reads it).
        group, consumer: the consumer group and this consumer's name in it; a restarted
            archiver must keep its consumer name to find its pending entries.
        interval: seconds a batch gathers at most before it is written.
        max_records: entries that make a batch be written at once.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis,
        namespace: str,
        directory: str | Path,
        *,
        group: str = DEFAULT_GROUP,
        consumer: str = DEFAULT_CONSUMER,
        interval: float = 1.0,
        max_records: int = 10_000,
    ) -> None:
        self.namespace = check_namespace(namespace)
        for label, value in (("group", group), ("consumer", consumer)):
            if not isinstance(value, str) or not value or not value.replace("-", "").isalnum():
                raise ConfigError(f"{label} must be letters, digits and '-', got {value!r}")
        if not isinstance(interval, int | float) or not 0 < interval <= 3600:
            raise ConfigError(f"interval must be seconds > 0 and <= 3600, got {interval!r}")
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise ConfigError(f"max_records must be a whole number >= 1, got {max_records!r}")
        self.root = Path(directory)
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"an archive is a directory; {str(self.root)!r} is a file")
        self.client, self.url = connect(url_or_client, socket_timeout=5.0)
        self.key = stream_key(self.namespace)
        self.group, self.consumer = group, consumer
        self.interval, self.max_records = float(interval), max_records
        prefix = f"stream-{group}-{consumer}"
        self.parts = Parts(self.root, prefix)
        self.checkpoint = _load_checkpoint(self.root, prefix)
        self.archived = 0
        """Calls written by this archiver."""
        self.repeats = 0
        """Entries acknowledged without being written: already on disk."""
        self.trimmed = 0
        """Pending entries the stream had trimmed before they could be read."""
        self._group_ready = False
        self._pending = True  # read this consumer's unacknowledged entries first
        self._pending_after: bytes | str = "0"
        self._down = False

    # ------------------------------------------------------------ reading
    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:  # from the stream's start: a new archive takes everything the stream holds
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _read(self, count: int, block_ms: int | None) -> list[tuple[bytes, Any]]:
        """Up to ``count`` entries: this consumer's pending ones first, then new ones."""
        start = self._pending_after if self._pending else ">"
        reply: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.key: start}, count=count,
            block=None if self._pending else block_ms,
        )  # fmt: skip
        entries = list(reply[0][1]) if reply else []
        if self._pending:
            if entries:
                self._pending_after = entries[-1][0]  # the pending list goes on after it
            else:
                self._pending = False  # every pending entry seen: from now on, new ones
        return entries

    def step(self, *, wait: bool = True) -> int:
        """Gather one batch (up to ``interval`` seconds or ``max_records`` entries), write
        it, acknowledge it; return how many entries it took (0: nothing new)."""
        self._ensure_group()
        entries: list[tuple[bytes, Any]] = []
        deadline: float | None = None
        while len(entries) < self.max_records:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            left = BLOCK_MS if deadline is None else max(1, int((deadline - now) * 1000))
            pending = self._pending
            block = min(left, BLOCK_MS) if wait else None
            got = self._read(self.max_records - len(entries), block)
            if got:
                entries += got
                if deadline is None:
                    deadline = time.monotonic() + self.interval
            elif pending:
                continue  # the pending entries are done: now the new ones
            elif not wait or deadline is None:
                break  # nothing new: write what there is, or wait in the next step
        if entries:
            self._archive(entries)
        return len(entries)

    def _archive(self, entries: list[tuple[bytes, Any]]) -> None:
        """Write a batch's new entries with the checkpoint they lead to, then acknowledge
        the whole batch. A failed write raises before anything is acknowledged, and the
        checkpoint in memory stays as it was."""
        checkpoint = self.checkpoint.copy()
        kept: list[Fields] = []
        repeats = trimmed = 0
        for _, raw in entries:
            if not raw:  # a pending entry the stream trimmed before it was read
                trimmed += 1
                continue
            fields = {_text(k): _text(v) for k, v in raw.items()}
            if checkpoint.repeat(fields):
                repeats += 1
                continue
            kept.append(fields)
        if kept:
            calls, events = _tables(kept, checkpoint)
            meta = {META_KEY: checkpoint.encode()}
            self.parts.write("calls", calls, meta)
            if len(events):
                self.parts.write("events", events, meta)
            self.archived += len(calls)
        self.checkpoint = checkpoint
        self.repeats += repeats
        self.trimmed += trimmed
        ids = [entry_id for entry_id, _ in entries]
        for start in range(0, len(ids), 10_000):  # only now: the batch is on disk
            self.client.xack(self.key, self.group, *ids[start : start + 10_000])

    # ------------------------------------------------------------ running
    def run(self, stop: Any = None, *, once: bool = False) -> None:
        """Archive until ``stop.is_set()`` (a ``threading.Event``), or, with ``once``, until
        the stream has nothing new. A Redis that stops answering is waited for."""
        while stop is None or not stop.is_set():
            try:
                taken = self.step(wait=not once)
            except redis.RedisError as exc:
                if not self._down:
                    logger.warning("archiver: Redis %s failed (%s); retrying", self.url,
                                   describe(exc))  # fmt: skip
                self._down = True
                self._pending, self._pending_after = True, "0"  # unacknowledged: read again
                time.sleep(RETRY_S)
                continue
            if self._down:
                logger.warning("archiver: Redis %s answers again", self.url)
                self._down = False
            if once and taken == 0:
                return
            if self.trimmed:
                logger.warning(
                    "archiver: %d entries were trimmed from %s before they were read",
                    self.trimmed, self.key,
                )  # fmt: skip
                self.trimmed = 0

    def close(self) -> None:
        """Close the Redis connection (everything read is on disk and acknowledged)."""
        self.client.close()

    def __repr__(self) -> str:
        return (
            f"<StreamArchiver {self.key!r} of {self.url} -> {str(self.root)!r}: "
            f"{self.archived} archived, {self.repeats} repeats skipped>"
        )


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _integer(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _number(text: str | None) -> float:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return math.nan
    return value


def _load_checkpoint(root: Path, prefix: str) -> Checkpoint:
    """The checkpoint of the file this archiver renamed into place last (newest mtime)."""
    newest: tuple[float, Path] | None = None
    for path in root.glob(f"*/day=*/{prefix}-*.parquet"):
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            continue
        if newest is None or stamp > newest[0]:
            newest = (stamp, path)
    if newest is None:
        return Checkpoint()
    metadata = pq.read_schema(newest[1]).metadata or {}
    data = metadata.get(META_KEY.encode())
    return Checkpoint.decode(data) if data else Checkpoint()


def _tables(entries: Iterable[Fields], checkpoint: Checkpoint) -> tuple[pa.Table, pa.Table]:
    """The calls of ``entries`` and the events they show, updating the checkpoint."""
    rows = list(entries)
    started = np.asarray([_number(f.get("started_at")) for f in rows], dtype="float64")
    micros = np.round(np.nan_to_num(started) * 1e6).astype("int64")
    duration = np.asarray([_number(f.get("duration_s")) for f in rows], dtype="float64")
    calls = pa.table(
        {
            "worker": pa.array([f.get("worker") for f in rows], pa.string()),
            "source": pa.array([f.get("source") for f in rows], pa.string()),
            "seq": pa.array([_integer(f.get("seq")) for f in rows], pa.int64()),
            "run_id": pa.array([_integer(f.get("run_id")) or 0 for f in rows], pa.int64()),
            "name": pa.array([f.get("name") for f in rows], pa.string()),
            "started_at": pa.array(micros, pa.int64()).cast(TIME),
            "duration_ms": pa.array(duration * 1000.0),
            "outcome": pa.array([f.get("outcome") for f in rows], pa.string()),
            "error": pa.array([f.get("error") for f in rows], pa.string()),
            "state_before": pa.array([f.get("state_before") for f in rows], pa.string()),
            "state_after": pa.array([f.get("state_after") for f in rows], pa.string()),
            "fault": pa.array([f.get("fault") for f in rows], pa.string()),
            "slow": pa.array([f.get("slow") == "1" for f in rows], pa.bool_()),
        },
        schema=CALLS,
    )
    events: dict[str, list[Any]] = {c: [] for c in EVENTS.names}

    def event(worker: str, at_us: int, name: str, old: str, new: str, hand: bool | None) -> None:
        for column, value in zip(EVENTS.names, (worker, at_us, name, old, new, hand), strict=True):
            events[column].append(value)

    order = sorted(range(len(rows)), key=lambda i: (_integer(rows[i].get("seq")) or 0, i))
    newest = 0.0
    for i in order:
        fields = rows[i]
        worker, name = fields.get("worker", ""), fields.get("name", "")
        writer = f"{worker}\x1f{fields.get('source', '')}"
        key = f"{writer}\x1f{name}"
        before, after = fields.get("state_before", ""), fields.get("state_after", "")
        end_us = int(micros[i] + round(np.nan_to_num(duration[i]) * 1e6))
        last = checkpoint.states.get(key)
        if last is not None and last[0] != before:  # changed between two calls
            event(worker, int(micros[i]), name, last[0], before, None)
        if before != after:
            event(worker, end_us, name, before, after, False)
        checkpoint.states[key] = (after, end_us / 1e6)
        checkpoint.seen[writer] = max(checkpoint.seen.get(writer, 0.0), started[i])
        newest = max(newest, float(np.nan_to_num(started[i])))
    checkpoint.prune(newest)
    table = pa.table(
        {
            "worker": pa.array(events["worker"], pa.string()),
            "at": pa.array(events["at"], pa.int64()).cast(TIME),
            "name": pa.array(events["name"], pa.string()),
            "old_state": pa.array(events["old_state"], pa.string()),
            "new_state": pa.array(events["new_state"], pa.string()),
            "by_hand": pa.array(events["by_hand"], pa.bool_()),
        },
        schema=EVENTS,
    )
    return calls, table
